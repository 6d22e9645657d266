// Small progressive enhancements; every page works without them.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source || !navigator.clipboard) { return; }
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        var label = button.textContent;
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = label; }, 1500);
      });
    });
  });
  document.querySelectorAll("[data-add-row]").forEach(function (button) {
    var container = document.getElementById(button.getAttribute("data-add-row"));
    button.hidden = false;
    button.addEventListener("click", function () {
      var rows = container.querySelectorAll(".row");
      var copy = rows[rows.length - 1].cloneNode(true);
      var n = rows.length + 1;
      copy.querySelectorAll("input").forEach(function (input) {
        input.value = "";
        input.id = input.id.replace(/-\d+$/, "-" + n);
      });
      copy.querySelectorAll("label").forEach(function (label) {
        label.htmlFor = label.htmlFor.replace(/-\d+$/, "-" + n);
        label.textContent = label.textContent.replace(/\d+$/, n);
      });
      container.appendChild(copy);
      copy.querySelector("input").focus();
    });
  });
});

// Idle sign-out: a minute or two before the server signs an operator out for
// inactivity, say so and offer to stay; when the time is up, leave the page (it
// may show revealed values) for a fresh load, which lands on sign-in with the reason.
// The vault_active cookie holds the server time of the last request in any tab.
document.addEventListener("DOMContentLoaded", function () {
  var body = document.body;
  var idle = parseInt(body.getAttribute("data-idle-seconds") || "", 10);
  var banner = document.getElementById("idle-warning");
  if (!idle || !banner) { return; }
  var loaded = parseInt(body.getAttribute("data-server-time"), 10);
  var skew = loaded * 1000 - Date.now();
  var warnBefore = Math.min(120, Math.floor(idle / 2)) * 1000;
  var left = banner.querySelector("[data-idle-left]");
  var stay = banner.querySelector("[data-idle-stay]");
  var shown = "";
  function lastActive() {
    var found = document.cookie.match(/(?:^|;\s*)vault_active=([0-9]+)/);
    return found ? Math.max(parseInt(found[1], 10), loaded) : loaded;
  }
  function tick() {
    var remaining = (lastActive() + idle) * 1000 - (Date.now() + skew);
    if (remaining <= -2000) {
      window.location.assign(window.location.pathname + window.location.search);
      return;
    }
    if (remaining > warnBefore) {
      banner.hidden = true;
      shown = "";
      return;
    }
    var minutes = Math.max(1, Math.ceil(remaining / 60000));
    var text = remaining < 60000 ? "in less than a minute" : "in " + minutes + " minute" + (minutes === 1 ? "" : "s");
    if (text !== shown) { left.textContent = text; shown = text; }
    banner.hidden = false;
  }
  stay.addEventListener("click", function () {
    fetch(body.getAttribute("data-idle-ping"), { credentials: "same-origin", cache: "no-store" })
      .then(tick, tick);
  });
  window.setInterval(tick, 5000);
  tick();
});

// Phone width: a table becomes one card per row (vault.css, table.stacks), so its
// last columns (often the actions) are not hidden off to the side; each cell is
// labelled with its column's heading. Without script, tables scroll sideways.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("main table").forEach(function (table) {
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.replace(/\s+/g, " ").trim();
    });
    if (!heads.length || table.querySelector("tbody [colspan]")) { return; }
    table.querySelectorAll("tbody tr").forEach(function (row) {
      Array.prototype.forEach.call(row.children, function (cell, i) {
        if (heads[i] && !cell.hasAttribute("data-label")) { cell.setAttribute("data-label", heads[i]); }
      });
    });
    table.classList.add("stacks");
  });
});
