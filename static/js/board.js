// The board: cards dragged between stage columns, or moved from the keyboard (← / → on a focused card,
// or its Move menu). The server answers every move with the board as it now is, so a refused move (stage
// gate, someone else's change) puts the card back by itself. A card dropped on Won or Lost, or sent
// there from the menu, opens the opportunity's won or lost form (checklist and reason apply there).
(function () {
  let focusAfterSwap = null; // the card to focus once the board has been swapped in

  function filters() {
    const form = document.getElementById("board-filters");
    const values = {};
    if (form) new FormData(form).forEach((value, key) => { if (value) values[key] = value; });
    return values;
  }

  function closeUrl(board, id, close) {
    return `${board.dataset.detailUrl.replace("/0/", `/${id}/`)}?close=${close}`; // autofocus, so no #fragment
  }

  function move(board, card, stage) {
    focusAfterSwap = card.dataset.id;
    const url = board.dataset.moveUrl.replace("/0/", `/${card.dataset.id}/`);
    htmx.ajax("POST", url, {
      target: "#board",
      swap: "outerHTML",
      values: { ...filters(), to_stage: stage, version: card.dataset.version },
    });
  }

  function stageLists(board) {
    return [...board.querySelectorAll(".board-cards[data-stage]")];
  }

  // ← and → move a focused card to the stage before or after its own; Home and End to the first and last.
  function onKey(event) {
    const board = document.getElementById("board");
    const card = event.target;
    if (!board || !card.classList || !card.classList.contains("board-card")) return;
    const lists = stageLists(board);
    const here = lists.indexOf(card.closest(".board-cards"));
    const goes = { ArrowLeft: here - 1, ArrowRight: here + 1, Home: 0, End: lists.length - 1 }[event.key];
    if (goes === undefined) return;
    event.preventDefault();
    if (goes < 0 || goes >= lists.length || goes === here) return;
    move(board, card, lists[goes].dataset.stage);
  }

  // The Move menu: one dialog for the whole board, told which card it is for when it opens.
  function openMenu(event) {
    const opener = event.target.closest("[data-move-menu]");
    const board = document.getElementById("board");
    const dialog = document.getElementById("board-move");
    if (!opener || !board || !dialog || !dialog.showModal) return; // no dialog: the link opens the opportunity
    event.preventDefault();
    const card = opener.closest(".board-card");
    const here = card.closest(".board-cards").dataset.stage;
    dialog.querySelector("[data-card-name]").textContent = card.querySelector("a").textContent;
    dialog.querySelectorAll("[data-to-stage]").forEach((button) => {
      const current = button.dataset.toStage === here;
      button.disabled = current;
      if (current) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    });
    dialog.querySelectorAll("a[data-close]").forEach((link) => {
      link.href = closeUrl(board, card.dataset.id, link.dataset.close);
    });
    dialog.dataset.card = card.dataset.id;
    dialog.showModal();
    dialog.querySelector("[data-to-stage]:not([disabled]), a[data-close]").focus();
  }

  function onMenuClick(event) {
    const dialog = document.getElementById("board-move");
    const board = document.getElementById("board");
    if (!dialog || !board || !dialog.contains(event.target)) return;
    const choice = event.target.closest("[data-to-stage], [data-dismiss-dialog]");
    if (!choice) return;
    const card = board.querySelector(`.board-card[data-id="${dialog.dataset.card}"]`);
    dialog.close();
    if (choice.dataset.toStage && card) move(board, card, choice.dataset.toStage);
    else if (card) card.querySelector("[data-move-menu]").focus();
  }

  function bind() {
    const board = document.getElementById("board");
    if (!board || !window.Sortable) return;
    board.querySelectorAll(".board-cards").forEach((list) => {
      Sortable.create(list, {
        group: "board",
        draggable: ".board-card",
        animation: 150,
        delay: 200,
        delayOnTouchOnly: true, // a phone scrolls unless the card is held
        onEnd(event) {
          if (event.from === event.to) return;
          const card = event.item;
          if (event.to.dataset.close) {
            window.location.assign(closeUrl(board, card.dataset.id, event.to.dataset.close));
            return;
          }
          move(board, card, event.to.dataset.stage);
        },
      });
    });
  }

  // After a move: the card keeps the focus in its new column, and screen readers hear what happened.
  function afterSwap() {
    const board = document.getElementById("board");
    const live = document.getElementById("board-live");
    if (!board) return;
    const said = board.querySelector("[data-announce]");
    if (live && said) {
      live.textContent = "";
      window.setTimeout(() => { live.textContent = said.textContent.trim().replace(/\s+/g, " "); }, 50);
    }
    if (focusAfterSwap) {
      const card = board.querySelector(`.board-card[data-id="${focusAfterSwap}"]`);
      focusAfterSwap = null;
      if (card) {
        card.focus();
      } else if (said) {
        said.setAttribute("tabindex", "-1");
        said.focus();
      }
    }
  }

  // A lost race answers 409 with the board as it now is: show it (htmx leaves a 4xx unswapped by default).
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.xhr.status === 409 && event.detail.target && event.detail.target.id === "board") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("keydown", onKey);
  document.addEventListener("click", openMenu);
  document.addEventListener("click", onMenuClick);
  document.addEventListener("DOMContentLoaded", bind);
  document.addEventListener("htmx:afterSettle", (event) => {
    bind();
    if (event.detail.target && event.detail.target.id === "board") afterSwap();
  });
})();
