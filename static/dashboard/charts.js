/* The Messages page's charts, drawn with uPlot from the JSON the server put in #chart-data
 * (columns: t as Unix seconds, one list per series). Drawn again when htmx swaps the panel (the
 * window or route switched), when the Local time / UTC switch changes and when the page resizes.
 * Without this script the panel still shows the totals and the hourly table. */
(function () {
  "use strict";

  const COUNTS = [
    { key: "sent", label: "Sent", stroke: "#635dff", fill: "rgba(99, 93, 255, 0.08)" },
    { key: "delivered", label: "Delivered", stroke: "#15803d" },
    { key: "failed", label: "Failed", stroke: "#d03c38" },
    { key: "blocked", label: "Blocked", stroke: "#9a5b00", dash: [4, 3] },
  ];
  const LATENCY = [
    { key: "p50", label: "p50", stroke: "#635dff" },
    { key: "p99", label: "p99", stroke: "#d03c38" },
  ];
  const HEIGHT = 220;
  const COUNT_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6];
  let drawn = [];

  function utc() {
    return window.Dashboard ? window.Dashboard.timeMode() === "utc" : false;
  }

  function chartWidth(el) {
    return Math.max(280, Math.floor(el.getBoundingClientRect().width));
  }

  function options(el, title, specs, unit) {
    const opts = {
      width: chartWidth(el),
      height: HEIGHT,
      title: title,
      cursor: { drag: { x: false, y: false } },
      // From zero, with room above the highest point so it is not drawn on the edge.
      scales: {
        x: { time: true },
        y: { range: function (u, min, max) { return [0, max > 0 ? Math.ceil(max * 1.15) : 1]; } },
      },
      axes: [
        {},
        {
          label: unit,
          size: 60,
          // Whole messages: no 0.5 ticks when there are only a few.
          incrs: unit === "ms" ? undefined : COUNT_STEPS,
          values: function (u, ticks) { return ticks.map(function (v) { return v.toLocaleString(); }); },
        },
      ],
      series: [{}].concat(specs.map(function (s) {
        return {
          label: s.label,
          stroke: s.stroke,
          fill: s.fill,
          dash: s.dash,
          width: 2,
          spanGaps: false,
          // Counts hold for the hour (a step); a latency is a point per hour, joined to its
          // neighbours, so an hour alone between empty ones still shows.
          points: unit === "ms" ? { show: true, size: 6 } : { show: false },
          paths: unit === "ms" ? undefined : uPlot.paths.stepped({ align: 1 }),
          value: function (u, v) { return v == null ? "—" : v.toLocaleString() + (unit === "ms" ? " ms" : ""); },
        };
      })),
    };
    if (utc()) {
      opts.tzDate = function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); };
    }
    return opts;
  }

  function draw() {
    drawn.forEach(function (chart) { chart.destroy(); });
    drawn = [];
    const source = document.getElementById("chart-data");
    const counts = document.getElementById("chart-counts");
    const latency = document.getElementById("chart-latency");
    if (!source || !counts || !latency || typeof window.uPlot === "undefined") return;
    const data = JSON.parse(source.textContent);
    const columns = function (specs) {
      return [data.t].concat(specs.map(function (s) { return data[s.key]; }));
    };
    counts.textContent = "";
    latency.textContent = "";
    drawn.push(new uPlot(options(counts, "", COUNTS, "messages"), columns(COUNTS), counts));
    drawn.push(new uPlot(options(latency, "", LATENCY, "ms"), columns(LATENCY), latency));
    const panel = document.getElementById("chart-panel");
    panel.dataset.drawn = data.window + " " + data.route;
    panel.dataset.drawnIn = utc() ? "utc" : "local";
  }

  let resizing = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(function () {
      drawn.forEach(function (chart) {
        chart.setSize({ width: chartWidth(chart.root.parentNode), height: HEIGHT });
      });
    }, 100);
  });

  document.addEventListener("DOMContentLoaded", draw);
  // htmx:load fires on the panel that a switch swapped in (and once on <body> at start, which
  // DOMContentLoaded has drawn already).
  document.addEventListener("htmx:load", function (event) {
    const el = event.target;
    if (el && el !== document.body && (el.id === "chart-panel" || el.querySelector("#chart-panel"))) {
      draw();
    }
  });
  document.addEventListener("change", function (event) {
    if (event.target && event.target.name === "time_mode") draw();
  });
})();
