// Keys and shared-link tokens for private sites, one per site, kept in sessionStorage (this tab
// only, gone when it closes) and sent only as `Authorization: Bearer` to this origin (api.js):
// never in a URL, so they reach no access log, history entry or Referer.
//
// A shared link (`beacon-admin link add`) carries its token in the URL's fragment, `#auth=...`,
// which browsers never send to a server; takeSharedToken() moves it into storage and strips it
// from the address bar before anything else runs.
const STORE = 'beacon.auth';
/** Where tokens live when the browser refuses sessionStorage: this page only. */
let memory = null;

function all() {
  if (memory) return memory;
  try {
    return JSON.parse(sessionStorage.getItem(STORE) || '{}') || {};
  } catch {
    return {};
  }
}

function save(tokens) {
  try {
    sessionStorage.setItem(STORE, JSON.stringify(tokens));
  } catch {
    memory = tokens;
  }
}

export const tokenFor = (site) => (site && all()[site]) || null;

/** Shared-link tokens start with `bs_`, API keys with `bk_`. */
export const isSharedLink = (token) => typeof token === 'string' && token.startsWith('bs_');

export function remember(site, token) {
  save({ ...all(), [site]: token });
}

export function forget(site) {
  const tokens = all();
  delete tokens[site];
  save(tokens);
}

/** Moves `#auth=<token>` into storage for the `?site=` of the address, and removes it there. */
export function takeSharedToken() {
  if (!location.hash) return;
  const token = new URLSearchParams(location.hash.slice(1)).get('auth');
  if (token === null) return;
  const site = new URLSearchParams(location.search).get('site');
  if (site && token.trim()) remember(site, token.trim());
  history.replaceState(null, '', location.pathname + location.search);
}
