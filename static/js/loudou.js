// Small progressive enhancements; every page works without them.
document.addEventListener("DOMContentLoaded", () => {
  // The language switcher submits on change; its button stays for browsers without script.
  document.querySelectorAll(".js-language-switcher").forEach((form) => {
    form.querySelector(".js-hide-when-scripted")?.classList.add("d-none");
    form.querySelector("select")?.addEventListener("change", () => form.submit());
  });
});
