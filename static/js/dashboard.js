// The dashboard's charts, drawn from the JSON the page carries (json_script): no inline script under the CSP.
// Every chart repeats a table on the page, which stays the accessible reading of the numbers.
(function () {
  const BAR_HEIGHT = 44; // px per stage, so a long pipeline gets a taller funnel instead of thinner bars

  function formats(data) {
    const lang = document.documentElement.lang || undefined;
    const whole = new Intl.NumberFormat(lang, { maximumFractionDigits: 0 });
    const compact = new Intl.NumberFormat(lang, { notation: "compact", maximumFractionDigits: 1 });
    return {
      count: (value) => whole.format(value),
      amount: (value) => data.currency + whole.format(value),
      weighted: (value) => data.currency + whole.format(value),
      tick: (value, measure) => (measure === "count" ? "" : data.currency) + compact.format(value),
    };
  }

  // Solid blues, darkest at the top of the funnel. Every shade is at least 3:1 against the white page
  // (WCAG's contrast for graphics) and at least 4.5:1 under the white figures written on the bars:
  // from #052c65 (14:1) to #0b5ed7 (5.8:1). Faded shades of one colour fell to 1.9:1.
  const DARKEST = [5, 44, 101];
  const LIGHTEST = [11, 94, 215];
  const BAR = "rgb(11, 94, 215)";
  function shades(count) {
    return Array.from({ length: count }, (_, i) => {
      const t = i / Math.max(count - 1, 1);
      const rgb = DARKEST.map((from, c) => Math.round(from + (LIGHTEST[c] - from) * t));
      return `rgb(${rgb.join(", ")})`;
    });
  }

  // Writes each stage's figure on its bar (or beside it, when the bar is too narrow to hold it).
  function valueLabels(format, measure) {
    return {
      id: "funnelValues",
      afterDatasetsDraw(chart) {
        const { ctx } = chart;
        const values = chart.data.datasets[0].values;
        const outside = getComputedStyle(chart.canvas).color;
        ctx.save();
        ctx.font = `600 12px ${getComputedStyle(chart.canvas).fontFamily}`;
        ctx.textBaseline = "middle";
        chart.getDatasetMeta(0).data.forEach((bar, i) => {
          const text = format[measure()](values[i]);
          const left = Math.min(bar.x, bar.base);
          const right = Math.max(bar.x, bar.base);
          const width = ctx.measureText(text).width;
          if (right - left > width + 8) {
            ctx.fillStyle = "#fff";
            ctx.textAlign = "center";
            ctx.fillText(text, (left + right) / 2, bar.y);
          } else {
            ctx.fillStyle = outside;
            ctx.textAlign = "left";
            ctx.fillText(text, right + 4, bar.y);
          }
        });
        ctx.restore();
      },
    };
  }

  // The funnel: one floating bar per stage, centred on zero ([-v/2, v/2]), first stage at the top.
  function drawFunnel(canvas, data) {
    const format = formats(data);
    const picker = document.querySelector("[data-testid=funnel-measure]");
    const measure = () => picker?.querySelector("input:checked")?.value || "count";
    const dataset = (key) => {
      const values = data[key];
      const half = Math.max(...values, 0) / 2 || 1;
      return { values, bars: values.map((v) => [-v / 2, v / 2]), half: half * 1.08 };
    };
    canvas.parentElement.style.height = `${data.stages.length * BAR_HEIGHT + 40}px`;
    const first = dataset(measure());
    const chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.stages,
        datasets: [
          {
            label: data.labels[measure()],
            data: first.bars,
            values: first.values,
            backgroundColor: shades(data.stages.length),
            borderRadius: 3,
            borderSkipped: false,
            barPercentage: 0.92,
            categoryPercentage: 0.95,
          },
        ],
      },
      options: {
        indexAxis: "y", // a funnel reads top to bottom, first stage first
        maintainAspectRatio: false,
        animation: { duration: 300 },
        scales: {
          x: {
            min: -first.half,
            max: first.half,
            grid: { color: "rgba(128, 128, 128, 0.15)" },
            // A bar reaching a tick on the right is as large as the tick says; the left side mirrors it.
            ticks: {
              maxTicksLimit: 7,
              includeBounds: false, // the padded edge is no round number
              callback: (value) => (value < 0 ? "" : format.tick(value * 2, measure())),
            },
          },
          y: { grid: { display: false } },
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: (item) => [
                `${data.labels.count}: ${format.count(data.count[item.dataIndex])}`,
                `${data.labels.amount}: ${format.amount(data.amount[item.dataIndex])}`,
                `${data.labels.weighted}: ${format.weighted(data.weighted[item.dataIndex])}`,
              ],
            },
          },
        },
      },
      plugins: [valueLabels(format, measure)],
    });
    picker?.addEventListener("change", () => {
      const next = dataset(measure());
      Object.assign(chart.data.datasets[0], { data: next.bars, values: next.values, label: data.labels[measure()] });
      Object.assign(chart.options.scales.x, { min: -next.half, max: next.half });
      chart.update();
    });
  }

  function draw() {
    const source = document.getElementById("dashboard-data");
    if (!source || !window.Chart) return;
    const data = JSON.parse(source.textContent);
    const funnel = document.getElementById("funnel-chart");
    if (funnel && data.stages.length) drawFunnel(funnel, data);
    const inflow = document.getElementById("inflow-chart");
    if (inflow) {
      new Chart(inflow, {
        type: "bar",
        data: { labels: data.weeks, datasets: [{ label: data.labels.inflow, data: data.inflow, backgroundColor: BAR }] },
        options: { aspectRatio: 2, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
      });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
