// The score-entry page: live dimension totals and scored counts as the user types (before
// saving), the rows typed but not saved (a warning before leaving the page with them), and a
// jump to the first error after a failed save. Same rule as scoring/rules.py for the totals:
// points normalised to 100, bonus up to the cap, 100 at most.
(function () {
  function num(text) {
    var v = parseFloat(String(text || "").replace(",", ".").replace("。", "."));
    return isNaN(v) ? null : v;
  }
  // Work in whole hundredths, as the server's decimals do, so that rounding (half up) matches.
  function cents(v) { return Math.round(v * 100); }
  function recompute(section) {
    var got = 0, max = 0, bonus = 0, vetoed = false, scored = 0, rows = 0;
    section.querySelectorAll(".entry-row").forEach(function (row) {
      var kind = row.dataset.kind, m = cents(parseFloat(row.dataset.max));
      rows += 1;
      if (kind === "veto") {
        var sel = row.querySelector("select");
        if (sel && sel.value) scored += 1;
        if (sel && sel.value === "yes") vetoed = true;
        return;
      }
      var input = row.querySelector("input.score-input");
      var v = input ? num(input.value) : null;
      if (v !== null) scored += 1;
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
    var count = section.querySelector(".scored-count");
    if (count && section.querySelector(".live-total")) count.textContent = scored + "/" + rows;
  }

  // A row is unsaved when a box differs from what the page was served with, or when the
  // server sent it back unsaved (a refused save keeps what was typed: data-unsaved).
  function changed(row) {
    var boxes = row.querySelectorAll("input.score-input, select.score-input, textarea");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      if (box.disabled) continue;
      if (box.tagName === "SELECT") {
        for (var j = 0; j < box.options.length; j++) {
          if (box.options[j].selected !== box.options[j].defaultSelected) return true;
        }
      } else if (box.value !== box.defaultValue) {
        return true;
      }
    }
    return false;
  }
  function unsavedRows() {
    return Array.prototype.filter.call(document.querySelectorAll("#entry-form .entry-row"),
      function (row) { return row.hasAttribute("data-unsaved") || changed(row); });
  }
  function showUnsaved() {
    var note = document.getElementById("unsaved-count");
    if (!note) return;
    var n = unsavedRows().length;
    note.textContent = n ? (note.dataset.template || "%s").replace("%s", n) : "";
  }

  function all() {
    document.querySelectorAll(".dimension").forEach(recompute);
    showUnsaved();
  }
  document.addEventListener("input", function (e) {
    var s = e.target.closest(".dimension"); if (s) recompute(s);
    showUnsaved();
  });
  document.addEventListener("change", function (e) {
    var s = e.target.closest(".dimension"); if (s) recompute(s);
    showUnsaved();
  });
  document.addEventListener("htmx:afterSwap", all);

  // Submitting the entry form (save all, a row's save without htmx, submit) takes the typed
  // rows with it: no warning then. Leaving any other way with unsaved rows asks first.
  var submitting = false;
  document.addEventListener("submit", function (e) {
    if (e.target.id === "entry-form") submitting = true;
  });
  window.addEventListener("pageshow", function () { submitting = false; });
  window.addEventListener("beforeunload", function (e) {
    if (submitting || !unsavedRows().length) return;
    e.preventDefault();
    e.returnValue = "";
  });

  // After a failed save: open the section of the first error, bring it into view, focus it.
  function jumpToFirstError() {
    var first = document.querySelector(
      "#entry-form .is-invalid, #entry-form .row-error, #entry-form .stale-notice");
    if (!first) return;
    var section = first.closest("details");
    if (section) section.open = true;
    var row = first.closest(".entry-row") || first;
    var field = first.matches("input, select, textarea") ? first
      : row.querySelector("input.score-input, select.score-input, textarea");
    row.scrollIntoView({ block: "center" });
    if (field) field.focus({ preventScroll: true });
  }

  document.addEventListener("DOMContentLoaded", function () {
    all();
    jumpToFirstError();
  });
})();
