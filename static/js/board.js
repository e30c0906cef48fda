// The board: cards dragged between stage columns. The server answers every drop with the board as
// it now is, so a refused move (stage gate, someone else's change) puts the card back by itself.
(function () {
  function filters() {
    const form = document.getElementById("board-filters");
    const values = {};
    if (form) new FormData(form).forEach((value, key) => { if (value) values[key] = value; });
    return values;
  }

  function bind() {
    const board = document.getElementById("board");
    if (!board || !window.Sortable) return;
    board.querySelectorAll(".board-cards").forEach((list) => {
      Sortable.create(list, {
        group: "board",
        animation: 150,
        delay: 200,
        delayOnTouchOnly: true, // a phone scrolls unless the card is held
        onEnd(event) {
          if (event.from === event.to) return;
          const card = event.item;
          const url = board.dataset.moveUrl.replace("/0/", `/${card.dataset.id}/`);
          htmx.ajax("POST", url, {
            target: "#board",
            swap: "outerHTML",
            values: { ...filters(), to_stage: event.to.dataset.stage, version: card.dataset.version },
          });
        },
      });
    });
  }

  // A lost race answers 409 with the board as it now is: show it (htmx leaves a 4xx unswapped by default).
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.xhr.status === 409 && event.detail.target && event.detail.target.id === "board") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("DOMContentLoaded", bind);
  document.addEventListener("htmx:afterSettle", bind);
})();
