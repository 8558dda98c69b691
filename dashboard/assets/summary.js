// The summary cards: one /stats request gives the period's totals, its top pages, and (with
// compare=previous_period) the previous period's totals that each card's change is made of.
import { api } from './api.js';
import { $, h, nf, nf1, duration } from './format.js';
import { comparisonLabel, spanText, today } from './period.js';
import { state, viewParams } from './state.js';

const METRICS = 'visits,bounce_rate,visit_duration,views_per_visit,events,bots_filtered';

/** [element id, /stats field, format, lower is better]. */
const KPIS = [
  ['unique-users', 'unique_users', (v) => nf.format(v)],
  ['total-views', 'total_views', (v) => nf.format(v)],
  ['visits', 'visits', (v) => nf.format(v)],
  ['bounce-rate', 'bounce_rate', (v) => `${nf1.format(v)}%`, true],
  ['visit-duration', 'visit_duration', duration],
  ['views-per-visit', 'views_per_visit', (v) => v.toFixed(2)],
];

export function fetchSummary(range, signal) {
  return api('stats', { ...viewParams(range, true), metrics: METRICS, compare: 'previous_period' }, { signal });
}

function renderChange(change, value, before, format, lowerIsBetter, label, previous, rangeTo) {
  change.className = 'hint change';
  delete change.dataset.change;
  delete change.dataset.percent;
  change.removeAttribute('title');
  if (typeof value !== 'number' || typeof before !== 'number') { change.textContent = ''; return; }
  if (before === 0) { change.textContent = value ? `new ${label}` : ''; return; }
  const pct = Math.round(((value - before) * 100) / before);
  const dir = pct > 0 ? 'up' : pct < 0 ? 'down' : 'flat';
  change.dataset.change = dir;
  change.dataset.percent = pct;
  if (dir !== 'flat') change.classList.add((dir === 'up') !== Boolean(lowerIsBetter) ? 'good' : 'bad');
  const moved = value > before ? 'Up' : value < before ? 'Down' : 'No change';
  // A period that ends today is not over yet, while the one it is compared with is.
  const running = previous.to < today() && rangeTo >= today() ? ', which is whole; this period is still running' : '';
  change.title = `${moved} from ${format(before)} in ${spanText(previous)}${running}`;
  change.replaceChildren(h('span', { className: 'delta' }, `${dir === 'up' ? '▲' : dir === 'down' ? '▼' : '='} ${Math.abs(pct)}%`),
    ` ${label}`);
}

export function renderSummary(stats, range) {
  const previous = stats.comparison;
  const label = comparisonLabel(state.period, range);
  for (const [id, key, format, lowerIsBetter] of KPIS) {
    const value = stats[key];
    const el = $(id);
    el.textContent = typeof value === 'number' ? format(value) : '–';
    el.dataset.value = value ?? '';
    renderChange($(`${id}-change`), value, previous?.[key], format, lowerIsBetter, label, previous, range.to);
  }
  $('h-goals').dataset.events = stats.events ?? '';
  $('h-goals').textContent = typeof stats.events === 'number'
    ? `Goals and custom events · ${nf.format(stats.events)}` : 'Goals and custom events';
}

export function clearSummary() {
  for (const [id] of KPIS) {
    $(id).textContent = '–';
    $(id).dataset.value = '';
    $(`${id}-change`).textContent = '';
  }
}
