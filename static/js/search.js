// The top bar's search box (templates/_search_box.html) as an ARIA combobox: htmx fills the listbox while the
// user types; arrow keys move through its options, Enter opens the active one (or, with none active, sends the
// form to the results page), Escape closes it. Without script the form opens the results page.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("[data-global-search]");
  if (!form) return;
  const input = form.querySelector("[role=combobox]");
  const list = form.querySelector("[role=listbox]");
  const options = () => [...list.querySelectorAll("[role=option]")];
  let active = -1;

  const choose = (index) => {
    const all = options();
    active = all.length ? (index + all.length) % all.length : -1;
    all.forEach((option, n) => {
      option.classList.toggle("active", n === active);
      option.setAttribute("aria-selected", n === active ? "true" : "false");
    });
    if (active >= 0) {
      input.setAttribute("aria-activedescendant", all[active].id);
      all[active].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  };
  const open = (shown) => {
    list.classList.toggle("show", shown);
    input.setAttribute("aria-expanded", shown ? "true" : "false");
    if (!shown) choose(-1);
  };

  list.addEventListener("htmx:afterSwap", () => {
    active = -1;
    choose(-1);
    open(input.value.trim() !== "" && options().length > 0 && document.activeElement === input);
  });
  input.addEventListener("input", () => {
    if (!input.value.trim()) open(false);
  });
  input.addEventListener("keydown", (event) => {
    const shown = list.classList.contains("show");
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!options().length) return;
      event.preventDefault();
      if (!shown) open(true);
      choose(event.key === "ArrowDown" ? active + 1 : active < 0 ? -1 : active - 1);
    } else if (event.key === "Enter" && shown && active >= 0) {
      event.preventDefault();
      window.location.assign(options()[active].href);
    } else if (event.key === "Escape" && shown) {
      event.preventDefault();
      open(false);
    }
  });
  form.addEventListener("focusout", (event) => {
    if (!form.contains(event.relatedTarget)) open(false);
  });
  input.addEventListener("focus", () => open(input.value.trim() !== "" && options().length > 0));
});
