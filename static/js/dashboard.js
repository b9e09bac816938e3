// Dashboard charts (ECharts, vendored). Data comes from the page's #chart-data JSON.
(function () {
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  function chart(id, option) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) return;
    var c = echarts.init(el);
    c.setOption(option);
    window.addEventListener("resize", function () { c.resize(); });
  }
  var lv = data.levels;
  chart("chart-levels", {
    tooltip: { trigger: "axis" },
    legend: { data: [lv.labels.actual, lv.labels.target] },
    grid: { left: 40, right: 10, bottom: 30, top: 30 },
    xAxis: { type: "category", data: lv.categories, name: lv.labels.axis },
    yAxis: { type: "value" },
    series: [
      { name: lv.labels.actual, type: "bar", data: lv.actual, itemStyle: { color: "#c81e1e" } },
      { name: lv.labels.target, type: "bar", data: lv.target, itemStyle: { color: "#f2b8b5" } }
    ]
  });
  chart("chart-stages", {
    tooltip: { trigger: "item" },
    series: [{ type: "pie", radius: ["40%", "70%"], data: data.stages }]
  });
  var t = data.townships;
  chart("chart-townships", {
    tooltip: { trigger: "axis" },
    grid: { left: 70, right: 20, bottom: 20, top: 10 },
    xAxis: { type: "value", min: function (v) { return Math.max(0, Math.floor(v.min - 5)); } },
    yAxis: { type: "category", data: t.names.slice().reverse() },
    series: [{ name: t.label, type: "bar", data: t.averages.slice().reverse(), itemStyle: { color: "#c81e1e" } }]
  });
  chart("chart-rect", {
    tooltip: { trigger: "item" },
    series: [{ type: "pie", radius: ["40%", "70%"], data: data.rectification }]
  });
})();
