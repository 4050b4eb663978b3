// Scenario tabs: show one panel per group and let plotly re-measure it.
document.addEventListener("click", function (ev) {
  var btn = ev.target.closest("[data-tab]");
  if (!btn) { return; }
  var group = btn.getAttribute("data-group");
  document.querySelectorAll('[data-group="' + group + '"]').forEach(function (el) {
    el.classList.toggle("active", el.getAttribute("data-tab") === btn.getAttribute("data-tab"));
  });
  var panel = document.querySelector('.tab-panel[data-group="' + group + '"].active');
  if (panel && window.Plotly) {
    panel.querySelectorAll(".plotly-graph-div").forEach(function (div) {
      window.Plotly.Plots.resize(div);
    });
  }
});
