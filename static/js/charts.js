// Draws the analytics page's charts from the JSON the server embeds (json_script).
(function () {
  "use strict";
  function data(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }
  function draw() {
    // The page's own colours, so the charts read in light and dark mode alike.
    var css = getComputedStyle(document.documentElement);
    var accent = css.getPropertyValue("--accent").trim() || "#1f5fbf";
    var ok = css.getPropertyValue("--ok").trim() || "#0a6b2d";
    Chart.defaults.color = css.getPropertyValue("--muted").trim() || "#555";
    Chart.defaults.borderColor = css.getPropertyValue("--line-soft").trim() || "#eee";
    var series = data("series-data");
    if (series) {
      var datasets = [
        { label: "Downloads", data: series.downloads, borderColor: accent, backgroundColor: accent, tension: 0.2 }
      ];
      if (series.sources.length) {  // none per hour: sources are counted per day
        datasets.push({ label: "Unique sources", data: series.sources, borderColor: ok, backgroundColor: ok, borderDash: [4, 4], tension: 0.2 });
      }
      new Chart(document.getElementById("series-chart"), {
        type: "line",
        data: { labels: series.labels, datasets: datasets },
        options: {
          maintainAspectRatio: false,
          animation: false,
          // A short line per series in the legend (a dashed box drew jagged).
          plugins: { legend: { labels: { usePointStyle: true, pointStyle: "line" } } },
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
        }
      });
    }
    var downloads = data("package-series");
    if (downloads) {
      new Chart(document.getElementById("package-chart"), {
        type: "bar",
        data: { labels: downloads.labels, datasets: [{ label: "Downloads", data: downloads.downloads, backgroundColor: accent }] },
        options: { maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
      });
    }
    var countries = data("country-data");
    if (countries) {
      new Chart(document.getElementById("country-chart"), {
        type: "bar",
        data: {
          labels: countries.map(function (row) { return row.label; }),
          datasets: [{ label: "Downloads", data: countries.map(function (row) { return row.count; }), backgroundColor: accent }]
        },
        options: { indexAxis: "y", maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }
      });
    }
    document.body.dataset.chartsDrawn = "true";
  }
  document.addEventListener("DOMContentLoaded", draw);
})();
