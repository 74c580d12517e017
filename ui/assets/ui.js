// presage's live page: sorts the overview by a column, and refreshes the
// page by fetching it again and replacing its <main> (so a page left open
// holds one copy of the content, never more). Nothing else: the page is
// whole without it.
(function () {
  "use strict";
  var sortState = null; // {col, dir}

  function cellKey(td, type) {
    var k = td.getAttribute("data-key");
    if (k === null) k = td.textContent.trim();
    if (type === "num") {
      var n = parseFloat(k);
      return isNaN(n) ? -Infinity : n;
    }
    return k.toLowerCase();
  }

  function sortTable(table, col, dir) {
    var th = table.tHead.rows[0].cells[col];
    var type = th.getAttribute("data-type") || "text";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellKey(a.cells[col], type), y = cellKey(b.cells[col], type);
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.classList.remove("asc", "desc"); });
    th.classList.add(dir > 0 ? "asc" : "desc");
  }

  function bind() {
    var tables = document.querySelectorAll("table.sortable");
    Array.prototype.forEach.call(tables, function (table) {
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
        th.addEventListener("click", function () {
          var dir = sortState && sortState.col === col ? -sortState.dir : 1;
          sortState = { col: col, dir: dir };
          sortTable(table, col, dir);
        });
      });
      if (sortState) sortTable(table, sortState.col, sortState.dir);
    });
  }

  var busy = false; // one fetch at a time: a slow answer never stacks up
  var refreshed = 0; // counted on the body (data-refreshed), for tests

  function refresh() {
    if (document.hidden || busy) return;
    busy = true;
    fetch(location.href, { cache: "no-store", credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.getElementById("main"), cur = document.getElementById("main");
        var now = doc.getElementById("now"), curNow = document.getElementById("now");
        if (next && cur) cur.replaceWith(document.adoptNode(next));
        if (now && curNow) curNow.replaceWith(document.adoptNode(now));
        document.body.setAttribute("data-refreshed", String(++refreshed));
        bind();
      })
      .catch(function () { /* the next tick tries again */ })
      .then(function () { busy = false; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    bind();
    var every = parseInt(document.body.getAttribute("data-refresh"), 10);
    if (every > 0) setInterval(refresh, every);
  });
})();
