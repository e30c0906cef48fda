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
  // Pickers (funnel/pickers.py): after a search or a customer change refills a picker's options, say how many
  // matched (for screen readers) and let the form react as if an option was picked (a customer's deals, a
  // deal's stages). Enter in a search box searches at once instead of sending the form.
  document.body.addEventListener("htmx:afterSwap", (event) => {
    const select = event.detail.target;
    const picker = select.closest?.("[data-picker]");
    if (select.tagName !== "SELECT" || !picker) return;
    const status = picker.querySelector(".picker-status");
    if (status) status.textContent = select.options[0]?.dataset.status || "";
    select.dispatchEvent(new Event("change", { bubbles: true }));
  });
  // A table wider than the screen scrolls sideways in its box: the box takes the focus, so that the
  // arrow keys scroll it too (WCAG 2.1.1), and is named after its table's caption or section heading.
  const reachable = () => {
    document.querySelectorAll(".table-responsive:not([tabindex])").forEach((box) => {
      if (box.scrollWidth <= box.clientWidth) return;
      box.tabIndex = 0;
      const named = box.querySelector("caption") || box.closest("section, .card")?.querySelector("h2, h3, .card-header");
      if (named) {
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", named.textContent.trim().replace(/\s+/g, " "));
      }
    });
  };
  reachable();
  window.addEventListener("resize", reachable);
  document.body.addEventListener("htmx:afterSettle", reachable);
  document.body.addEventListener("keydown", (event) => {
    const input = event.target;
    if (event.key === "Enter" && input.matches?.("[data-picker] input[type=search]")) {
      event.preventDefault();
      window.htmx?.trigger(input, "search");
    }
  });
});
