// Small DOM helpers: elements are built with text nodes only (no HTML strings), so nothing the
// server or a device sent can become markup.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function svg(tag, attrs, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// "2026-11-21 06:00 UTC" from seconds since the epoch (0: "never").
export function when(t) {
  if (!t) return 'never';
  const d = new Date(t * 1000);
  return d.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

// RFC 3339 from the ledger, shown the same way.
export function whenText(s) {
  if (!s) return '';
  const d = new Date(s);
  return isNaN(d) ? s : d.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

export function timeEl(t) {
  if (!t) return h('span', {}, 'never');
  return h('time', { datetime: new Date(t * 1000).toISOString() }, when(t));
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024, i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function pill(text, tone) {
  return h('span', { class: `pill ${tone || 'info'}` }, text);
}

const tones = {
  active: 'ok', provisioned: 'info', quarantined: 'bad', revoked: 'bad', decommissioned: 'warn',
  pass: 'ok', fail: 'bad', none: 'info', running: 'ok', paused: 'warn', pending: 'info',
  completed: 'ok', cancelled: 'warn', succeeded: 'ok', failed: 'bad',
};
export function statusPill(s) {
  return pill(s || 'unknown', tones[s] || 'info');
}

export function table(caption, headers, rows, opts = {}) {
  const head = h('thead', {}, h('tr', {}, headers.map((c) =>
    h('th', { scope: 'col', class: c.num ? 'num' : undefined }, c.label || c))));
  const body = h('tbody', {}, rows.map((r) => h('tr', {}, r.map((cell, i) =>
    i === 0 && opts.rowHeaders
      ? h('th', { scope: 'row' }, cell)
      : h('td', { class: headers[i] && headers[i].num ? 'num' : undefined }, cell)))));
  const t = h('table', {}, caption ? h('caption', {}, caption) : null, head, body);
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption || 'table' }, t);
}

export function message(kind, text) {
  return h('div', { class: `msg ${kind}`, role: kind === 'error' ? 'alert' : undefined }, text);
}

export function announce(text) {
  const live = document.getElementById('announce');
  if (!live) return;
  live.textContent = '';
  setTimeout(() => { live.textContent = text; }, 50);
}
