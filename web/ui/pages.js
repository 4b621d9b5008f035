/* ember UI, pages.js: targets, alerts, rules and the status pages, each over its /api/v1 endpoint. */
'use strict';

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
      el('td', {}, annotationList(a.annotations))))));
}

function annotationList(annotations) {
  return Object.entries(annotations || {}).map(([k, v]) => el('div', {class: 'annotation'}, el('b', {}, k + ': '), v));
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
        el('div', {}, 'expr: ', ruleExprLink(rule.query)),
        rule.duration ? el('div', {class: 'for'}, 'for: ' + fmtDur(rule.duration * 1000)) : null,
        labelBadges(rule.labels), annotationList(rule.annotations)),
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

