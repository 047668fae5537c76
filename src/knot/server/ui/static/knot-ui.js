// Knot web UI: draws the Plotly figures a page embeds as JSON, and sends a click on a
// lineage node to that node's page. Pages work without it (tables, links, forms).
(function () {
  "use strict";
  function draw(script) {
    var holder = script.parentNode;
    var spec = JSON.parse(script.textContent);
    var target = holder.querySelector("div.plot");
    var config = { responsive: true, displaylogo: false };
    window.Plotly.newPlot(target, spec.data, spec.layout || {}, config).then(function () {
      target.setAttribute("data-drawn", "1");
    });
    target.on("plotly_click", function (event) {
      var point = event.points && event.points[0];
      var url = point && point.customdata;
      if (typeof url === "string" && url.charAt(0) === "/") {
        window.location.assign(url);
      }
    });
  }
  function start() {
    if (!window.Plotly) {
      return;
    }
    document.querySelectorAll("script.plot-spec").forEach(draw);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
