// Draws each dashboard table's chart with Chart.js (from the django-chartjs package; no CDN).
// The tables under the charts hold the same figures, so the page reads the same without JavaScript.
(function () {
  "use strict";
  if (!window.Chart) { return; }
  var palette = ["#007bff", "#28a745", "#ffc107", "#dc3545", "#17a2b8", "#6f42c1", "#fd7e14", "#20c997"];
  var kinds = {
    bar: { type: "bar", stacked: false },
    line: { type: "line", stacked: false },
    funnel: { type: "horizontalBar", stacked: false },
    stacked: { type: "bar", stacked: true }
  };
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var spec = JSON.parse(document.getElementById(canvas.dataset.chart).textContent);
    var kind = kinds[spec.type] || kinds.bar;
    var datasets = spec.series.map(function (series, index) {
      var color = palette[index % palette.length];
      return {
        label: series.label,
        data: series.data,
        backgroundColor: kind.type === "line" ? "transparent" : color,
        borderColor: color,
        borderWidth: kind.type === "line" ? 2 : 0
      };
    });
    var axes = [{ stacked: kind.stacked, ticks: { beginAtZero: true } }];
    new window.Chart(canvas, {
      type: kind.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        maintainAspectRatio: false,
        animation: false,
        legend: { display: datasets.length > 1 },
        scales: { xAxes: axes, yAxes: axes }
      }
    });
  });
}());
