/* ember UI: a single-page app over the public /api/v1 endpoints. Plain modern JavaScript, no
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

/* ---------- expression browser ---------- */

const FUNCTIONS = ['abs', 'absent', 'absent_over_time', 'acos', 'acosh', 'asin', 'asinh', 'atan', 'atanh',
  'avg_over_time', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min', 'cos', 'cosh', 'count_over_time',
  'day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'deg', 'delta', 'deriv', 'exp', 'floor',
  'histogram_quantile', 'holt_winters', 'hour', 'idelta', 'increase', 'irate', 'label_join', 'label_replace',
  'last_over_time', 'ln', 'log10', 'log2', 'mad_over_time', 'max_over_time', 'min_over_time', 'minute', 'month',
  'pi', 'predict_linear', 'present_over_time', 'quantile_over_time', 'rad', 'rate', 'resets', 'round', 'scalar',
  'sgn', 'sin', 'sinh', 'sort', 'sort_desc', 'sqrt', 'stddev_over_time', 'stdvar_over_time', 'sum_over_time',
  'tan', 'tanh', 'time', 'timestamp', 'vector', 'year'];
const AGGREGATIONS = ['avg', 'bottomk', 'count', 'count_values', 'group', 'max', 'min', 'quantile', 'stddev',
  'stdvar', 'sum', 'topk'];
const KEYWORDS = ['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless'];

let metricNames = null; /* loaded once per page load; [] when the endpoint is missing */
function loadMetricNames() {
  if (!metricNames)
    metricNames = api('/api/v1/label/__name__/values').then(r => (r.ok && Array.isArray(r.data) ? r.data : []));
  return metricNames;
}

function panelFromParams(sp, i) {
  const g = k => sp.get(`g${i}.${k}`);
  return {
    expr: g('expr') || '',
    tab: g('tab') === '1' ? 1 : 0,
    range: g('range_input') || '1h',
    end: g('end_input') || g('moment_input') || '', /* moment_input: the classic UI's table time */
    step: g('step_input') || '',
    stacked: g('stacked') === '1',
  };
}
function panelsToQuery(panels) {
  const sp = new URLSearchParams();
  panels.forEach((p, i) => {
    sp.set(`g${i}.expr`, p.expr);
    sp.set(`g${i}.tab`, String(p.tab));
    sp.set(`g${i}.stacked`, p.stacked ? '1' : '0');
    sp.set(`g${i}.range_input`, p.range);
    if (p.end) sp.set(`g${i}.end_input`, p.end);
    if (p.step) sp.set(`g${i}.step_input`, p.step);
  });
  return sp.toString().replace(/%2F/g, '/').replace(/%3A/g, ':');
}

views['/graph'] = function (root, live) {
  /* Coming back to /graph from another page restores this tab's last panels. */
  const last = sessionStorage.getItem('ember.graph');
  if (!location.search && last) history.replaceState(null, '', '/graph?' + last);
  const sp = new URLSearchParams(location.search);
  const panels = [];
  for (let i = 0; sp.has(`g${i}.expr`) || (i === 0); i++) {
    panels.push(panelFromParams(sp, i));
    if (!sp.has(`g${i}.expr`)) break;
  }
  const list = el('div', {id: 'panels'});
  const syncURL = () => {
    if (!live()) return;
    const q = panelsToQuery(panels.filter(p => !p.removed));
    history.replaceState(null, '', '/graph?' + q);
    sessionStorage.setItem('ember.graph', q);
  };
  const add = (p) => {
    panels.includes(p) || panels.push(p);
    list.append(buildPanel(p, panels.indexOf(p), syncURL, () => {
      p.removed = true; syncURL();
    }));
  };
  root.append(list, el('button', {type: 'button', id: 'add-panel', onclick: () => {
    const p = panelFromParams(new URLSearchParams(), 0); add(p); syncURL();
  }}, '+ Add panel'));
  panels.forEach(add);
  if (sp.toString()) syncURL();
};

