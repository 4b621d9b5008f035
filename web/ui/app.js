/* ember UI, app.js: helpers, API access, the page shell and routing (graph.js and pages.js add
 * the views). A single-page app over the public /api/v1 endpoints. Plain modern JavaScript, no
 * libraries: the chart is hand-written SVG. Views are chosen by location.pathname, so /graph,
 * /targets, … are real URLs, and /graph keeps Prometheus' g0.expr=… query scheme. */
'use strict';

/* ---------- small helpers ---------- */

function el(tag, attrs, ...kids) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') n.className = v;
    else if (k.startsWith('on')) n.addEventListener(k.slice(2), v);
    else if (k === 'text') n.textContent = v;
    else n.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined && k !== false)
    n.append(k instanceof Node ? k : String(k));
  return n;
}
const SVGNS = 'http://www.w3.org/2000/svg';
function svg(tag, attrs) {
  const n = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v);
  return n;
}

/* Fetches an API path; resolves to {ok, data, error, missing} and never throws. missing means
 * the endpoint does not exist on this server (404): pages say "not available" then. */
async function api(path, params, opts) {
  const qs = params ? new URLSearchParams(params).toString() : '';
  let res;
  try {
    res = await fetch(path + (qs ? '?' + qs : ''), Object.assign({headers: {Accept: 'application/json'}}, opts));
  } catch (e) {
    return {ok: false, error: 'cannot reach the server: ' + e.message};
  }
  let body = null;
  try { body = await res.json(); } catch (e) { /* 404 text or empty */ }
  if (res.status === 404 && (!body || body.errorType !== 'not_found'))
    return {ok: false, missing: true, error: path + ' is not available on this server (404)'};
  if (!body) return {ok: false, error: 'HTTP ' + res.status + ' from ' + path};
  if (body.status !== 'success')
    return {ok: false, error: (body.errorType ? body.errorType + ': ' : '') + (body.error || 'HTTP ' + res.status)};
  return {ok: true, data: body.data, warnings: body.warnings};
}

