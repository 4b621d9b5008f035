/* ember UI, graph.js: the expression browser (/graph) and its hand-written SVG chart. */
'use strict';

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
    /* replaceChildren turns a null argument into the text "null": add the "more" line only when needed. */
    const lines = rows.slice(0, 20).map(r => el('div', {class: 's'},
      el('span', {class: 'swatch', style: `background:${r.s.color}`}), el('b', {}, fmtValue(r.v)), el('span', {class: 'lbl'}, labelText(r.s.metric))));
    if (rows.length > 20) lines.push(el('div', {class: 't'}, `… ${rows.length - 20} more`));
    tip.replaceChildren(el('div', {class: 't'}, fmtTime(best)), ...lines);
    tip.hidden = false;
    const cx = (e.clientX - rect.left), left = cx > rect.width / 2 ? cx - tip.offsetWidth - 12 : cx + 12;
    tip.style.left = Math.max(0, left) + 'px'; tip.style.top = '8px';
  });
  root.addEventListener('mouseleave', () => { hover.setAttribute('visibility', 'hidden'); tip.hidden = true; });
}

views['/'] = views['/graph'];
