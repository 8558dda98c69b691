// The stats dashboard: reads the public report API and draws it with hand-written SVG.
// No libraries, no CDN. Requests (all GET, see docs/openapi.json):
//   /stats              summary cards + top pages, for the period and the one before it
//   /stats/timeseries   the visitors/pageviews chart (hourly for one day, daily otherwise)
//   /stats/breakdown    one per visible breakdown tab
//   /stats/realtime     the "current visitors" counter, every 10 s
// Clicking a breakdown row adds a `prop==value` filter that applies to every request.
const API = 'http://localhost:4000'; // rewritten by the demo server when services use other ports
const SVG = 'http://www.w3.org/2000/svg';
const DAY_MS = 86400000;
const METRICS = 'visits,bounce_rate,visit_duration,views_per_visit,events,bots_filtered';
const LIVE_REFRESH_MS = 30000;
const REALTIME_MS = 10000;

const $ = (id) => document.getElementById(id);
const nf = new Intl.NumberFormat('en');
const nf1 = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });
const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });
const dayFmt = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' });
const shortDay = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short' });
const longDay = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' });
const regions = typeof Intl.DisplayNames === 'function' ? new Intl.DisplayNames(['en'], { type: 'region' }) : null;

const LABELS = {
  path: 'Page', entry_page: 'Entry page', exit_page: 'Exit page', source: 'Source',
  referrer: 'Referrer', utm_source: 'UTM source', utm_medium: 'UTM medium',
  utm_campaign: 'UTM campaign', utm_content: 'UTM content', utm_term: 'UTM term',
  browser: 'Browser', os: 'OS', device: 'Device', country: 'Country', event_type: 'Event',
};
/** Columns per breakdown property: [result key, heading]; the first one sizes the bars. */
const COLUMNS = {
  path: [['views', 'Views']],
  device: [['visitors', 'Visitors'], ['percent', '%']],
  browser: [['visitors', 'Visitors'], ['percent', '%']],
  os: [['visitors', 'Visitors'], ['percent', '%']],
  event_type: [['visitors', 'Uniques'], ['events', 'Total'], ['conversion_rate', 'CR']],
};
const PRESETS = {
  today: (t) => [t, t], yesterday: (t) => [shift(t, -1), shift(t, -1)],
  '7d': (t) => [shift(t, -6), t], '30d': (t) => [shift(t, -29), t],
};

const today = () => new Date().toISOString().slice(0, 10);
const shift = (day, n) => new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
const days = (r) => Math.round((Date.parse(r.to) - Date.parse(r.from)) / DAY_MS) + 1;
const isDay = (v) => /^\d{4}-\d{2}-\d{2}$/.test(v || '') && !Number.isNaN(Date.parse(v));

const state = { site: '', period: 'today', from: '', to: '', filters: [], controller: null, total: 0, loaded: new Map() };

// --- API ------------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(message, status, field) { super(message); this.status = status; this.field = field; }
}

function apiUrl(path, params) {
  const url = new URL(API + path);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') url.searchParams.set(k, v);
  return url;
}

async function api(path, params, signal) {
  let r;
  try {
    r = await fetch(apiUrl(path, params), { signal, headers: { Accept: 'application/json' } });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(`the report service (${API}) cannot be reached`, 0);
  }
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new ApiError(body?.error || `HTTP ${r.status}`, r.status, body?.field);
  if (!body) throw new ApiError('the report service did not answer JSON', r.status);
  return body;
}

const filterParam = () => state.filters.map((f) => f.prop + f.op + f.value).join(';');

/** site_id, the range and the filters; /stats for one day uses `date` (understood by every version). */
function common(range, single = false) {
  const p = { site_id: state.site, filters: filterParam() };
  if (single && range.from === range.to) p.date = range.from;
  else Object.assign(p, { from: range.from, to: range.to });
  return p;
}

