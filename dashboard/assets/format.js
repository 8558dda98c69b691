// Formatting and DOM helpers shared by the panels: numbers, durations, property labels, and
// two element builders (HTML and SVG), so no panel writes markup as text.
export const $ = (id) => document.getElementById(id);

export const nf = new Intl.NumberFormat('en');
export const nf1 = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });
export const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });
export const dayFmt = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' });
export const shortDay = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short' });
export const longDay = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' });
export const regions = typeof Intl.DisplayNames === 'function' ? new Intl.DisplayNames(['en'], { type: 'region' }) : null;

/** The report API's properties (docs/openapi.json), as the page names them. */
export const LABELS = {
  path: 'Page', entry_page: 'Entry page', exit_page: 'Exit page', source: 'Source',
  referrer: 'Referrer', channel: 'Channel', utm_source: 'UTM source', utm_medium: 'UTM medium',
  utm_campaign: 'UTM campaign', utm_content: 'UTM content', utm_term: 'UTM term',
  browser: 'Browser', os: 'OS', device: 'Device', country: 'Country', event_type: 'Event',
};

/** A property's label: its name on the page, or a custom property's key. */
export const labelOf = (prop) => LABELS[prop] ?? (prop.startsWith('props.') ? prop.slice(6) : prop);

export function duration(seconds) {
  const s = Math.round(seconds || 0);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export function displayValue(prop, value) {
  if (value === '' || value == null) return '(none)';
  if (prop === 'referrer') return value.replace(/^https?:\/\/(www\.)?/, '');
  // Enrichment names device classes in lower case (`desktop`), as filters must spell them.
  if (prop === 'device') return value.charAt(0).toUpperCase() + value.slice(1);
  return value;
}

const SVG = 'http://www.w3.org/2000/svg';

export function svgEl(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k in node && k !== 'list') node[k] = v;
    else node.setAttribute(k, v);
  }
  node.append(...children.filter((c) => c != null));
  return node;
}

/** Replaces a panel's content with one line of text (`empty`, or `empty error`). */
export function message(container, text, kind = 'empty') {
  container.replaceChildren(h('div', { className: kind, textContent: text }));
  container.setAttribute('aria-busy', 'false');
}
