// The dashboard's charts, drawn from the JSON the page carries (json_script): no inline script under the CSP.
// Every chart repeats a table on the page, which stays the accessible reading of the numbers.
(function () {
  function draw() {
    const source = document.getElementById("dashboard-data");
    if (!source || !window.Chart) return;
    const data = JSON.parse(source.textContent);
    const money = new Intl.NumberFormat(document.documentElement.lang || undefined, { maximumFractionDigits: 0 });
    const funnel = document.getElementById("funnel-chart");
    if (funnel) {
      new Chart(funnel, {
        type: "bar",
        data: {
          labels: data.stages,
          datasets: [
            { label: data.labels.amount, data: data.amount },
            { label: data.labels.weighted, data: data.weighted },
          ],
        },
        options: {
          indexAxis: "y", // a funnel reads top to bottom, first stage first
          aspectRatio: 1.6,
          scales: { x: { beginAtZero: true, ticks: { callback: (value) => money.format(value) } } },
          plugins: { tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${money.format(item.raw)}` } } },
        },
      });
    }
    const inflow = document.getElementById("inflow-chart");
    if (inflow) {
      new Chart(inflow, {
        type: "bar",
        data: { labels: data.weeks, datasets: [{ label: data.labels.inflow, data: data.inflow }] },
        options: { aspectRatio: 2, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
      });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