async function fetchStats(range, signal) {
  try {
    return await api('/stats', { ...common(range, true), metrics: METRICS }, signal);
  } catch (e) {
    // A report service without `metrics` refuses the parameter: ask for the basic numbers.
    if (e.status === 400 && (e.field === 'metrics' || /`metrics`/.test(e.message))) return api('/stats', common(range, true), signal);
    throw e;
  }
}

// --- Range, URL, status ---------------------------------------------------------------------
function currentRange() {
  if (state.period in PRESETS) {
    const [from, to] = PRESETS[state.period](today());
    return { from, to };
  }
  return { from: state.from, to: state.to };
}

function previousRange(r) {
  const n = days(r);
  return { from: shift(r.from, -n), to: shift(r.from, -1) };
}

function rangeLabel(r) {
  const preset = $('period').selectedOptions[0];
  if (state.period !== 'custom') return preset.textContent;
  const d = (v) => dayFmt.format(new Date(`${v}T00:00:00Z`));
  const sameYear = r.from.slice(0, 4) === r.to.slice(0, 4);
  return r.from === r.to ? d(r.from)
    : `${(sameYear ? shortDay : longDay).format(new Date(`${r.from}T00:00:00Z`))} – ${longDay.format(new Date(`${r.to}T00:00:00Z`))}`;
}

function writeUrl() {
  const p = new URLSearchParams({ site: state.site, period: state.period });
  if (state.period === 'custom') { p.set('from', state.from); p.set('to', state.to); }
  if (state.filters.length) p.set('filters', filterParam());
  history.replaceState(null, '', `?${p}`);
}

function readUrl() {
  const q = new URLSearchParams(location.search);
  state.site = q.get('site') || 'demo-shop';
  state.period = q.get('period') in PRESETS ? q.get('period') : 'today';
  if (isDay(q.get('date'))) Object.assign(state, { period: 'custom', from: q.get('date'), to: q.get('date') });
  if (q.get('period') === 'custom' && isDay(q.get('from')) && isDay(q.get('to'))) {
    Object.assign(state, { period: 'custom', from: q.get('from'), to: q.get('to') });
  }
  state.filters = (q.get('filters') || '').split(';').map((s) => /^([a-z_]+)(==|!=)(.*)$/s.exec(s))
    .filter((m) => m && m[1] in LABELS).map((m) => ({ prop: m[1], op: m[2], value: m[3] }));
}

function setStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').className = `status${isError ? ' error' : ''}`;
}

function message(container, text, kind = 'empty') {
  container.replaceChildren(Object.assign(document.createElement('div'), { className: kind, textContent: text }));
  container.setAttribute('aria-busy', 'false');
}

// --- Formatting ------------------------------------------------------------------------------
function duration(seconds) {
  const s = Math.round(seconds || 0);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

const KPIS = [
  ['unique-users', 'unique_users', (v) => nf.format(v)],
  ['total-views', 'total_views', (v) => nf.format(v)],
  ['visits', 'visits', (v) => nf.format(v)],
  ['bounce-rate', 'bounce_rate', (v) => `${nf1.format(v)}%`, true],
  ['visit-duration', 'visit_duration', duration],
  ['views-per-visit', 'views_per_visit', (v) => v.toFixed(2)],
];

function comparison(range) {
  const n = days(range);
  if (n === 1) return state.period === 'today' ? 'vs. yesterday' : 'vs. the day before';
  return `vs. prev. ${n} days`;
}

function renderSummary(cur, prev, range) {
  for (const [id, key, format, lowerIsBetter] of KPIS) {
    const value = cur[key];
    const el = $(id);
    el.textContent = typeof value === 'number' ? format(value) : '–';
    el.dataset.value = value ?? '';
    const change = $(`${id}-change`);
    const before = prev?.[key];
    change.className = 'hint change';
    delete change.dataset.change;
    if (typeof value !== 'number' || typeof before !== 'number') { change.textContent = ''; continue; }
    if (before === 0) { change.textContent = value ? `new ${comparison(range)}` : ''; continue; }
    const pct = Math.round(((value - before) * 100) / before);
    const dir = pct > 0 ? 'up' : pct < 0 ? 'down' : 'flat';
    change.dataset.change = dir;
    change.dataset.percent = pct;
    if (dir !== 'flat') change.classList.add((dir === 'up') !== Boolean(lowerIsBetter) ? 'good' : 'bad');
    change.title = `${value > before ? 'Up' : value < before ? 'Down' : 'No change'} from ${format(before)} in the previous period`;
    change.replaceChildren(h('span', { className: 'delta' }, `${dir === 'up' ? '▲' : dir === 'down' ? '▼' : '='} ${Math.abs(pct)}%`),
      ` ${comparison(range)}`);
  }
}

function displayValue(prop, value) {
  if (value === '' || value == null) return '(none)';
  if (prop === 'referrer') return value.replace(/^https?:\/\/(www\.)?/, '');
  return value;
}

// --- Breakdowns ------------------------------------------------------------------------------
function svgEl(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k in node && k !== 'list') node[k] = v;
    else node.setAttribute(k, v);
  }
  node.append(...children.filter((c) => c != null));
  return node;
}

