// The report API client. URLs are relative to this page, so requests go to the origin (and
// path prefix) the page came from, whatever the host: no host or port is written anywhere.
// The site's key or shared-link token, if this tab has one, goes in `Authorization: Bearer`.
import { tokenFor } from './auth.js';

export class ApiError extends Error {
  constructor(message, status, field) { super(message); this.status = status; this.field = field; }
}

/** `path` (`stats`, `stats/breakdown`, ...) below this page's URL, with `params`. */
export function apiUrl(path, params = {}) {
  const url = new URL(path, document.baseURI);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') url.searchParams.set(k, v);
  return url;
}

function headers(site, accept) {
  const token = tokenFor(site);
  return token ? { Accept: accept, Authorization: `Bearer ${token}` } : { Accept: accept };
}

async function send(path, params, { signal, site = params.site_id, accept = 'application/json' } = {}) {
  try {
    return await fetch(apiUrl(path, params), { signal, headers: headers(site, accept) });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError('the report service cannot be reached', 0);
  }
}

/** GETs JSON; a non-2xx answer is an ApiError with the API's message, status and field. */
export async function api(path, params, options) {
  const r = await send(path, params, options);
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new ApiError(body?.error || `HTTP ${r.status}`, r.status, body?.field);
  if (!body) throw new ApiError('the report service did not answer JSON', r.status);
  return body;
}

/** Saves a CSV answer as `filename`. Fetched, not linked: a link could not send the token. */
export async function download(path, params, filename) {
  const r = await send(path, params, { accept: 'text/csv' });
  if (!r.ok) {
    const body = await r.json().catch(() => null);
    throw new ApiError(body?.error || `HTTP ${r.status}`, r.status, body?.field);
  }
  const url = URL.createObjectURL(await r.blob());
  const link = Object.assign(document.createElement('a'), { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
