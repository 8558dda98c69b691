// The breakdown panels (pages, sources, devices, countries, goals): one /stats/breakdown request
// per visible tab, rows drawn as bars; clicking a row filters the whole page by its value.
import { api, apiUrl, download } from './api.js';
import { LABELS, $, compact, displayValue, duration, h, labelOf, message, nf, nf1, regions, svgEl } from './format.js';
import { addFilter } from './filters.js';
import { rangeOf } from './period.js';
import { state, viewParams } from './state.js';

/** Columns per breakdown property: [result key, heading]; the first one sizes the bars. */
const COLUMNS = {
  path: [['views', 'Views']],
  device: [['visitors', 'Visitors'], ['percent', '%']],
  browser: [['visitors', 'Visitors'], ['percent', '%']],
  os: [['visitors', 'Visitors'], ['percent', '%']],
  event_type: [['visitors', 'Uniques'], ['events', 'Total'], ['conversion_rate', 'CR']],
};

function cell(key, row, total) {
  const v = row[key];
  if (key === 'percent') return total ? `${Math.round((row.visitors * 100) / total)}%` : '';
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

function label(prop, row, shown) {
  const node = h('span', { className: 'bd-label' });
  if (prop === 'country' && /^[A-Z]{2}$/.test(row.value)) {
    let name = row.value;
    try { name = regions?.of(row.value) || row.value; } catch { /* unknown code */ }
    node.append(h('span', { className: 'cc' }, row.value), ` ${name}`);
  } else node.textContent = shown;
  return node;
}

function bar(prop, row, barKey, max) {
  const svg = svgEl('svg', { class: 'bd-bar', viewBox: '0 0 100 10', preserveAspectRatio: 'none', 'aria-hidden': 'true', focusable: 'false' });
  const g = svgEl('g', { 'data-value': row.value, 'data-visitors': row.visitors ?? '', 'data-views': row.views ?? '' });
  if (prop === 'path') g.setAttribute('data-path', row.value);
  g.append(svgEl('rect', { x: 0, y: 0, height: 10, width: Math.max(0.5, ((row[barKey] || 0) * 100) / max).toFixed(2) }));
  svg.append(g);
  return svg;
}

/** Draws `rows` of `prop`; `total` (the period's visitors) makes the `%` column. */
export function renderBreakdown(container, prop, rows, total) {
  const columns = COLUMNS[prop] || (prop.startsWith('props.') ? COLUMNS.event_type : [['visitors', 'Visitors']]);
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
    h('span', {}, labelOf(prop)), ...columns.map(([, heading]) => h('span', { className: 'bd-num' }, heading)));
  const list = h('ul', { className: 'bd-list', 'aria-label': `${labelOf(prop)} breakdown` });
  for (const row of rows) {
    const shown = displayValue(prop, row.value);
    const details = rowDetails(prop, row);
    const button = h('button', {
      type: 'button', className: 'bd-item', title: `${shown}: ${details}`,
      'aria-label': `${shown}: ${details}. Add filter ${labelOf(prop)} is ${shown}`,
      dataset: { prop, value: row.value },
    }, bar(prop, row, barKey, max), label(prop, row, shown));
    button.addEventListener('click', () => addFilter(prop, row.value));
    list.append(h('li', { className: 'bd-row', dataset: { value: row.value } }, button,
      ...columns.map(([key]) => h('span', { className: 'bd-num', dataset: { key } }, cell(key, row, total)))));
  }
  container.replaceChildren(head, list);
  return undefined;
}

/** Top pages come with /stats (`top_paths`), not from a breakdown request. */
export function renderTopPages(topPaths, total) {
  const rows = (topPaths || []).map((p) => ({ value: p.path, views: p.views }));
  renderBreakdown($('top-pages'), 'path', rows, total);
}

/** Loads and draws one tab; the rows wait for `state.total` so `%` is never drawn blank.
 *  Returns the error it showed, if any. */
export async function loadBreakdown(prop, range, signal) {
  if (prop === 'path') return null;
  const container = document.querySelector(`[role][data-property="${prop}"]`);
  container.setAttribute('aria-busy', 'true');
  try {
    // One more goal than shown: `page_view` is among the event types and is left out.
    const limit = prop === 'event_type' ? 11 : 10;
    const [body, total] = await Promise.all([
      api('stats/breakdown', { ...viewParams(range), property: prop, limit }, { signal }), state.total]);
    let rows = body.results || [];
    if (prop === 'event_type') rows = rows.filter((r) => r.value !== 'page_view').slice(0, 10);
    renderBreakdown(container, prop, rows, total);
    state.loaded.add(prop);
    return null;
  } catch (e) {
    if (e.name === 'AbortError') return null;
    message(container, `Could not load this breakdown: ${e.message}`, 'empty error');
    return e;
  }
}

export const visibleProps = () => [...document.querySelectorAll('#breakdowns [data-property]')]
  .filter((p) => !p.hidden).map((p) => p.dataset.property);

function csvParams(prop) {
  return { ...viewParams(rangeOf(state)), property: prop, limit: 1000, format: 'csv' };
}

/** Tabs with arrow-key navigation, and each card's CSV link following its active tab. */
export function setupTabs() {
  for (const card of document.querySelectorAll('.breakdown')) {
    if (!card.querySelector('[data-csv]')) continue; // the custom properties card (props.js)
    const tabs = [...card.querySelectorAll('[role=tab]')];
    const csv = card.querySelector('[data-csv]');
    const panelProp = card.querySelector('[data-property]').dataset.property;
    const activeProp = () => tabs.find((t) => t.getAttribute('aria-selected') === 'true')?.dataset.prop || panelProp;
    const sync = () => {
      const prop = activeProp();
      csv.href = apiUrl('stats/breakdown', csvParams(prop)).href;
      csv.setAttribute('aria-label', `Download the ${LABELS[prop].toLowerCase()} breakdown as CSV`);
    };
    card.syncCsv = sync;
    csv.addEventListener('click', (e) => {
      e.preventDefault();
      const params = csvParams(activeProp());
      download('stats/breakdown', params, `${params.site_id}-${params.property}-${params.from || params.date}-${params.to || params.date}.csv`)
        .catch((err) => { csv.title = `Could not download: ${err.message}`; });
    });
    tabs.forEach((tab, i) => setupTab(card, tabs, tab, i, sync));
  }
}

function setupTab(card, tabs, tab, i, sync) {
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
    if (!state.loaded.has(tab.dataset.prop)) loadBreakdown(tab.dataset.prop, rangeOf(state), state.controller?.signal);
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
}