function cell(key, row) {
  const v = row[key];
  if (key === 'percent') return state.total ? `${Math.round((row.visitors * 100) / state.total)}%` : '';
  if (key === 'conversion_rate') return typeof v === 'number' ? `${nf1.format(v)}%` : '–';
  return typeof v === 'number' ? compact.format(v) : '–';
}

function rowDetails(prop, row) {
  const parts = [];
  if (row.visitors != null) parts.push(`${nf.format(row.visitors)} visitors`);
  if (row.views != null && prop !== 'event_type') parts.push(`${nf.format(row.views)} pageviews`);
  if (row.visits != null) parts.push(`${nf.format(row.visits)} visits`);
  if (row.bounce_rate != null) parts.push(`${nf1.format(row.bounce_rate)}% bounce rate`);
  if (row.visit_duration != null) parts.push(`${duration(row.visit_duration)} visit duration`);
  if (row.events != null) parts.push(`${nf.format(row.events)} events`);
  if (row.conversion_rate != null) parts.push(`${nf1.format(row.conversion_rate)}% conversion rate`);
  return parts.join(', ');
}

function renderBreakdown(container, prop, rows) {
  const columns = COLUMNS[prop] || [['visitors', 'Visitors']];
  const barKey = columns[0][0];
  container.setAttribute('aria-busy', 'false');
  if (!rows.length) {
    const hint = prop === 'event_type'
      ? "No custom events in this period. Send one with beacon('event', 'signup')."
      : 'No data for this period.';
    return message(container, hint);
  }
  const max = Math.max(1, ...rows.map((r) => r[barKey] || 0));
  const head = h('div', { className: 'bd-row bd-head', 'aria-hidden': 'true' },
    h('span', {}, LABELS[prop]), ...columns.map(([, label]) => h('span', { className: 'bd-num' }, label)));
  const list = h('ul', { className: 'bd-list', 'aria-label': `${LABELS[prop]} breakdown` });
  for (const row of rows) {
    const shown = displayValue(prop, row.value);
    const details = rowDetails(prop, row);
    const bar = svgEl('svg', { class: 'bd-bar', viewBox: '0 0 100 10', preserveAspectRatio: 'none', 'aria-hidden': 'true', focusable: 'false' });
    const g = svgEl('g', { 'data-value': row.value, 'data-visitors': row.visitors ?? '', 'data-views': row.views ?? '' });
    if (prop === 'path') g.setAttribute('data-path', row.value);
    g.append(svgEl('rect', { x: 0, y: 0, height: 10, width: Math.max(0.5, ((row[barKey] || 0) * 100) / max).toFixed(2) }));
    bar.append(g);
    const label = h('span', { className: 'bd-label' });
    if (prop === 'country' && /^[A-Z]{2}$/.test(row.value)) {
      let name = row.value;
      try { name = regions?.of(row.value) || row.value; } catch { /* unknown code */ }
      label.append(h('span', { className: 'cc' }, row.value), ` ${name}`);
    } else label.textContent = shown;
    const button = h('button', {
      type: 'button', className: 'bd-item', title: `${shown}: ${details}`,
      'aria-label': `${shown}: ${details}. Add filter ${LABELS[prop]} is ${shown}`,
      dataset: { prop, value: row.value },
    }, bar, label);
    button.addEventListener('click', () => addFilter(prop, row.value));
    list.append(h('li', { className: 'bd-row', dataset: { value: row.value } }, button,
      ...columns.map(([key]) => h('span', { className: 'bd-num', dataset: { key } }, cell(key, row)))));
  }
  container.replaceChildren(head, list);
}

