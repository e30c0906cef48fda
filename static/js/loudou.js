// Small progressive enhancements; every page works without them.
document.addEventListener("DOMContentLoaded", () => {
  // The language switcher submits on change; its button stays for browsers without script.
  document.querySelectorAll(".js-language-switcher").forEach((form) => {
    form.querySelector(".js-hide-when-scripted")?.classList.add("d-none");
    form.querySelector("select")?.addEventListener("change", () => form.submit());
  });
  // A select that changes what the form asks for (e.g. the target stage's checklist) reloads the
  // page with its value as a parameter; without script, submitting shows the same thing.
  document.querySelectorAll("select[data-reload-param]").forEach((select) => {
    select.addEventListener("change", () => {
      const url = new URL(window.location.href);
      url.searchParams.set(select.dataset.reloadParam, select.value);
      url.hash = select.form?.id || "actions";
      window.location.assign(url);
    });
  });
  // After the customer search refills the customer list, let the form react as if one was picked.
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id === "id_account") {
      event.detail.target.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
});
