// The custom properties card: the keys the period's events carry (`property=props`) in a
// picker, and the chosen key's values (`property=props.<key>`) as bars; clicking a value
// filters the page by it (`props.<key>==value`), like any breakdown row.
import { api } from './api.js';
import { renderBreakdown } from './breakdowns.js';
import { $, h, message } from './format.js';
import { state, viewParams } from './state.js';

/** The key shown, kept across reloads while the period still has it. */
let chosen = '';

export async function loadProps(range, signal) {
  const container = $('bd-props');
  const picker = $('prop-key');
  container.setAttribute('aria-busy', 'true');
  // The key shown last (a reload, another key picked) is asked for with the keys, so both
  // reports share one load of the period's raw events on the server.
  const guess = chosen;
  const guessed = guess ? values(range, guess, signal) : null;
  guessed?.catch(() => {}); // awaited below unless the key is gone; its error is handled there
  try {
    const [keys, total] = await Promise.all([
      api('stats/breakdown', { ...viewParams(range), property: 'props', limit: 100 }, { signal }), state.total]);
    const names = (keys.results || []).map((r) => r.value).sort();
    picker.replaceChildren(...names.map((k) => h('option', { value: k }, k)));
    picker.disabled = !names.length;
    if (!names.length) {
      container.setAttribute('aria-busy', 'false');
      return message(container, "No custom properties in this period. Send them with beacon('event', 'signup', { plan: 'pro' }).");
    }
    if (!names.includes(chosen)) [chosen] = names;
    picker.value = chosen;
    const body = await (chosen === guess ? guessed : values(range, chosen, signal));
    renderBreakdown(container, `props.${chosen}`, body.results || [], total);
    return null;
  } catch (e) {
    if (e.name === 'AbortError') return null;
    message(container, `Could not load custom properties: ${e.message}`, 'empty error');
    return e;
  }
}

/** One key's values, the first 10. */
function values(range, key, signal) {
  return api('stats/breakdown', { ...viewParams(range), property: `props.${key}`, limit: 10 }, { signal });
}

/** Another key picked: `reload` draws it. */
export function setupProps(reload) {
  $('prop-key').addEventListener('change', () => { chosen = $('prop-key').value; reload(); });
}