function breakdownLimit(prop) { return prop === 'event_type' ? 11 : 10; }

async function loadBreakdown(prop, range, signal) {
  const container = document.querySelector(`[role][data-property="${prop}"]`);
  if (prop === 'path') return null; // Top pages come with /stats (top_paths)
  container.setAttribute('aria-busy', 'true');
  try {
    const body = await api('/stats/breakdown', { ...common(range), property: prop, limit: breakdownLimit(prop) }, signal);
    let rows = body.results || [];
    if (prop === 'event_type') {
      rows = rows.filter((r) => r.value !== 'page_view').slice(0, 10);
    }
    renderBreakdown(container, prop, rows);
    state.loaded.set(prop, true);
    return null;
  } catch (e) {
    if (e.name === 'AbortError') return null;
    message(container, `Could not load this breakdown: ${e.message}`, 'empty error');
    return e;
  }
}

function renderTopPages(topPaths) {
  const rows = (topPaths || []).map((p) => ({ value: p.path, views: p.views }));
  renderBreakdown($('top-pages'), 'path', rows);
}

function csvHref(prop) {
  return apiUrl('/stats/breakdown', { ...common(currentRange()), property: prop, limit: 1000, format: 'csv' }).href;
}

function setupTabs() {
  for (const card of document.querySelectorAll('.breakdown')) {
    const tabs = [...card.querySelectorAll('[role=tab]')];
    const csv = card.querySelector('[data-csv]');
    const panelProp = card.querySelector('[data-property]').dataset.property;
    const sync = () => {
      const active = tabs.find((t) => t.getAttribute('aria-selected') === 'true');
      const prop = active ? active.dataset.prop : panelProp;
      csv.href = csvHref(prop);
      csv.setAttribute('aria-label', `Download the ${LABELS[prop].toLowerCase()} breakdown as CSV`);
    };
    card.syncCsv = sync;
    tabs.forEach((tab, i) => {
      const panel = card.querySelector(`[data-property="${tab.dataset.prop}"]`);
      tab.id = `tab-${tab.dataset.prop}`;
      tab.setAttribute('aria-controls', panel.id);
      panel.setAttribute('aria-labelledby', tab.id);
      const select = (focus) => {
        for (const t of tabs) {
          const on = t === tab;
          t.setAttribute('aria-selected', on);
          t.tabIndex = on ? 0 : -1;
          card.querySelector(`[data-property="${t.dataset.prop}"]`).hidden = !on;
        }
        if (focus) tab.focus();
        sync();
        if (!state.loaded.has(tab.dataset.prop)) loadBreakdown(tab.dataset.prop, currentRange(), state.controller?.signal);
      };
      tab.addEventListener('click', () => select(false));
      tab.addEventListener('keydown', (e) => {
        const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
        if (to === undefined) return;
        e.preventDefault();
        tabs[(to + tabs.length) % tabs.length].dispatchEvent(new CustomEvent('select-tab'));
      });
      tab.addEventListener('select-tab', () => select(true));
      tab.setAttribute('aria-selected', i === 0);
      tab.tabIndex = i === 0 ? 0 : -1;
    });
  }
}

