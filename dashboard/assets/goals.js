// The registered goals' conversions (GET /stats/goals) and a funnel (GET /stats/funnel), each
// in its own card, shown only for a site that has some (`beacon-admin goal add`, `funnel add`).
import { api } from './api.js';
import { $, compact, h, message, nf, nf1 } from './format.js';
import { registeredSites } from './sites.js';
import { state, viewParams } from './state.js';

/** The funnel shown, kept across reloads while the site still has it. */
let chosenFunnel = '';

export async function loadGoals(range, signal) {
  const card = $('goals-card');
  try {
    const body = await api('stats/goals', viewParams(range), { signal });
    const goals = body.goals || [];
    card.hidden = !goals.length;
    const head = h('div', { className: 'bd-row bd-head', 'aria-hidden': 'true' }, h('span', {}, 'Goal'),
      ...['Uniques', 'Total', 'CR'].map((t) => h('span', { className: 'bd-num' }, t)));
    const list = h('ul', { className: 'bd-list', 'aria-label': 'Goal conversions' }, ...goals.map((g) =>
      h('li', { className: 'bd-row', dataset: { goal: g.name } }, h('span', { className: 'bd-label' }, g.name),
        h('span', { className: 'bd-num', dataset: { key: 'visitors' } }, compact.format(g.visitors)),
        h('span', { className: 'bd-num', dataset: { key: 'events' } }, compact.format(g.events)),
        h('span', { className: 'bd-num', dataset: { key: 'conversion_rate' } }, `${nf1.format(g.conversion_rate)}%`))));
    $('goals-list').replaceChildren(head, list);
    return null;
  } catch (e) {
    if (e.name === 'AbortError') return null;
    message($('goals-list'), `Could not load goals: ${e.message}`, 'empty error');
    return e;
  }
}

export async function loadFunnel(range, signal) {
  const card = $('funnel-card');
  const site = (await registeredSites(state.site)).find((s) => s.site_id === state.site);
  const names = site?.funnels || [];
  card.hidden = !names.length;
  if (!names.length) return null;
  if (!names.includes(chosenFunnel)) [chosenFunnel] = names;
  $('funnel-name').replaceChildren(...names.map((n) => h('option', { value: n }, n)));
  $('funnel-name').value = chosenFunnel;
  try {
    const body = await api('stats/funnel', { ...viewParams(range), funnel: chosenFunnel }, { signal });
    renderFunnel(body);
    return null;
  } catch (e) {
    if (e.name === 'AbortError') return null;
    message($('funnel-steps'), `Could not load the funnel: ${e.message}`, 'empty error');
    return e;
  }
}

function renderFunnel(body) {
  const first = Math.max(1, body.steps[0]?.visitors || 0);
  const items = body.steps.map((s, i) => h('li', { className: 'funnel-step', dataset: { step: i + 1, visitors: s.visitors } },
    h('div', { className: 'funnel-label' }, h('b', {}, `${i + 1}. ${s.name}`),
      h('span', {}, `${nf.format(s.visitors)} visitors · ${nf1.format(s.conversion_rate)}%`
        + (i ? ` · ${nf.format(s.dropoff)} dropped off (${nf1.format(100 - s.conversion_rate_step)}%)` : ''))),
    h('div', { className: 'funnel-bar', style: `width: ${Math.max(0.5, (s.visitors * 100) / first).toFixed(1)}%` })));
  $('funnel-steps').replaceChildren(
    h('p', { className: 'funnel-total', dataset: { testid: 'funnel-conversion' } }, `${nf1.format(body.conversion_rate)}% converted`),
    h('ol', { className: 'funnel', 'aria-label': `Funnel ${body.funnel}` }, ...items));
  $('funnel-steps').setAttribute('aria-busy', 'false');
}

/** Another funnel picked: `reload` draws it. */
export function setupFunnel(reload) {
  $('funnel-name').addEventListener('change', () => { chosenFunnel = $('funnel-name').value; reload(); });
}
