"""The pages' stylesheet and script, inlined into every page.

Inlined rather than shared files because an entrepreneur's page is meant to be sent on its own (by
e-mail, on a USB key) and must still work offline; at ~10 kB together they cost little per page.
The script renders each table from its JSON (sort on a header click, text filter, a drop-down
filter on one column, pages of 50 rows); it writes cells with `textContent` only, never HTML.
"""

from __future__ import annotations

CSS = """
:root { --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --accent: #2563eb; --bg: #f9fafb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: var(--bg); }
header, main, footer { max-width: 1200px; margin: 0 auto; padding: 0 16px; }
header { padding-top: 16px; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 17px; margin: 0 0 8px; }
.subtitle, .note, .muted, footer { color: var(--muted); }
.note { font-size: 12px; margin: 4px 0 8px; }
nav a { margin-right: 12px; color: var(--accent); text-decoration: none; font-size: 13px; }
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr)); gap: 10px;
  margin: 14px 0; }
.kpi { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.kpi .label { font-size: 12px; color: var(--muted); }
.kpi .value { font-size: 17px; font-weight: 600; margin: 2px 0; overflow-wrap: anywhere; }
.kpi .hint { font-size: 11px; color: var(--muted); }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 12px; }
figure, section.block { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 12px; margin: 0 0 12px; }
figcaption { font-weight: 600; margin-bottom: 6px; }
svg.chart { width: 100%; height: auto; font-size: 12px; fill: var(--ink); }
svg.chart .muted { fill: var(--muted); }
svg.chart .small { font-size: 10px; fill: var(--muted); }
svg.chart .axis { stroke: #9ca3af; }
svg.chart .marker { stroke: #111827; stroke-dasharray: 4 3; }
.controls { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin-bottom: 8px; }
.controls input, .controls select { padding: 4px 8px; border: 1px solid #d1d5db; border-radius: 6px;
  font: inherit; }
.controls input { min-width: 240px; }
.count { color: var(--muted); font-size: 12px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
th button { all: unset; cursor: pointer; font-weight: 600; }
th[aria-sort="ascending"] button::after { content: " ▲"; }
th[aria-sort="descending"] button::after { content: " ▼"; }
tbody tr:nth-child(even) { background: #f9fafb; }
.pager { display: flex; gap: 8px; align-items: center; margin-top: 8px; font-size: 12px; }
.pager button { font: inherit; padding: 2px 10px; }
footer { font-size: 12px; padding-bottom: 24px; }
@media print { .controls, .pager, nav { display: none; } }
"""