const visibleProps = () => [...document.querySelectorAll('#breakdowns [data-property]')]
  .filter((p) => !p.hidden).map((p) => p.dataset.property);

// --- Filters ---------------------------------------------------------------------------------
function addFilter(prop, value) {
  if (String(value).includes(';')) {
    setStatus(`Cannot filter on a value that contains “;”: ${value}`, true);
    return;
  }
  state.filters = state.filters.filter((f) => f.prop !== prop).concat({ prop, op: '==', value });
  renderFilters();
  load().then(() => $('filters').querySelector(`[data-filter="${CSS.escape(`${prop}==${value}`)}"] button`)?.focus());
}

function removeFilter(index) {
  state.filters.splice(index, 1);
  renderFilters();
  load();
  $('site').focus();
}

function renderFilters() {
  const box = $('filters');
  box.hidden = !state.filters.length;
  box.replaceChildren(...state.filters.map((f, i) => {
    const text = `${LABELS[f.prop]} ${f.op === '==' ? 'is' : 'is not'} ${displayValue(f.prop, f.value)}`;
    const remove = h('button', { type: 'button', 'aria-label': `Remove filter: ${text}`, title: 'Remove filter' }, '×');
    remove.addEventListener('click', () => removeFilter(i));
    return h('span', { className: 'chip', dataset: { filter: f.prop + f.op + f.value, testid: 'filter-chip' } },
      h('span', {}, `${LABELS[f.prop]} ${f.op === '==' ? 'is' : 'is not'} `, h('b', {}, displayValue(f.prop, f.value))), remove);
  }));
  if (state.filters.length > 1) {
    const clear = h('button', { type: 'button', className: 'clear' }, 'Clear all');
    clear.addEventListener('click', () => { state.filters = []; renderFilters(); load(); $('site').focus(); });
    box.append(clear);
  }
}

// --- Timeseries chart ------------------------------------------------------------------------
/** A round step for about five gridlines, and the axis maximum (a whole number of steps). */
function niceScale(v) {
  if (v <= 5) return { step: 1, max: 5 };
  const raw = v / 5, p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= raw);
  return { step, max: step * Math.ceil(v / step) };
}

function pointLabel(time, interval) {
  const d = new Date(interval === 'hour' ? time : `${time}T00:00:00Z`);
  if (interval !== 'hour') return dayFmt.format(d);
  const hh = d.toISOString().slice(11, 13);
  return `${dayFmt.format(d)}, ${hh}:00–${hh}:59 UTC`;
}

function axisLabel(time, interval) {
  return interval === 'hour' ? `${time.slice(11, 13)}:00` : shortDay.format(new Date(`${time}T00:00:00Z`));
}

