// Small DOM helpers. Text always goes in through textContent, never
// innerHTML, so nothing the API returns can become markup.

export function $(id) {
  return document.getElementById(id);
}

// el("td", {class: "num"}, "12.50"); children may be strings or nodes.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

// A table with a caption; columns: [{label, num}], rows: arrays of cells
// (strings or nodes). Wrapped so it scrolls sideways on a narrow screen.
export function table(caption, columns, rows, attrs) {
  const head = el("tr", {}, columns.map((c) => el("th", { scope: "col", class: c.num ? "num" : null }, c.label)));
  const body = rows.map((r) =>
    el("tr", {}, r.map((cell, i) => el("td", { class: columns[i] && columns[i].num ? "num" : null }, cell))));
  const t = el("table", attrs || {}, el("caption", {}, caption), el("thead", {}, head), el("tbody", {}, body));
  return el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption }, t);
}

export function link(href, text) {
  return el("a", { href }, text);
}

export function show(node, visible) {
  node.hidden = !visible;
}