JS = r"""
(function () {
  "use strict";
  var PAGE_SIZE = 50;
  var money = new Intl.NumberFormat("fr-FR", { style: "currency", currency: "EUR" });
  var number = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 1 });
  var collator = new Intl.Collator("fr", { numeric: true, sensitivity: "base" });
  var NUMERIC = { int: 1, num: 1, eur: 1, days: 1 };

  function show(kind, value) {
    if (value === null || value === undefined) { return ""; }
    switch (kind) {
      case "eur": return money.format(value / 100);
      case "int": case "num": return number.format(value);
      case "days": return number.format(value) + " j";
      case "date": return value.slice(8, 10) + "/" + value.slice(5, 7) + "/" + value.slice(0, 4);
      case "datetime": return show("date", value) + " " + value.slice(11, 16);
      case "flag": return value ? "Oui" : "Non";
      case "link": return value[0];
      default: return String(value);
    }
  }

  function key(kind, value) {
    if (kind === "link") { return value ? value[0] : null; }
    return value === "" ? null : value;
  }

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function element(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (className) { node.className = className; }
    return node;
  }

  function setup(box) {
    var data = JSON.parse(document.getElementById(box.getAttribute("data-source")).textContent);
    var columns = data.columns;
    var rows = data.rows.map(function (row) {
      return row.map(function (value, i) {
        var pool = data.pools[String(i)];
        return pool && value !== null ? pool[value] : value;
      });
    });
    var state = { sort: data.sort ? data.sort[0] : -1, desc: data.sort ? data.sort[1] === "desc" : false,
                  text: "", facet: "", page: 0 };
    var texts = null;

    var controls = element("div", null, "controls");
    var search = element("input");
    search.type = "search";
    search.placeholder = "Filtrer…";
    search.setAttribute("aria-label", "Filtrer le tableau");
    controls.appendChild(search);
    var select = null;
    if (data.facet !== null && data.facet !== undefined) {
      select = element("select");
      select.setAttribute("aria-label", columns[data.facet].label);
      select.appendChild(new Option(columns[data.facet].label + " : tous", ""));
      var seen = {};
      rows.forEach(function (row) { seen[show(columns[data.facet].kind, row[data.facet])] = true; });
      Object.keys(seen).sort(collator.compare).forEach(function (value) {
        select.appendChild(new Option(value || "(vide)", value));
      });
      controls.appendChild(select);
    }
    var count = element("span", "", "count");
    controls.appendChild(count);

    var table = element("table");
    var head = element("thead");
    var headRow = element("tr");
    var headers = columns.map(function (column, i) {
      var th = element("th");
      var button = element("button", column.label);
      button.type = "button";
      button.addEventListener("click", function () {
        state.desc = state.sort === i ? !state.desc : !!NUMERIC[column.kind];
        state.sort = i;
        state.page = 0;
        render();
      });
      th.appendChild(button);
      headRow.appendChild(th);
      return th;
    });
    head.appendChild(headRow);
    table.appendChild(head);
    var body = element("tbody");
    table.appendChild(body);
    var scroll = element("div", null, "scroll");
    scroll.appendChild(table);

    var pager = element("div", null, "pager");
    var previous = element("button", "‹ Précédent");
    var next = element("button", "Suivant ›");
    var where = element("span");
    previous.type = next.type = "button";
    previous.addEventListener("click", function () { state.page -= 1; render(); });
    next.addEventListener("click", function () { state.page += 1; render(); });
    pager.appendChild(previous);
    pager.appendChild(where);
    pager.appendChild(next);

    box.textContent = "";
    box.appendChild(controls);
    box.appendChild(scroll);
    box.appendChild(pager);

    search.addEventListener("input", function () { state.text = fold(search.value.trim()); state.page = 0; render(); });
    if (select) {
      select.addEventListener("change", function () { state.facet = select.value; state.page = 0; render(); });
    }

    function matches(row, index) {
      if (state.facet && show(columns[data.facet].kind, row[data.facet]) !== state.facet) { return false; }
      if (!state.text) { return true; }
      if (texts === null) {
        texts = rows.map(function (r) {
          return fold(r.map(function (v, i) { return show(columns[i].kind, v); }).join(" "));
        });
      }
      return texts[index].indexOf(state.text) !== -1;
    }

    function render() {
      var shown = [];
      rows.forEach(function (row, index) { if (matches(row, index)) { shown.push(row); } });
      if (state.sort >= 0) {
        var kind = columns[state.sort].kind;
        shown.sort(function (a, b) {
          var x = key(kind, a[state.sort]), y = key(kind, b[state.sort]);
          if (x === y) { return 0; }
          if (x === null || x === undefined) { return 1; }
          if (y === null || y === undefined) { return -1; }
          var order = typeof x === "number" && typeof y === "number" ? x - y : collator.compare(String(x), String(y));
          return state.desc ? -order : order;
        });
      }
      var pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
      state.page = Math.min(Math.max(state.page, 0), pages - 1);
      headers.forEach(function (th, i) {
        if (i === state.sort) { th.setAttribute("aria-sort", state.desc ? "descending" : "ascending"); }
        else { th.removeAttribute("aria-sort"); }
      });
      var fragment = document.createDocumentFragment();
      shown.slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE).forEach(function (row) {
        var tr = element("tr");
        row.forEach(function (value, i) {
          var kind = columns[i].kind;
          var td = element("td", null, NUMERIC[kind] ? "num" : "");
          if (kind === "link" && value && value[1]) {
            var a = element("a", value[0]);
            a.href = value[1];
            td.appendChild(a);
          } else {
            td.textContent = show(kind, value);
          }
          tr.appendChild(td);
        });
        fragment.appendChild(tr);
      });
      body.textContent = "";
      body.appendChild(fragment);
      var unit = shown.length > 1 ? " lignes" : " ligne";
      count.textContent = shown.length === rows.length
        ? number.format(rows.length) + unit
        : number.format(shown.length) + unit + " sur " + number.format(rows.length);
      where.textContent = "Page " + (state.page + 1) + " / " + pages;
      previous.disabled = state.page === 0;
      next.disabled = state.page >= pages - 1;
      pager.style.display = pages > 1 ? "" : "none";
    }

    render();
  }

  document.querySelectorAll("[data-source]").forEach(setup);
})();
"""