function renderTimeseries(ts) {
  const box = $('timeseries');
  const tooltip = $('tooltip');
  tooltip.hidden = true;
  const pts = ts.points || [];
  box.setAttribute('aria-busy', 'false');
  if (!pts.length) return message(box, 'No data for this period.');
  const interval = ts.interval || (pts[0].time.length > 10 ? 'hour' : 'day');
  // Buckets that have not started yet (later today) are not drawn.
  const now = Date.now();
  const last = Math.max(0, pts.findLastIndex((p) => Date.parse(p.time.length > 10 ? p.time : `${p.time}T00:00:00Z`) <= now));
  const W = 1000, H = 260, L = 46, R = 14, T = 14, B = 30;
  const n = pts.length, pw = W - L - R, ph = H - T - B;
  const { step: yStep, max } = niceScale(Math.max(...pts.map((p) => Math.max(p.views || 0, p.visitors || 0))));
  const x = (i) => L + (n === 1 ? pw / 2 : (i * pw) / (n - 1));
  const y = (v) => T + ph - ((v || 0) * ph) / max;
  const totalVisitors = pts.reduce((s, p) => s + (p.visitors || 0), 0);
  const peak = pts.reduce((a, p) => ((p.visitors || 0) > (a.visitors || 0) ? p : a), pts[0]);
  const svg = svgEl('svg', {
    viewBox: `0 0 ${W} ${H}`, role: 'img', tabindex: 0, 'aria-describedby': 'tooltip ts-help',
    'aria-label': `Visitors and pageviews per ${interval}. Peak: ${nf.format(peak.visitors || 0)} visitors, ${pointLabel(peak.time, interval)}.`,
  });
  for (let v = 0; v <= max; v += yStep) {
    const yy = y(v);
    svg.append(svgEl('line', { x1: L, x2: W - R, y1: yy, y2: yy, class: v ? 'grid' : 'axis' }));
    svg.append(svgEl('text', { x: L - 8, y: yy + 4, 'text-anchor': 'end', class: 'tick' }, compact.format(v)));
  }
  const step = Math.max(1, Math.ceil(n / (interval === 'hour' ? 8 : 10)));
  pts.forEach((p, i) => {
    if (i % step === 0 || (interval === 'day' && i === n - 1 && (n - 1) % step > step / 2)) {
      svg.append(svgEl('text', { x: x(i), y: H - 8, 'text-anchor': 'middle', class: 'tick' }, axisLabel(p.time, interval)));
    }
  });
  const drawn = pts.slice(0, last + 1);
  const line = (key) => drawn.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(p[key]).toFixed(1)}`).join('');
  if (drawn.length) {
    svg.append(svgEl('path', { d: `${line('visitors')}L${x(last).toFixed(1)},${y(0)}L${x(0)},${y(0)}Z`, class: 'area' }));
    svg.append(svgEl('path', { d: line('views'), class: 'line views' }));
    svg.append(svgEl('path', { d: line('visitors'), class: 'line visitors' }));
  }
  const guide = svgEl('g', { class: 'guide', visibility: 'hidden' });
  const vline = svgEl('line', { y1: T, y2: T + ph });
  const dotViews = svgEl('circle', { r: 4.5, class: 'dot views' });
  const dotVisitors = svgEl('circle', { r: 5, class: 'dot visitors' });
  guide.append(vline, dotViews, dotVisitors);
  svg.append(guide, svgEl('rect', { x: L, y: T, width: pw, height: ph, fill: 'transparent' }));
  if (!totalVisitors) {
    svg.append(svgEl('text', { x: L + pw / 2, y: T + ph / 2, 'text-anchor': 'middle', class: 'nodata' }, 'No visitors in this period yet'));
  }

  let current = -1;
  const show = (i) => {
    current = Math.min(n - 1, Math.max(0, i));
    const p = pts[current];
    for (const el of [vline]) { el.setAttribute('x1', x(current)); el.setAttribute('x2', x(current)); }
    dotViews.setAttribute('cx', x(current)); dotViews.setAttribute('cy', y(p.views));
    dotVisitors.setAttribute('cx', x(current)); dotVisitors.setAttribute('cy', y(p.visitors));
    guide.setAttribute('visibility', 'visible');
    const rows = [['Visitors', nf.format(p.visitors || 0), 'visitors'], ['Pageviews', nf.format(p.views || 0), 'views'],
      ['Visits', nf.format(p.visits || 0)], ['Bounce rate', `${nf1.format(p.bounce_rate || 0)}%`],
      ['Visit duration', duration(p.visit_duration)]];
    tooltip.replaceChildren(h('strong', {}, pointLabel(p.time, interval)),
      ...rows.map(([k, v, key]) => h('div', { className: 'row' }, h('span', { className: key ? `key ${key}` : 'key none' }), `${k} `, h('b', {}, v))));
    tooltip.dataset.index = current;
    tooltip.dataset.time = p.time;
    tooltip.hidden = false;
    const bw = box.clientWidth, tw = tooltip.offsetWidth;
    const px = (x(current) / W) * bw;
    tooltip.style.left = `${Math.min(bw - tw, Math.max(0, px + (px > bw / 2 ? -tw - 14 : 14)))}px`;
  };
  const hide = () => { guide.setAttribute('visibility', 'hidden'); tooltip.hidden = true; current = -1; };
  const index = (e) => {
    const rect = svg.getBoundingClientRect();
    const sx = ((e.clientX - rect.left) * W) / rect.width;
    return n === 1 ? 0 : Math.round(((sx - L) * (n - 1)) / pw);
  };
  const drill = (i) => {
    if (interval !== 'day' || i < 0) return;
    Object.assign(state, { period: 'custom', from: pts[i].time, to: pts[i].time });
    syncControls();
    load();
  };
  svg.addEventListener('pointermove', (e) => show(index(e)));
  svg.addEventListener('pointerleave', () => { if (document.activeElement !== svg) hide(); });
  svg.addEventListener('click', (e) => drill(index(e)));
  svg.addEventListener('focus', () => show(current >= 0 ? current : last));
  svg.addEventListener('blur', hide);
  svg.addEventListener('keydown', (e) => {
    const to = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: n - 1 }[e.key];
    if (to !== undefined) { e.preventDefault(); show(to); } else if (e.key === 'Enter') drill(current);
    else if (e.key === 'Escape') hide();
  });
  if (interval === 'day') svg.classList.add('drill');
  // The same numbers as a table, for screen readers.
  const table = h('table', { className: 'sr-only' }, h('caption', {}, `Visitors and pageviews per ${interval}`),
    h('tr', {}, h('th', {}, 'Time'), h('th', {}, 'Visitors'), h('th', {}, 'Pageviews')),
    ...pts.slice(0, last + 1).map((p) => h('tr', {}, h('td', {}, pointLabel(p.time, interval)), h('td', {}, nf.format(p.visitors || 0)), h('td', {}, nf.format(p.views || 0)))));
  const help = h('p', { id: 'ts-help', className: 'sr-only' }, `Use the left and right arrow keys to read each ${interval}${interval === 'day' ? '; Enter shows that day' : ''}.`);
  box.replaceChildren(svg, help, table);
}

async function loadTimeseries(range, signal) {
  $('timeseries').setAttribute('aria-busy', 'true');
  try {
    const interval = range.from === range.to ? 'hour' : 'day';
    renderTimeseries(await api('/stats/timeseries', { ...common(range), interval }, signal));
    return null;
  } catch (e) {
    if (e.name === 'AbortError') return null;
    message($('timeseries'), `Could not load the chart: ${e.message}`, 'empty error');
    return e;
  }
}

// --- Realtime --------------------------------------------------------------------------------
async function loadRealtime() {
  const box = $('realtime');
  try {
    const r = await api('/stats/realtime', { site_id: state.site });
    $('realtime-visitors').textContent = nf.format(r.visitors);
    $('realtime-label').textContent = r.visitors === 1 ? 'current visitor' : 'current visitors';
    box.dataset.visitors = r.visitors;
    box.classList.remove('off');
    box.title = `Visitors in the last ${Math.round((r.window_seconds || 300) / 60)} minutes, refreshed every 10 s`;
  } catch (e) {
    $('realtime-visitors').textContent = '–';
    $('realtime-label').textContent = 'current visitors';
    box.dataset.visitors = '';
    box.classList.add('off');
    box.title = `Realtime count unavailable: ${e.message}`;
  }
}

// --- Loading everything ----------------------------------------------------------------------
async function loadSummary(range, signal) {
  try {
    const [cur, prev] = await Promise.all([fetchStats(range, signal),
      fetchStats(previousRange(range), signal).catch((e) => { if (e.name === 'AbortError') throw e; return null; })]);
    state.total = cur.unique_users;
    renderSummary(cur, prev, range);
    renderTopPages(cur.top_paths);
    $('h-goals').dataset.events = cur.events ?? '';
    $('h-goals').textContent = typeof cur.events === 'number'
      ? `Goals and custom events · ${nf.format(cur.events)}` : 'Goals and custom events';
    $('site').removeAttribute('aria-invalid');
    return { stats: cur };
  } catch (e) {
    if (e.name === 'AbortError') return {};
    for (const [id] of KPIS) { $(id).textContent = '–'; $(id).dataset.value = ''; $(`${id}-change`).textContent = ''; }
    message($('top-pages'), 'No data.', 'empty');
    if (e.field === 'site_id') $('site').setAttribute('aria-invalid', 'true');
    return { error: e };
  }
}

async function load({ quiet = false } = {}) {
  state.controller?.abort();
  const controller = new AbortController();
  state.controller = controller;
  const { signal } = controller;
  const range = currentRange();
  state.loaded.clear();
  writeUrl();
  $('title').textContent = `${state.site} · ${rangeLabel(range)}`;
  document.querySelectorAll('.breakdown').forEach((c) => c.syncCsv());
  if (!quiet) setStatus('Loading…');
  const summary = loadSummary(range, signal);
  const others = Promise.all([loadTimeseries(range, signal), ...visibleProps().map((p) => loadBreakdown(p, range, signal))]);
  const [{ stats, error }, failures] = await Promise.all([summary, others]);
  if (signal.aborted) return;
  if (error) {
    setStatus(`Could not load stats for “${state.site}”: ${error.message}`, true);
    return;
  }
  const live = range.to >= today();
  const parts = [`Updated ${new Date().toLocaleTimeString()}`];
  if (live) parts.push('refreshes every 30 s');
  if (typeof stats.bots_filtered === 'number') parts.push(`${nf.format(stats.bots_filtered)} bot events filtered`);
  if (failures.some(Boolean)) parts.push('some panels could not be loaded');
  setStatus(parts.join(' · '), failures.some(Boolean));
}

function rememberSite(site) {
  try {
    const sites = [site, ...JSON.parse(localStorage.getItem('beacon.sites') || '[]').filter((s) => s !== site)].slice(0, 8);
    localStorage.setItem('beacon.sites', JSON.stringify(sites));
    $('site-list').replaceChildren(...sites.map((s) => h('option', { value: s })));
  } catch { /* storage unavailable: no suggestions */ }
}

function syncControls() {
  const r = currentRange();
  $('site').value = state.site;
  $('period').value = state.period;
  $('from').value = r.from;
  $('to').value = r.to;
  for (const el of document.querySelectorAll('.custom-range')) el.hidden = state.period !== 'custom';
}

function submit() {
  const site = $('site').value.trim();
  if (!$('controls').reportValidity()) return;
  const from = $('from').value, to = $('to').value;
  state.period = $('period').value;
  if (state.period === 'custom') {
    if (!isDay(from) || !isDay(to) || from > to) {
      $('to').setAttribute('aria-invalid', 'true');
      setStatus('Choose a “From” day that is not after the “To” day.', true);
      return;
    }
    $('to').removeAttribute('aria-invalid');
    Object.assign(state, { from, to });
  }
  if (site !== state.site) { state.site = site; loadRealtime(); }
  rememberSite(site);
  syncControls();
  load();
}

readUrl();
syncControls();
setupTabs();
renderFilters();
rememberSite(state.site);
$('from').max = $('to').max = today();
$('controls').addEventListener('submit', (e) => { e.preventDefault(); submit(); });
$('period').addEventListener('change', () => {
  if ($('period').value === 'custom') {
    for (const el of document.querySelectorAll('.custom-range')) el.hidden = false;
    $('from').focus();
  } else submit();
});
for (const id of ['from', 'to']) $(id).addEventListener('change', () => { if (isDay($('from').value) && isDay($('to').value)) submit(); });
setInterval(() => { if (!document.hidden && currentRange().to >= today()) load({ quiet: true }); }, LIVE_REFRESH_MS);
setInterval(() => { if (!document.hidden) loadRealtime(); }, REALTIME_MS);
document.addEventListener('visibilitychange', () => { if (!document.hidden) loadRealtime(); });
loadRealtime();
load();
