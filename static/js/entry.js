// Live dimension totals on the score-entry page, recomputed as the user types (before saving).
// Same rule as scoring/rules.py: points normalised to 100, bonus up to the cap, 100 at most.
(function () {
  function num(text) {
    var v = parseFloat(String(text || "").replace(",", ".").replace("。", "."));
    return isNaN(v) ? null : v;
  }
  // Work in whole hundredths, as the server's decimals do, so that rounding (half up) matches.
  function cents(v) { return Math.round(v * 100); }
  function recompute(section) {
    var got = 0, max = 0, bonus = 0, vetoed = false;
    section.querySelectorAll(".entry-row").forEach(function (row) {
      var kind = row.dataset.kind, m = cents(parseFloat(row.dataset.max));
      if (kind === "veto") {
        var sel = row.querySelector("select");
        if (sel && sel.value === "yes") vetoed = true;
        return;
      }
      var input = row.querySelector("input.score-input");
      var v = input ? num(input.value) : null;
      var awarded = Math.min(cents(v || 0), m);  // each item counts at most its max
      if (kind === "bonus") { bonus += awarded; return; }
      max += m;
      got += awarded;
    });
    var cap = cents(parseFloat(section.dataset.bonusCap) || 0);
    var base = max ? Math.floor(got * 10000 / max + 0.5 + 1e-9) : 0;
    var score = Math.min(10000, base + Math.min(bonus, cap)) / 100;
    var badge = section.querySelector(".live-total");
    if (badge) {
      badge.textContent = score.toFixed(2) + (vetoed ? " ✕" : "");
      badge.className = "badge border live-total " +
        (!vetoed && score >= parseFloat(section.dataset.threshold) ? "text-bg-success" : "text-bg-light");
    }
  }
  function all() { document.querySelectorAll("section.dimension").forEach(recompute); }
  document.addEventListener("input", function (e) {
    var s = e.target.closest("section.dimension"); if (s) recompute(s);
  });
  document.addEventListener("change", function (e) {
    var s = e.target.closest("section.dimension"); if (s) recompute(s);
  });
  document.addEventListener("htmx:afterSwap", all);
  document.addEventListener("DOMContentLoaded", all);
})();