function buildPanel(p, idx, changed, removed) {
  const box = el('div', {class: 'card panel', 'data-panel': idx});
  const ta = el('textarea', {rows: 1, placeholder: 'Expression (press Shift+Enter for newlines)', spellcheck: 'false',
    class: 'expr', 'aria-label': 'Expression'});
  ta.value = p.expr;
  const drop = el('div', {class: 'complete', hidden: true});
  const exec = el('button', {type: 'button', class: 'primary exec'}, 'Execute');
  const close = el('button', {type: 'button', class: 'ghost', title: 'Remove panel'}, '✕');
  const errBox = el('div');
  const stats = el('span', {class: 'stats'});
  const tabs = el('div', {class: 'tabs'});
  const tabBtns = ['Graph', 'Table'].map((name, i) => el('button', {type: 'button', 'data-tab': i,
    onclick: () => { p.tab = i; showTab(); changed(); run(); }}, name));
  tabs.append(...tabBtns, stats);
  const body = el('div', {class: 'body'});
  box.append(el('div', {class: 'row'}, el('div', {class: 'editor'}, ta, drop), exec, close), errBox, tabs, body);

  /* graph controls */
  const rangeIn = el('input', {type: 'text', class: 'range', value: p.range, title: 'Range (e.g. 1h, 30m, 2d)'});
  const endIn = el('input', {type: 'text', class: 'end', value: p.end, placeholder: 'End time (now)', title: 'End time: YYYY-MM-DD HH:MM:SS (display zone)'});
  const stepIn = el('input', {type: 'text', class: 'step', value: p.step, placeholder: 'Step (auto)', title: 'Resolution step'});
  const stackIn = el('input', {type: 'checkbox', class: 'stacked'});
  stackIn.checked = p.stacked;
  const RANGES = [60e3, 5 * 60e3, 15 * 60e3, 30 * 60e3, 36e5, 3 * 36e5, 6 * 36e5, 12 * 36e5, 864e5, 2 * 864e5, 7 * 864e5, 14 * 864e5, 28 * 864e5, 56 * 864e5, 365 * 864e5];
  const bump = dir => {
    const cur = parseDuration(rangeIn.value) || 36e5;
    let i = RANGES.findIndex(r => r >= cur);
    if (i < 0) i = RANGES.length - 1;
    else if (dir < 0 && RANGES[i] >= cur) i = Math.max(0, i - 1);
    else if (dir > 0 && RANGES[i] <= cur) i = Math.min(RANGES.length - 1, i + 1);
    rangeIn.value = fmtDur(RANGES[i]); onControls();
  };
  const shiftEnd = dir => {
    const range = parseDuration(rangeIn.value) || 36e5;
    const end = parseTime(endIn.value) || Date.now();
    endIn.value = fmtTime(end + dir * range / 2); onControls();
  };
  const graphCtl = el('div', {class: 'row controls'},
    el('button', {type: 'button', title: 'Shorter range', onclick: () => bump(-1)}, '−'), rangeIn,
    el('button', {type: 'button', title: 'Longer range', onclick: () => bump(1)}, '+'),
    el('button', {type: 'button', title: 'Earlier', onclick: () => shiftEnd(-1)}, '◀'), endIn,
    el('button', {type: 'button', title: 'Later', onclick: () => shiftEnd(1)}, '▶'),
    el('button', {type: 'button', title: 'End now', onclick: () => { endIn.value = ''; onControls(); }}, 'now'),
    stepIn, el('label', {class: 'opt'}, stackIn, 'stacked'));
  function onControls() {
    p.range = rangeIn.value.trim() || '1h'; p.end = endIn.value.trim(); p.step = stepIn.value.trim();
    evalIn.value = p.end;
    p.stacked = stackIn.checked; changed(); run();
  }
  for (const i of [rangeIn, endIn, stepIn]) i.addEventListener('change', onControls);
  stackIn.addEventListener('change', onControls);
  const graphArea = el('div', {class: 'graph-area'});
  const tableArea = el('div', {class: 'table-area'});
  const graphTab = el('div', {}, graphCtl, graphArea);
  /* The table's evaluation time is the graph's end time: one value, two inputs. */
  const evalIn = el('input', {type: 'text', class: 'end eval', value: p.end, placeholder: 'Evaluation time (now)',
    title: 'Evaluation time: YYYY-MM-DD HH:MM:SS (display zone)'});
  evalIn.addEventListener('change', () => { endIn.value = evalIn.value; onControls(); });
  endIn.addEventListener('change', () => { evalIn.value = endIn.value; });
  const tableCtl = el('div', {class: 'row controls'}, evalIn,
    el('button', {type: 'button', title: 'Evaluate now', onclick: () => { evalIn.value = endIn.value = ''; onControls(); }}, 'now'));
  const tableTab = el('div', {}, tableCtl, tableArea);
  body.append(graphTab, tableTab);
  function showTab() {
    tabBtns.forEach((b, i) => b.classList.toggle('on', i === p.tab));
    graphTab.hidden = p.tab !== 0; tableTab.hidden = p.tab !== 1;
  }
  showTab();

  let seq = 0;
  async function run() {
    p.expr = ta.value.trim();
    changed();
    errBox.replaceChildren(); stats.textContent = '';
    const area = p.tab === 0 ? graphArea : tableArea;
    if (!p.expr) { area.replaceChildren(el('div', {class: 'empty'}, 'No query yet: type an expression and press Execute.')); return; }
    const my = ++seq;
    area.replaceChildren(loading());
    const t0 = performance.now();
    const end = p.end ? parseTime(p.end) : Date.now();
    if (isNaN(end)) { area.replaceChildren(); errBox.append(msg('error', 'End time must look like 2024-05-01 13:00:00')); return; }
    let r;
    if (p.tab === 1) {
      const params = {query: p.expr};
      if (p.end) params.time = end / 1000;
      r = await api('/api/v1/query', params, {method: 'POST', headers: {Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded'}, body: new URLSearchParams(params)});
    } else {
      const range = parseDuration(p.range);
      if (!(range > 0)) { area.replaceChildren(); errBox.append(msg('error', 'Range must be a duration such as 1h or 30m')); return; }
      let step = p.step ? parseDuration(p.step) : Math.max(1000, Math.ceil(range / 250 / 1000) * 1000);
      if (!(step > 0)) { area.replaceChildren(); errBox.append(msg('error', 'Step must be a duration such as 15s')); return; }
      const params = {query: p.expr, start: (end - range) / 1000, end: end / 1000, step: step / 1000};
      r = await api('/api/v1/query_range', null, {method: 'POST', headers: {Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded'}, body: new URLSearchParams(params)});
      if (r.ok) r.range = {start: end - range, end, step};
    }
    if (my !== seq) return;
    const took = Math.round(performance.now() - t0);
    if (!r.ok) { area.replaceChildren(); errBox.append(msg('error', r.error)); return; }
    for (const w of r.warnings || []) errBox.append(msg('warning', w));
    if (p.tab === 1) renderTable(area, r.data, stats, took);
    else renderGraph(area, r.data, r.range, p.stacked, stats, took);
  }
  exec.addEventListener('click', run);
  close.addEventListener('click', () => { box.remove(); removed(); });
  attachCompletion(ta, drop, run);
  if (p.expr) run();
  else (p.tab === 0 ? graphArea : tableArea).append(el('div', {class: 'empty'}, 'No query yet: type an expression and press Execute.'));
  return box;
}

/* Completion of the identifier under the cursor: metric names, functions, aggregations. */
function attachCompletion(ta, drop, run) {
  let items = [], sel = 0;
  const wordAt = () => {
    const before = ta.value.slice(0, ta.selectionStart);
    const m = before.match(/[a-zA-Z_:][a-zA-Z0-9_:]*$/);
    return m ? {word: m[0], start: ta.selectionStart - m[0].length} : null;
  };
  const hide = () => { drop.hidden = true; items = []; };
  const accept = i => {
    const w = wordAt();
    if (!w || !items[i]) return;
    const it = items[i];
    const ins = it.kind === 'function' || it.kind === 'aggregation' ? it.text + '(' : it.text;
    ta.value = ta.value.slice(0, w.start) + ins + ta.value.slice(ta.selectionStart);
    const pos = w.start + ins.length;
    ta.setSelectionRange(pos, pos);
    hide(); ta.focus();
  };
  const paint = () => {
    drop.replaceChildren(...items.map((it, i) => el('div', {class: i === sel ? 'sel' : '',
      onmousedown: e => { e.preventDefault(); accept(i); }}, el('span', {class: 'mono'}, it.text), el('span', {class: 'kind'}, it.kind))));
    drop.hidden = items.length === 0;
    const s = drop.children[sel]; if (s) s.scrollIntoView({block: 'nearest'});
  };
  const update = async () => {
    const w = wordAt();
    if (!w) { hide(); return; }
    const names = await loadMetricNames();
    const q = w.word.toLowerCase();
    const out = [];
    const scan = (list, kind) => { for (const t of list) if (t.toLowerCase().startsWith(q) && t !== w.word) out.push({text: t, kind}); };
    scan(names, 'metric'); scan(FUNCTIONS, 'function'); scan(AGGREGATIONS, 'aggregation'); scan(KEYWORDS, 'keyword');
    if (out.length < 50) for (const t of names) if (!t.toLowerCase().startsWith(q) && t.toLowerCase().includes(q)) out.push({text: t, kind: 'metric'});
    if (wordAt()?.word !== w.word) return;
    items = out.slice(0, 50); sel = 0; paint();
  };
  ta.addEventListener('input', () => {
    ta.style.height = 'auto'; ta.style.height = Math.min(ta.scrollHeight + 2, 300) + 'px';
    update();
  });
  ta.addEventListener('blur', () => setTimeout(hide, 100));
  ta.addEventListener('keydown', e => {
    if (!drop.hidden && items.length) {
      if (e.key === 'ArrowDown') { sel = (sel + 1) % items.length; paint(); e.preventDefault(); return; }
      if (e.key === 'ArrowUp') { sel = (sel + items.length - 1) % items.length; paint(); e.preventDefault(); return; }
      if (e.key === 'Tab' || (e.key === 'Enter' && !e.shiftKey)) { accept(sel); e.preventDefault(); return; }
      if (e.key === 'Escape') { hide(); e.preventDefault(); return; }
    }
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); hide(); run(); }
  });
}

function renderTable(area, data, stats, took) {
  const rows = [];
  const LIMIT = 10000;
  const t = data.resultType, res = data.result;
  if (t === 'scalar' || t === 'string') {
    rows.push(el('tr', {}, el('td', {class: 'mono'}, t), el('td', {class: 'value'}, t === 'scalar' ? fmtValue(res[1]) : res[1])));
  } else if (t === 'vector') {
    for (const s of res.slice(0, LIMIT))
      rows.push(el('tr', {}, el('td', {class: 'mono'}, labelText(s.metric)), el('td', {class: 'value'}, s.value[1])));
  } else if (t === 'matrix') {
    for (const s of res.slice(0, LIMIT))
      rows.push(el('tr', {}, el('td', {class: 'mono'}, labelText(s.metric)),
        el('td', {class: 'value'}, (s.values || []).map(v => el('div', {}, `${v[1]} @${v[0]}`)))));
  }
  const n = Array.isArray(res) && t !== 'scalar' && t !== 'string' ? res.length : 1;
  stats.textContent = `Load time: ${took}ms · Result series: ${n}`;
  if (!rows.length) { area.replaceChildren(el('div', {class: 'empty'}, 'Empty query result')); return; }
  const table = el('table', {class: 'result-table', 'data-rows': rows.length}, el('tbody', {}, rows));
  area.replaceChildren(table);
  if (n > LIMIT) area.prepend(msg('warning', `Showing ${LIMIT} of ${n} series.`));
}

/* ---------- the chart ---------- */

const PALETTE = ['#e8590c', '#1c7ed6', '#2f9e44', '#ae3ec9', '#f08c00', '#0c8599', '#e03131', '#5c7cfa',
  '#66a80f', '#d6336c', '#7950f2', '#1098ad', '#fab005', '#495057', '#a61e4d', '#364fc7'];

function niceTicks(min, max, count) {
  if (min === max) { min -= 1; max += 1; }
  const span = max - min, raw = span / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / mag;
  const step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  const lo = Math.floor(min / step) * step, hi = Math.ceil(max / step) * step;
  const ticks = [];
  for (let v = lo; v <= hi + step / 2 && ticks.length < 50; v += step) ticks.push(+v.toPrecision(12));
  return {lo, hi, ticks};
}
const TIME_STEPS = [1e3, 5e3, 15e3, 30e3, 60e3, 5 * 60e3, 15 * 60e3, 30 * 60e3, 36e5, 3 * 36e5, 6 * 36e5, 12 * 36e5, 864e5, 7 * 864e5, 30 * 864e5];
function timeTicks(start, end, count) {
  const want = (end - start) / count;
  const step = TIME_STEPS.find(s => s >= want) || Math.ceil(want / 864e5) * 864e5;
  const off = useLocal() ? new Date(start).getTimezoneOffset() * 60e3 : 0;
  const ticks = [];
  for (let t = Math.ceil((start - off) / step) * step + off; t <= end && ticks.length < 40; t += step) ticks.push(t);
  return {ticks, step};
}
function fmtTick(t, step) {
  const s = fmtTime(t);
  if (step >= 864e5) return s.slice(5, 10);
  if (step < 60e3) return s.slice(11, 19);
  return s.slice(11, 16);
}

function renderGraph(area, data, range, stacked, stats, took) {
  if (data.resultType !== 'matrix') {
    area.replaceChildren(msg('error', `The graph needs a range vector result, got ${data.resultType}.`));
    return;
  }
  const series = data.result.map((s, i) => ({
    metric: s.metric, color: PALETTE[i % PALETTE.length], on: true,
    pts: (s.values || []).map(v => [v[0] * 1000, parseFloat(v[1])]),
  }));
  const npts = series.reduce((a, s) => a + s.pts.length, 0);
  stats.textContent = `Load time: ${took}ms · Resolution: ${fmtDur(range.step)} · Result series: ${series.length}`;
  if (!series.length) { area.replaceChildren(el('div', {class: 'empty'}, 'Empty query result')); return; }
  const chart = el('div', {class: 'chart'});
  const legend = el('div', {class: 'legend'});
  area.replaceChildren(chart, legend);
  const draw = () => drawChart(chart, series, range, stacked);
  series.forEach((s, i) => {
    const row = el('div', {'data-series': i, title: 'Click: show only this series; Ctrl/Cmd+click: toggle'},
      el('span', {class: 'swatch', style: `background:${s.color}`}), el('span', {class: 'lbl'}, labelText(s.metric)));
    row.addEventListener('click', e => {
      if (e.ctrlKey || e.metaKey) s.on = !s.on;
      else {
        const only = s.on && series.every(o => o === s || !o.on);
        series.forEach(o => { o.on = only || o === s; });
      }
      legend.querySelectorAll('div[data-series]').forEach((r, j) => r.classList.toggle('off', !series[j].on));
      draw();
    });
    legend.append(row);
  });
  chart.dataset.points = npts;
  draw();
  /* Redraw on width changes so axis labels keep their size. */
  if (window.ResizeObserver) {
    let w = chart.clientWidth;
    new ResizeObserver(() => { if (chart.clientWidth !== w && chart.isConnected) { w = chart.clientWidth; draw(); } }).observe(chart);
  }
}

function drawChart(chart, series, range, stacked) {
  const W = Math.max(chart.clientWidth || 800, 300), H = 320;
  const padL = 64, padR = 16, padT = 10, padB = 24;
  const vis = series.filter(s => s.on);
  /* Stacking adds each visible series to the sum of those before it at the same timestamp;
   * range queries put every series on the same step grid, so timestamps line up. */
  const drawn = [];
  const base = new Map();
  for (const s of vis) {
    const pts = s.pts.map(([t, v]) => {
      if (!stacked || !isFinite(v)) return [t, v, isFinite(v) ? 0 : v];
      const b = base.get(t) || 0;
      base.set(t, b + v);
      return [t, b + v, b];
    });
    drawn.push({s, pts});
  }
  let lo = Infinity, hi = -Infinity;
  for (const d of drawn) for (const [, v, b] of d.pts) if (isFinite(v)) {
    lo = Math.min(lo, v, stacked ? b : v); hi = Math.max(hi, v);
  }
  if (!isFinite(lo)) { lo = 0; hi = 1; }
  if (stacked) lo = Math.min(lo, 0);
  const yt = niceTicks(lo, hi, 6);
  const x = t => padL + (t - range.start) / (range.end - range.start) * (W - padL - padR);
  const y = v => padT + (1 - (v - yt.lo) / (yt.hi - yt.lo)) * (H - padT - padB);
  const root = svg('svg', {viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img'});
  root.style.height = H + 'px';
  const grid = svg('g', {class: 'grid'}), axis = svg('g', {class: 'axis'});
  for (const v of yt.ticks) {
    grid.append(svg('line', {x1: padL, x2: W - padR, y1: y(v), y2: y(v)}));
    const t = svg('text', {x: padL - 6, y: y(v) + 4, 'text-anchor': 'end'}); t.textContent = fmtValue(v); axis.append(t);
  }
  const xt = timeTicks(range.start, range.end, Math.max(2, Math.floor((W - padL) / 110)));
  for (const t of xt.ticks) {
    grid.append(svg('line', {x1: x(t), x2: x(t), y1: padT, y2: H - padB}));
    const tx = svg('text', {x: x(t), y: H - 6, 'text-anchor': 'middle'}); tx.textContent = fmtTick(t, xt.step); axis.append(tx);
  }
  root.append(grid, axis);
  const gap = range.step * 1.5;
  let drawnPts = 0;
  for (const {s, pts} of drawn) {
    let d = '', area = '', prevT = null, run = [];
    const flush = () => {
      if (stacked && run.length) {
        area += 'M' + run.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join('L') +
          'L' + run.slice().reverse().map(([t, , b]) => `${x(t).toFixed(1)},${y(b).toFixed(1)}`).join('L') + 'Z';
      }
      run = [];
    };
    for (const pt of pts) {
      const [t, v] = pt;
      if (!isFinite(v)) { prevT = null; flush(); continue; }
      d += (prevT === null || t - prevT > gap ? 'M' : 'L') + x(t).toFixed(1) + ',' + y(v).toFixed(1);
      if (prevT !== null && t - prevT > gap) flush();
      run.push(pt); prevT = t; drawnPts++;
    }
    flush();
    if (area) root.append(svg('path', {d: area, fill: s.color, 'fill-opacity': 0.25, stroke: 'none'}));
    /* A lone point draws no line: give it a visible dot through a round cap. */
    root.append(svg('path', {d, fill: 'none', stroke: s.color, 'stroke-width': 1.6, 'stroke-linejoin': 'round',
      'stroke-linecap': 'round', class: 'series', 'data-points': pts.filter(p => isFinite(p[1])).length}));
  }
  root.dataset.points = drawnPts;
  const hover = svg('line', {class: 'hover-line', y1: padT, y2: H - padB, visibility: 'hidden'});
  root.append(hover);
  const tip = el('div', {class: 'tooltip', hidden: true});
  chart.replaceChildren(root, tip);
  root.addEventListener('mousemove', e => {
    const rect = root.getBoundingClientRect();
    const px = (e.clientX - rect.left) * W / rect.width;
    const t = range.start + (px - padL) / (W - padL - padR) * (range.end - range.start);
    let best = null;
    for (const {pts} of drawn) for (const p of pts) if (best === null || Math.abs(p[0] - t) < Math.abs(best - t)) best = p[0];
    if (best === null || px < padL || px > W - padR) { hover.setAttribute('visibility', 'hidden'); tip.hidden = true; return; }
    hover.setAttribute('x1', x(best)); hover.setAttribute('x2', x(best)); hover.setAttribute('visibility', 'visible');
    const rows = [];
    for (const {s, pts} of drawn) {
      const p = pts.find(q => q[0] === best);
      if (p) rows.push({s, v: stacked ? p[1] - p[2] : p[1]});
    }
    rows.sort((a, b) => b.v - a.v);
    tip.replaceChildren(el('div', {class: 't'}, fmtTime(best)), ...rows.slice(0, 20).map(r => el('div', {class: 's'},
      el('span', {class: 'swatch', style: `background:${r.s.color}`}), el('b', {}, fmtValue(r.v)), el('span', {class: 'lbl'}, labelText(r.s.metric)))),
      rows.length > 20 ? el('div', {class: 't'}, `… ${rows.length - 20} more`) : null);
    tip.hidden = false;
    const cx = (e.clientX - rect.left), left = cx > rect.width / 2 ? cx - tip.offsetWidth - 12 : cx + 12;
    tip.style.left = Math.max(0, left) + 'px'; tip.style.top = '8px';
  });
  root.addEventListener('mouseleave', () => { hover.setAttribute('visibility', 'hidden'); tip.hidden = true; });
}

/* ---------- targets ---------- */

function collapsible(head, body, open) {
  const caret = el('span', {class: 'caret'}, open ? '▾' : '▸');
  const card = el('div', {class: 'card' + (open ? '' : ' collapsed')});
  const h = el('div', {class: 'section-head', onclick: () => {
    card.classList.toggle('collapsed'); caret.textContent = card.classList.contains('collapsed') ? '▸' : '▾';
  }}, caret, head);
  card.append(h, el('div', {class: 'body'}, body));
  return card;
}

views['/targets'] = async function (root, live) {
  root.append(el('h1', {}, 'Targets'));
  const onlyBad = el('input', {type: 'checkbox'});
  const filter = el('input', {type: 'search', placeholder: 'Filter by endpoint or labels'});
  const out = el('div', {}, loading());
  root.append(el('div', {class: 'row', style: 'margin-bottom:12px'}, filter, el('label', {class: 'opt'}, onlyBad, 'Only unhealthy')), out);
  const r = await api('/api/v1/targets', {state: 'active'});
  if (!live()) return;
  if (!r.ok) { out.replaceChildren(msg(r.missing ? 'notice' : 'error', r.error)); return; }
  const targets = r.data.activeTargets || [];
  const paint = () => {
    const q = filter.value.toLowerCase();
    const pools = new Map();
    for (const t of targets) {
      if (onlyBad.checked && t.health === 'up') continue;
      if (q && !(t.scrapeUrl + ' ' + JSON.stringify(t.labels)).toLowerCase().includes(q)) continue;
      const k = t.scrapePool || (t.labels && t.labels.job) || '';
      pools.has(k) || pools.set(k, []);
      pools.get(k).push(t);
    }
    const cards = [];
    for (const [pool, ts] of [...pools.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
      const up = ts.filter(t => t.health === 'up').length;
      const rows = ts.map(t => el('tr', {class: 'target', 'data-health': t.health},
        el('td', {}, el('a', {href: t.scrapeUrl, target: '_blank', rel: 'noopener'}, t.scrapeUrl)),
        el('td', {}, el('span', {class: 'badge ' + t.health}, t.health.toUpperCase())),
        el('td', {}, labelBadges(t.labels)),
        el('td', {title: t.lastScrape || ''}, ago(isoTime(t.lastScrape))),
        el('td', {class: 'num'}, t.lastScrapeDuration !== undefined ? fmtDuration(t.lastScrapeDuration * 1000) : ''),
        el('td', {class: 'err-cell'}, t.lastError ? el('span', {class: 'badge err'}, t.lastError) : '')));
      cards.push(collapsible(el('h2', {}, pool, ' ', el('span', {class: 'muted'}, `(${up}/${ts.length} up)`)),
        el('table', {'data-pool': pool, class: 'targets'},
          el('colgroup', {}, [26, 8, 28, 10, 8, 20].map(w => el('col', {style: `width:${w}%`}))),
          el('thead', {}, el('tr', {}, ['Endpoint', 'State', 'Labels', 'Last scrape', 'Duration', 'Error'].map(h => el('th', {}, h)))),
          el('tbody', {}, rows)), true));
    }
    out.replaceChildren(...(cards.length ? cards : [el('div', {class: 'empty'}, targets.length ? 'No target matches.' : 'No targets.')]));
  };
  filter.addEventListener('input', paint); onlyBad.addEventListener('change', paint);
  paint();
};

/* ---------- alerts and rules ---------- */

function ruleExprLink(expr) {
  return el('a', {href: '/graph?' + panelsToQuery([{expr, tab: 1, range: '1h', end: '', step: '', stacked: false}]), class: 'mono'}, expr);
}

views['/alerts'] = async function (root, live) {
  root.append(el('h1', {}, 'Alerts'));
  const boxes = {};
  const bar = el('div', {class: 'row', style: 'margin-bottom:12px'});
  for (const s of ['inactive', 'pending', 'firing']) {
    boxes[s] = el('input', {type: 'checkbox'}); boxes[s].checked = true;
    bar.append(el('label', {class: 'opt'}, boxes[s], s[0].toUpperCase() + s.slice(1)));
  }
  const out = el('div', {}, loading());
  root.append(bar, out);
  const r = await api('/api/v1/rules', {type: 'alert'});
  if (!live()) return;
  if (!r.ok) {
    /* Without the rules endpoint, the plain alert list still tells what fires. */
    const a = await api('/api/v1/alerts');
    if (!live()) return;
    if (!a.ok) { out.replaceChildren(msg(r.missing && a.missing ? 'notice' : 'error', r.missing && a.missing ? 'Alerting is not available on this server (no /api/v1/rules or /api/v1/alerts).' : (r.missing ? a.error : r.error))); return; }
    const alerts = a.data.alerts || [];
    out.replaceChildren(msg('notice', r.error), alerts.length ? alertTable(alerts) : el('div', {class: 'empty'}, 'No active alerts.'));
    return;
  }
  const rules = [];
  for (const g of r.data.groups || []) for (const rule of g.rules || []) if (rule.type === 'alerting' || rule.state) rules.push({g, rule});
  const counts = {inactive: 0, pending: 0, firing: 0};
  rules.forEach(x => { counts[x.rule.state] = (counts[x.rule.state] || 0) + 1; });
  bar.append(el('span', {class: 'muted'}, `${counts.firing} firing, ${counts.pending} pending, ${counts.inactive} inactive`));
  const paint = () => {
    const cards = rules.filter(x => boxes[x.rule.state] ? boxes[x.rule.state].checked : true).map(({g, rule}) => {
      const n = (rule.alerts || []).length;
      const head = el('div', {class: 'row'}, el('span', {class: 'badge ' + rule.state}, rule.state.toUpperCase()),
        el('h2', {}, rule.name), el('span', {class: 'muted'}, `(${n} active) · ${g.file ? g.file + ' > ' : ''}${g.name}`));
      const def = el('pre', {}, 'alert: ' + rule.name + '\nexpr: ', ruleExprLink(rule.query),
        rule.duration ? '\nfor: ' + fmtDur(rule.duration * 1000) : '',
        Object.keys(rule.labels || {}).length ? '\nlabels:\n' + Object.entries(rule.labels).map(([k, v]) => `  ${k}: ${v}`).join('\n') : '',
        Object.keys(rule.annotations || {}).length ? '\nannotations:\n' + Object.entries(rule.annotations).map(([k, v]) => `  ${k}: ${v}`).join('\n') : '');
      return collapsible(head, el('div', {'data-alert-rule': rule.name}, def, n ? alertTable(rule.alerts) : null), rule.state !== 'inactive');
    });
    out.replaceChildren(...(cards.length ? cards : [el('div', {class: 'empty'}, rules.length ? 'No alerting rule in the chosen states.' : 'No alerting rules.')]));
  };
  Object.values(boxes).forEach(b => b.addEventListener('change', paint));
  paint();
};

function alertTable(alerts) {
  return el('table', {class: 'alerts'}, el('thead', {}, el('tr', {}, ['Labels', 'State', 'Active since', 'Value', 'Annotations'].map(h => el('th', {}, h)))),
    el('tbody', {}, alerts.map(a => el('tr', {'data-state': a.state},
      el('td', {}, labelBadges(a.labels)),
      el('td', {}, el('span', {class: 'badge ' + a.state}, (a.state || '').toUpperCase())),
      el('td', {title: a.activeAt || ''}, fmtTime(isoTime(a.activeAt))),
      el('td', {class: 'num'}, a.value !== undefined ? fmtValue(a.value) : ''),
      el('td', {}, Object.entries(a.annotations || {}).map(([k, v]) => el('div', {}, el('b', {}, k + ': '), v)))))));
}

views['/rules'] = async function (root, live) {
  root.append(el('h1', {}, 'Rules'));
  const out = el('div', {}, loading());
  root.append(out);
  const r = await api('/api/v1/rules');
  if (!live()) return;
  if (!r.ok) { out.replaceChildren(msg(r.missing ? 'notice' : 'error', r.error)); return; }
  const groups = r.data.groups || [];
  if (!groups.length) { out.replaceChildren(el('div', {class: 'empty'}, 'No rule groups are loaded.')); return; }
  out.replaceChildren(...groups.map(g => {
    const head = el('div', {class: 'row'}, el('h2', {}, g.name), el('span', {class: 'muted'},
      `${g.file || ''} · every ${fmtDur((g.interval || 0) * 1000)} · last run ${ago(isoTime(g.lastEvaluation))} · took ${fmtDuration((g.evaluationTime || 0) * 1000)}`));
    const rows = (g.rules || []).map(rule => el('tr', {'data-rule': rule.name},
      el('td', {}, el('div', {}, el('b', {}, (rule.type === 'alerting' ? 'alert: ' : 'record: ') + rule.name)),
        el('div', {}, 'expr: ', ruleExprLink(rule.query)), labelBadges(rule.labels)),
      el('td', {}, el('span', {class: 'badge ' + (rule.health === 'ok' ? 'ok' : rule.health === 'err' ? 'err' : 'unknown')}, (rule.health || 'unknown').toUpperCase())),
      el('td', {}, rule.lastError ? el('span', {class: 'badge err'}, rule.lastError) : ''),
      el('td', {title: rule.lastEvaluation || ''}, ago(isoTime(rule.lastEvaluation))),
      el('td', {class: 'num'}, fmtDuration((rule.evaluationTime || 0) * 1000))));
    return collapsible(head, el('table', {}, el('thead', {}, el('tr', {}, ['Rule', 'State', 'Error', 'Last evaluation', 'Evaluation time'].map(h => el('th', {}, h)))), el('tbody', {}, rows)), true);
  }));
};

/* ---------- status pages ---------- */

function kvTable(obj, fmt) {
  return el('table', {class: 'kv'}, el('tbody', {}, Object.entries(obj).map(([k, v]) =>
    el('tr', {}, el('th', {}, k), el('td', {class: 'mono'}, fmt ? fmt(k, v) : (typeof v === 'object' ? JSON.stringify(v) : String(v)))))));
}
async function statusSection(title, path, render) {
  const body = el('div', {}, loading());
  const card = el('div', {class: 'card'}, el('h2', {style: 'margin-bottom:8px'}, title), body);
  api(path).then(r => body.replaceChildren(r.ok ? render(r.data) : msg(r.missing ? 'notice' : 'error', r.error)));
  return card;
}

views['/status'] = async function (root) {
  root.append(el('h1', {}, 'Status'));
  root.append(await statusSection('Build information', '/api/v1/status/buildinfo', d => kvTable(d)));
  root.append(await statusSection('Runtime information', '/api/v1/status/runtimeinfo', d => kvTable(d, (k, v) =>
    /time$/i.test(k) && typeof v === 'string' && isoTime(v) ? `${fmtTime(isoTime(v))} (${ago(isoTime(v))})` : String(v))));
  root.append(el('div', {class: 'card'}, el('h2', {}, 'More'), el('p', {},
    el('a', {href: '/tsdb-status'}, 'TSDB status'), ' · ', el('a', {href: '/flags'}, 'Command-line flags'), ' · ',
    el('a', {href: '/config'}, 'Configuration'), ' · ', el('a', {href: '/metrics'}, 'Self metrics'))));
};

views['/tsdb-status'] = async function (root, live) {
  root.append(el('h1', {}, 'TSDB status'));
  const out = el('div', {}, loading());
  root.append(out);
  const r = await api('/api/v1/status/tsdb');
  if (!live()) return;
  if (!r.ok) { out.replaceChildren(msg(r.missing ? 'notice' : 'error', r.error)); return; }
  const d = r.data, h = d.headStats || {};
  const head = {};
  for (const [k, v] of Object.entries(h))
    head[k] = /Time$/.test(k) && typeof v === 'number' && Math.abs(v) < 9e15 && v > 0 ? `${fmtTime(v)} (${v})` : v;
  const parts = [el('div', {class: 'card', id: 'head-stats'}, el('h2', {style: 'margin-bottom:8px'}, 'Head block'), kvTable(head))];
  const top = (key, title, col) => {
    const list = d[key] || [];
    parts.push(el('div', {class: 'card', 'data-stat': key}, el('h2', {style: 'margin-bottom:8px'}, title),
      list.length ? el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'Name'), el('th', {}, col))),
        el('tbody', {}, list.map(x => el('tr', {}, el('td', {class: 'mono'}, x.name), el('td', {class: 'num'}, x.value)))))
        : el('div', {class: 'empty'}, 'None')));
  };
  top('seriesCountByMetricName', 'Top metric names by series count', 'Series');
  top('labelValueCountByLabelName', 'Top label names by value count', 'Values');
  top('memoryInBytesByLabelName', 'Top label names by memory', 'Bytes');
  top('seriesCountByLabelValuePair', 'Top label pairs by series count', 'Series');
  out.replaceChildren(...parts);
};

views['/flags'] = async function (root, live) {
  root.append(el('h1', {}, 'Command-line flags'));
  const filter = el('input', {type: 'search', placeholder: 'Filter flags'});
  const out = el('div', {class: 'card'}, loading());
  root.append(el('div', {class: 'row', style: 'margin-bottom:12px'}, filter), out);
  const r = await api('/api/v1/status/flags');
  if (!live()) return;
  if (!r.ok) { out.replaceChildren(msg(r.missing ? 'notice' : 'error', r.error)); return; }
  const paint = () => {
    const q = filter.value.toLowerCase();
    const shown = Object.fromEntries(Object.entries(r.data).sort().filter(([k, v]) => !q || (k + ' ' + v).toLowerCase().includes(q)));
    out.replaceChildren(kvTable(shown));
  };
  filter.addEventListener('input', paint);
  paint();
};

views['/config'] = async function (root, live) {
  root.append(el('h1', {}, 'Configuration'));
  const out = el('div', {class: 'card'}, loading());
  root.append(out);
  const r = await api('/api/v1/status/config');
  if (!live()) return;
  if (!r.ok) { out.replaceChildren(msg(r.missing ? 'notice' : 'error', r.error)); return; }
  const pre = el('pre', {id: 'config-yaml'}, r.data.yaml || '');
  const copy = el('button', {type: 'button', onclick: () => {
    navigator.clipboard && navigator.clipboard.writeText(pre.textContent).then(() => { copy.textContent = 'Copied'; });
  }}, 'Copy to clipboard');
  out.replaceChildren(el('div', {class: 'row', style: 'margin-bottom:8px'}, copy), pre);
};

views['/'] = views['/graph'];

setupShell();
render();
