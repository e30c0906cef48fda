// Drag-and-drop ordering of a pipeline's stages (funnel settings). Without script, the up and down
// buttons in each row do the same job. Dropping a row fires Sortable's "end" event, which bubbles to the
// surrounding form; htmx posts the form (the hidden stage ids, now in the new order) and swaps in the
// table the server sends back, re-sorted from the database.
(function () {
  "use strict";

  function enableSorting(root) {
    root.querySelectorAll(".js-stage-list").forEach((list) => {
      if (list.dataset.sortable) return;
      list.dataset.sortable = "on";
      list.querySelectorAll(".js-drag-handle").forEach((handle) => {
        handle.classList.remove("d-none");
        handle.style.cursor = "grab"; // CSSOM, not a style attribute: allowed by the CSP
      });
      Sortable.create(list, { handle: ".js-drag-handle", animation: 150 });
    });
  }

  // A refused order answers 409 with the table as stored: show it instead of the dragged one.
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.xhr.status === 409 && event.detail.elt.classList.contains("js-stage-order")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // htmx.onLoad runs for the page and again for every swapped-in table.
  htmx.onLoad(enableSorting);
})();