const useLocal = () => localStorage.getItem('ember.localtime') === '1';
const pad = (n, w = 2) => String(n).padStart(w, '0');
function fmtTime(ms) {
  if (ms === null || ms === undefined || isNaN(ms)) return '';
  const d = new Date(ms);
  const L = useLocal();
  const Y = L ? d.getFullYear() : d.getUTCFullYear(), M = (L ? d.getMonth() : d.getUTCMonth()) + 1;
  const D = L ? d.getDate() : d.getUTCDate(), h = L ? d.getHours() : d.getUTCHours();
  const m = L ? d.getMinutes() : d.getUTCMinutes(), s = L ? d.getSeconds() : d.getUTCSeconds();
  return `${Y}-${pad(M)}-${pad(D)} ${pad(h)}:${pad(m)}:${pad(s)}`;
}
function parseTime(s) { /* "YYYY-MM-DD HH:MM[:SS]" in the display zone, or a Unix time */
  s = (s || '').trim();
  if (!s) return null;
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(parseFloat(s) * 1000);
  const m = s.match(/^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?/);
  if (!m) return NaN;
  const a = [+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0)];
  return useLocal() ? new Date(...a).getTime() : Date.UTC(...a);
}
function isoTime(v) { /* API RFC 3339 → ms */
  if (!v || v.startsWith('0001-01-01')) return null;
  const t = Date.parse(v);
  return isNaN(t) ? null : t;
}
function ago(ms) {
  if (ms === null) return 'never';
  const s = (Date.now() - ms) / 1000;
  if (s < 0) return 'just now';
  return fmtDuration(s * 1000) + ' ago';
}
function fmtDuration(ms) {
  let s = ms / 1000;
  if (ms > 0 && ms < 0.1) return Math.round(ms * 1000) + 'µs';
  if (s < 1) return (Math.round(ms * 10) / 10) + 'ms';
  if (s < 60) return (Math.round(s * 100) / 100) + 's';
  const parts = [];
  for (const [u, n] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]]) {
    const k = Math.floor(s / n);
    if (k > 0) { parts.push(k + u); s -= k * n; }
  }
  return parts.slice(0, 2).join(' ');
}
const DUR_UNITS = {ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5, y: 31536e6};
function parseDuration(s) { /* Prometheus durations: 1h30m, 15s, 2d; a bare number is seconds */
  s = (s || '').trim();
  if (/^\d+(\.\d+)?$/.test(s)) return parseFloat(s) * 1000;
  const re = /(\d+)(ms|y|w|d|h|m|s)/g;
  let total = 0, used = 0, m;
  while ((m = re.exec(s)) !== null) { total += +m[1] * DUR_UNITS[m[2]]; used += m[0].length; }
  return used === s.length && used > 0 ? total : NaN;
}
function fmtDur(ms) { /* the shortest Prometheus duration for ms */
  if (!(ms > 0)) return '0s';
  let out = '';
  for (const u of ['y', 'w', 'd', 'h', 'm', 's', 'ms']) {
    const n = Math.floor(ms / DUR_UNITS[u]);
    if (n > 0) { out += n + u; ms -= n * DUR_UNITS[u]; }
  }
  return out;
}
function fmtValue(v) {
  const n = typeof v === 'number' ? v : parseFloat(v);
  if (typeof v === 'string' && !isFinite(n)) return v;
  if (n === 0) return '0';
  const a = Math.abs(n);
  if (a >= 1e15 || a < 1e-4) return n.toExponential(3);
  return String(+n.toPrecision(6));
}
function labelText(metric, skipName) {
  const name = metric.__name__ || '';
  const ls = Object.keys(metric).filter(k => k !== '__name__').sort()
    .map(k => `${k}="${String(metric[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
  return (skipName ? '' : name) + (ls.length || !name ? '{' + ls.join(', ') + '}' : '');
}
function labelBadges(labels) {
  return Object.keys(labels || {}).sort().map(k => el('span', {class: 'badge lbl'}, `${k}="${labels[k]}"`));
}
function msg(cls, text) { return el('div', {class: cls}, text); }
function loading() { return el('div', {class: 'empty'}, 'Loading…'); }

/* ---------- page shell and routing ---------- */

const main = () => document.getElementById('main');
const views = {};
let viewToken = 0; /* a newer navigation makes older async renders drop their results */

function navigate(href, replace) {
  if (replace) history.replaceState(null, '', href); else history.pushState(null, '', href);
  render();
}
function render() {
  const path = location.pathname.replace(/\/+$/, '') || '/graph';
  const view = views[path] || views['/graph'];
  for (const a of document.querySelectorAll('#nav a'))
    a.classList.toggle('active', a.getAttribute('href') === path);
  const token = ++viewToken;
  const root = main();
  root.replaceChildren();
  root.dataset.view = path.slice(1);
  document.title = 'ember · ' + (path.slice(1) || 'graph');
  view(root, () => token === viewToken);
}

function setupShell() {
  document.addEventListener('click', e => {
    const a = e.target.closest('a');
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || !views[url.pathname]) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
  window.addEventListener('popstate', render);
  const lt = document.getElementById('localtime');
  lt.checked = useLocal();
  lt.addEventListener('change', () => { localStorage.setItem('ember.localtime', lt.checked ? '1' : '0'); render(); });
  const th = document.getElementById('theme');
  const order = ['auto', 'light', 'dark'];
  const show = () => { th.title = 'Theme: ' + (localStorage.getItem('ember.theme') || 'auto'); };
  th.addEventListener('click', () => {
    const cur = localStorage.getItem('ember.theme') || 'auto';
    const next = order[(order.indexOf(cur) + 1) % order.length];
    if (next === 'auto') { localStorage.removeItem('ember.theme'); delete document.documentElement.dataset.theme; }
    else { localStorage.setItem('ember.theme', next); document.documentElement.dataset.theme = next; }
    show();
  });
  show();
}

/* The deferred scripts run in order before DOMContentLoaded, so every view is registered by then. */
document.addEventListener('DOMContentLoaded', () => { setupShell(); render(); });
