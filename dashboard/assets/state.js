// What the page shows (site, period, filters) and its mirror in the address bar, so a view can
// be bookmarked, shared and reloaded. The bar never holds a key: those live in auth.js.
import { LABELS } from './format.js';
import { PRESETS, isDay } from './period.js';

export const state = {
  site: '', period: 'today', from: '', to: '', filters: [],
  /** The requests of the current load, aborted when another starts. */
  controller: null,
  /** The breakdown tabs loaded for the current view. */
  loaded: new Set(),
  /** The period's unique visitors (a promise: the summary may answer after a breakdown). */
  total: Promise.resolve(0),
};

export const filterParam = () => state.filters.map((f) => f.prop + f.op + f.value).join(';');

export function writeUrl() {
  const p = new URLSearchParams({ site: state.site, period: state.period });
  if (state.period === 'custom') { p.set('from', state.from); p.set('to', state.to); }
  if (state.filters.length) p.set('filters', filterParam());
  history.replaceState(null, '', `?${p}`);
}

export function readUrl() {
  const q = new URLSearchParams(location.search);
  state.site = q.get('site') || '';
  state.period = q.get('period') in PRESETS ? q.get('period') : 'today';
  if (isDay(q.get('date'))) Object.assign(state, { period: 'custom', from: q.get('date'), to: q.get('date') });
  if (q.get('period') === 'custom' && isDay(q.get('from')) && isDay(q.get('to'))) {
    Object.assign(state, { period: 'custom', from: q.get('from'), to: q.get('to') });
  }
  state.filters = (q.get('filters') || '').split(';').map((s) => /^([a-z_]+|props\.[^=!~;]+?)(==|!=|!~=|~=)(.*)$/s.exec(s))
    .filter((m) => m && (m[1] in LABELS || m[1].startsWith('props.'))).map((m) => ({ prop: m[1], op: m[2], value: m[3] }));
}

/** The parameters every report shares: the site, the range (one day as `date` when `single`),
 *  and the filters. */
export function viewParams(range, single = false) {
  const p = { site_id: state.site, filters: filterParam() };
  if (single && range.from === range.to) p.date = range.from;
  else Object.assign(p, { from: range.from, to: range.to });
  return p;
}
