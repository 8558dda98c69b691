// The filter chips: a clicked breakdown row becomes `prop==value`, which every request of the
// page then carries (`filters=`); a chip's × removes it.
import { LABELS, $, displayValue, h } from './format.js';
import { state } from './state.js';

/** What to run when the filters change (main.js's load). */
let changed = async () => {};

export function onFiltersChange(callback) { changed = callback; }

export function addFilter(prop, value) {
  if (String(value).includes(';')) {
    $('status').textContent = `Cannot filter on a value that contains “;”: ${value}`;
    $('status').className = 'status error';
    return;
  }
  state.filters = state.filters.filter((f) => f.prop !== prop).concat({ prop, op: '==', value });
  renderFilters();
  changed().then(() => $('filters').querySelector(`[data-filter="${CSS.escape(`${prop}==${value}`)}"] button`)?.focus());
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
    const text = `${LABELS[f.prop]} ${f.op === '==' ? 'is' : 'is not'} ${displayValue(f.prop, f.value)}`;
    const remove = h('button', { type: 'button', 'aria-label': `Remove filter: ${text}`, title: 'Remove filter' }, '×');
    remove.addEventListener('click', () => removeFilter(i));
    return h('span', { className: 'chip', dataset: { filter: f.prop + f.op + f.value, testid: 'filter-chip' } },
      h('span', {}, `${LABELS[f.prop]} ${f.op === '==' ? 'is' : 'is not'} `, h('b', {}, displayValue(f.prop, f.value))), remove);
  }));
  if (state.filters.length > 1) {
    const clear = h('button', { type: 'button', className: 'clear' }, 'Clear all');
    clear.addEventListener('click', () => { state.filters = []; renderFilters(); changed(); $('site').focus(); });
    box.append(clear);
  }
}
