// The "Print" button: any element with data-print opens the browser's print dialog (no inline script, CSP).
document.addEventListener("click", (event) => {
  if (event.target instanceof Element && event.target.closest("[data-print]")) {
    window.print();
  }
});
