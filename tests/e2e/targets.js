// The boxes of a page's visible controls, as a finger meets them (tests/e2e/test_touch_targets.py).
({ primarySelector }) => {
  const controls =
    "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex='-1'])";
  const visible = (el) => {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    const shown = box.width > 1 && box.height > 1 && style.visibility !== "hidden";
    return shown && !el.closest("[hidden], dialog:not([open])");
  };
  // A link in running text: other words share its line box, so its height is the line's (WCAG's "inline").
  const inSentence = (el) => {
    if (el.tagName !== "A" || getComputedStyle(el).display !== "inline") return false;
    const parent = el.parentElement;
    const words = [...parent.childNodes].filter((node) => node !== el && node.textContent.trim());
    return words.length > 0 && !el.classList.contains("btn");
  };
  const boxOf = (el) => {
    let box = el.getBoundingClientRect();
    if (el.matches("input[type=checkbox], input[type=radio]") && el.labels && el.labels.length) {
      const label = el.labels[0].getBoundingClientRect();
      const left = Math.min(box.left, label.left), top = Math.min(box.top, label.top);
      const right = Math.max(box.right, label.right), bottom = Math.max(box.bottom, label.bottom);
      box = { width: right - left, height: bottom - top };
    }
    return box;
  };
  const describe = (el) => {
    const name = (el.getAttribute("aria-label") || el.textContent || el.name || el.id || "").trim();
    const classes = typeof el.className === "string" && el.className.trim() ? `.${el.className.trim().split(/\s+/).join(".")}` : "";
    return `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}${classes} “${name.replace(/\s+/g, " ").slice(0, 40)}”`;
  };
  const found = [...document.querySelectorAll(controls)].filter((el) => visible(el) && !inSentence(el));
  return found.map((el) => {
    const box = boxOf(el);
    const round = (value) => Math.round(value * 10) / 10;
    return { what: describe(el), width: round(box.width), height: round(box.height), primary: el.matches(primarySelector) };
  });
}
