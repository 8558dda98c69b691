// The site picker's suggestions and the "don't count my visits" links.
//
// Suggestions: the registered sites this tab may read (GET /sites: the public ones, and the
// private one the current site's key opens), then the ids typed here before (localStorage),
// and any other id can be typed: an unregistered site's reports are open.
//
// The tracker's self-exclusion flag lives in the tracked site's own localStorage, which a
// dashboard on another origin cannot set. So instead of a switch the page links to the site
// itself with `#beacon-ignore=on` (tracker-wasm/README.md, "Not counting yourself"), for a
// registered site whose domains are known; the demo shop keeps a switch on its own pages.
import { api } from './api.js';
import { $, h } from './format.js';

const REMEMBERED = 'beacon.sites';

function remembered() {
  try {
    return JSON.parse(localStorage.getItem(REMEMBERED) || '[]');
  } catch {
    return [];
  }
}

/** Puts `site` first among the remembered ids (at most 8). */
export function rememberSite(site) {
  try {
    const sites = [site, ...remembered().filter((s) => s !== site)].slice(0, 8);
    localStorage.setItem(REMEMBERED, JSON.stringify(sites));
  } catch { /* storage unavailable: no suggestions from this browser */ }
}

/** The registered sites readable here (GET /sites), with `current`'s token; [] if unreachable. */
export async function registeredSites(current) {
  try {
    return (await api('sites', {}, { site: current })).sites || [];
  } catch {
    return [];
  }
}

/** The site to show when the address names none: the first registered, else the last typed. */
export function defaultSite(registered) {
  return registered[0]?.site_id || remembered()[0] || '';
}

export function fillPicker(registered) {
  const ids = [...registered.map((s) => s.site_id), ...remembered()];
  $('site-list').replaceChildren(...[...new Set(ids)].map((id) => h('option', { value: id })));
}

/** The footer's links to `site` on each of its domains, or nothing when none is known. */
export function renderSelfExclusion(site, registered) {
  const foot = $('self-exclusion');
  const domains = registered.find((s) => s.site_id === site)?.domains || [];
  foot.hidden = !domains.length;
  if (!domains.length) return foot.replaceChildren();
  const links = domains.flatMap((d, i) => [i ? ' or ' : '', h('a', {
    href: `https://${d}/#beacon-ignore=on`, target: '_blank', rel: 'noopener', dataset: { domain: d },
  }, `${d}/#beacon-ignore=on`)]);
  foot.replaceChildren(`Don't count your own visits to ${site}: open `, ...links,
    ' once in each browser you use; ', h('code', {}, '#beacon-ignore=off'), ' counts them again.');
  return undefined;
}
