// The filters every request of the page carries (`filters=`): a clicked breakdown row becomes
// `prop==value` (escaped, so a `|` or `*` in it stays literal); the form adds any operator with
// alternatives (`|`) and path wildcards as typed; a chip's × removes one.
import { LABELS, $, displayValue, h, labelOf } from './format.js';
import { state } from './state.js';

/** What to run when the filters change (main.js's load). */
let changed = async () => {};

export function onFiltersChange(callback) { changed = callback; }

/** How the page says each operator. */
const OPS = { '==': 'is', '!=': 'is not', '~=': 'contains', '!~=': 'does not contain' };

/** `value` as a filter that means exactly it: `\`, `|` and `*` escaped. */
const literal = (value) => String(value).replace(/[\\|*]/g, '\\$&');

/** A clicked row: this property is exactly this value (replacing a filter on it). */
export function addFilter(prop, value) {
  add(prop, '==', literal(value), true);
}

function add(prop, op, value, replace) {
  if (value.includes(';')) {
    $('status').textContent = `Cannot filter on a value that contains “;”: ${value}`;
    $('status').className = 'status error';
    return;
  }
  const kept = replace ? state.filters.filter((f) => f.prop !== prop) : state.filters;
  state.filters = kept.concat({ prop, op, value });
  renderFilters();
  changed().then(() => $('filters').querySelector(`[data-filter="${CSS.escape(prop + op + value)}"] button`)?.focus());
}

/** The form: its property list, and a submitted filter added as typed. */
export function setUpFilterForm() {
  $('filter-prop').replaceChildren(...Object.entries(LABELS).map(([prop, label]) => h('option', { value: prop }, label)));
  $('filter-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = $('filter-value').value;
    if (!value) return;
    add($('filter-prop').value, $('filter-op').value, value, false);
    $('filter-value').value = '';
  });
}

/** A filter's value as the chip shows it: alternatives joined by "or", escapes undone. */
function shown(f) {
  const parts = f.value.split(/(?<!\\)\|/).map((v) => v.replace(/\\(.)/g, '$1'));
  return parts.map((v) => displayValue(f.prop, v)).join(' or ');
}

function removeFilter(index) {
  state.filters.splice(index, 1);
  renderFilters();
  changed();
  $('site').focus();
}

export function renderFilters() {
  const box = $('filters');
  box.hidden = !state.filters.length;
  box.replaceChildren(...state.filters.map((f, i) => {
    const text = `${labelOf(f.prop)} ${OPS[f.op]} ${shown(f)}`;
    const remove = h('button', { type: 'button', 'aria-label': `Remove filter: ${text}`, title: 'Remove filter' }, '×');
    remove.addEventListener('click', () => removeFilter(i));
    return h('span', { className: 'chip', dataset: { filter: f.prop + f.op + f.value, testid: 'filter-chip' } },
      h('span', {}, `${labelOf(f.prop)} ${OPS[f.op]} `, h('b', {}, shown(f))), remove);
  }));
  if (state.filters.length > 1) {
    const clear = h('button', { type: 'button', className: 'clear' }, 'Clear all');
    clear.addEventListener('click', () => { state.filters = []; renderFilters(); changed(); $('site').focus(); });
    box.append(clear);
  }
}
