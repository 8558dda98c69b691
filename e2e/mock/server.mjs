#!/usr/bin/env node
// A mock of the report API that serves the stats page (dashboard/) like report_service does, for
// developing and screenshotting the page without the real services. Plain node:http, no
// dependencies.
//
//   node e2e/mock/server.mjs                     # http://127.0.0.1:8090/
//   PORT=9000 DASHBOARD_DIR=dashboard node e2e/mock/server.mjs
//
// Environment: PORT (8090), BIND_HOST (127.0.0.1), DASHBOARD_DIR (dashboard/ next to this
// repo's e2e/), LATENCY_MS (0: delay added to every API answer).
//
// As report_service: `/` is index.html, `/assets/*` the page's files, the API beside them. The
// API answers follow docs/openapi.json (also served, at /openapi.json) with deterministic data:
// the same site, range and filters always give the same numbers, except that today only counts
// up to the current hour. Special site ids: `empty-site` has no data at all, `down-site`
// answers 503 like a report service whose store is unreachable, and `private-site` answers 401
// unless the request carries `Authorization: Bearer bk_mock` (or the shared link's `bs_mock`).
import http from 'node:http';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(process.env.DASHBOARD_DIR || path.join(here, '../../dashboard'));
const OPENAPI = path.join(here, '../../docs/openapi.json');
const PORT = Number(process.env.PORT || 8090);
const HOST = process.env.BIND_HOST || '127.0.0.1';
const LATENCY = Number(process.env.LATENCY_MS || 0);
const PRIVATE_TOKENS = ['Bearer bk_mock', 'Bearer bs_mock'];

// ---------------------------------------------------------------------------------------------
// Deterministic pseudo-random numbers.
function hash(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 15; h = Math.imul(h, 0x2c1b3c6d); h ^= h >>> 12;
  return h >>> 0;
}
const rand = (...parts) => hash(parts.join('|')) / 0x100000000; // [0, 1)

// ---------------------------------------------------------------------------------------------
// The shape of the fake traffic.
const DIMENSIONS = {
  path: [['/', 30], ['/product', 22], ['/about', 9], ['/app/', 8], ['/app/orders', 6],
    ['/blog/long-weekend-packing-list', 6], ['/cart', 5], ['/checkout', 4], ['/app/settings', 3],
    ['/blog/repairing-a-down-jacket', 3], ['/contact', 2], ['/pricing', 2]],
  entry_page: [['/', 46], ['/product', 20], ['/blog/long-weekend-packing-list', 12], ['/about', 7],
    ['/blog/repairing-a-down-jacket', 6], ['/app/', 5], ['/pricing', 4]],
  exit_page: [['/product', 28], ['/', 22], ['/checkout', 14], ['/about', 10], ['/cart', 9],
    ['/app/orders', 8], ['/contact', 5], ['/app/settings', 4]],
  source: [['Direct / None', 38], ['Google', 24], ['DuckDuckGo', 9], ['Hacker News', 8],
    ['Newsletter', 6], ['Mastodon', 5], ['Reddit', 4], ['Bing', 3], ['GitHub', 2], ['Ecosia', 1]],
  referrer: [['https://www.google.com/', 24], ['https://duckduckgo.com/', 9],
    ['https://news.ycombinator.com/', 8], ['https://fosstodon.org/@beacon', 5],
    ['https://www.reddit.com/r/CampingGear/', 4], ['https://www.bing.com/', 3],
    ['https://github.com/beacon/beacon', 2], ['https://www.ecosia.org/', 1]],
  utm_source: [['newsletter', 6], ['mastodon', 4], ['hn', 2], ['partner-blog', 1]],
  utm_medium: [['email', 6], ['social', 5], ['referral', 2]],
  utm_campaign: [['winter_gear', 5], ['launch_week', 4], ['repair_month', 2], ['black_friday', 1]],
  utm_content: [['header_banner', 4], ['footer_link', 2]],
  utm_term: [['down jacket', 3], ['trail tent', 2]],
  browser: [['Chrome', 48], ['Safari', 22], ['Firefox', 14], ['Edge', 8], ['Samsung Internet', 4],
    ['Opera', 2]],
  os: [['Windows', 30], ['iOS', 20], ['macOS', 18], ['Android', 18], ['Linux', 9], ['ChromeOS', 2]],
  device: [['Desktop', 58], ['Mobile', 36], ['Tablet', 6]],
  country: [['US', 26], ['DE', 16], ['GB', 11], ['FR', 8], ['NL', 6], ['CA', 5], ['SE', 4],
    ['JP', 3], ['ES', 3], ['PL', 2], ['BR', 2], ['IN', 2], ['AU', 2]],
  // event_type weights are conversion rates (percent of visitors that sent that event).
  event_type: [['page_view', 100], ['add_to_cart', 14], ['newsletter_signup', 6], ['checkout', 4],
    ['outbound_click', 9], ['signup', 3]],
};
const PROPERTIES = Object.keys(DIMENSIONS);
/** Share of visitors that have a value at all (not everyone comes with a referrer or UTM tags). */
const COVERAGE = { referrer: 0.56, utm_source: 0.13, utm_medium: 0.13, utm_campaign: 0.12,
  utm_content: 0.06, utm_term: 0.05 };
const SESSION_PROPS = new Set(['entry_page', 'exit_page', 'source', 'referrer', 'utm_source',
  'utm_medium', 'utm_campaign', 'utm_content', 'utm_term', 'browser', 'os', 'device', 'country']);
const METRICS = ['visits', 'bounce_rate', 'visit_duration', 'views_per_visit', 'events',
  'bots_filtered'];
const HOUR_CURVE = [2, 1.5, 1, 1, 1, 1.5, 3, 5, 7, 8, 8.5, 9, 9, 8.5, 8, 8, 8, 8.5, 9, 9.5, 9, 7, 5,
  3];

/** Share (0..1] of the traffic that one filter keeps. */
function filterShare({ prop, op, value }) {
  const list = DIMENSIONS[prop];
  const total = prop === 'event_type' ? 100 : list.reduce((s, [, w]) => s + w, 0);
  const hit = list.find(([v]) => v === value);
  const share = hit ? (hit[1] / total) * (COVERAGE[prop] ?? 1) : 0;
  return op === '==' ? share : 1 - share;
}

/** Visitors (and the rest) of one UTC hour. `siteBase` ~ visitors per day. */
function hourTraffic(site, day, hour, share, now) {
  const start = Date.parse(`${day}T00:00:00Z`) + hour * 3600e3;
  if (site === 'empty-site' || start > now) return null;
  const weekday = new Date(start).getUTCDay();
  const base = 150 + (hash(site) % 900);
  const season = (weekday === 0 || weekday === 6 ? 0.7 : 1) * (1 + 0.25 * Math.sin(start / 86400e3 / 9));
  const noise = 0.75 + 0.5 * rand(site, day, hour);
  const visitors = Math.round((base * season * noise * HOUR_CURVE[hour]) / 130 * share);
  const r = rand(site, day, hour, 'r');
  const visits = Math.round(visitors * (1.05 + 0.15 * r));
  return {
    visitors,
    visits,
    views: Math.round(visits * (1.6 + 1.1 * rand(site, day, hour, 'v'))),
    bounces: Math.round(visits * (0.32 + 0.25 * r)),
    duration: visits * (70 + 150 * rand(site, day, hour, 'd')),
  };
}

const DAY_MS = 86400e3;
const dayOf = (ms) => new Date(ms).toISOString().slice(0, 10);
function daysOf(from, to) {
  const out = [];
  for (let t = Date.parse(from); t <= Date.parse(to); t += DAY_MS) out.push(dayOf(t));
  return out;
}

/** Sums the hours in [from, to] (optionally one day only); unique visitors ≈ overlap-adjusted. */
function aggregate(site, days, share, now, hours = null) {
  const sum = { visitors: 0, visits: 0, views: 0, bounces: 0, duration: 0 };
  let buckets = 0;
  for (const day of days) {
    for (let h = 0; h < 24; h++) {
      if (hours && !hours.includes(h)) continue;
      const t = hourTraffic(site, day, h, share, now);
      if (!t) continue;
      buckets++;
      for (const k of Object.keys(sum)) sum[k] += t[k];
    }
  }
  // The same people come back: unique visitors over a range are fewer than the sum per hour.
  const overlap = buckets <= 1 ? 1 : 1 / (1 + 0.05 * Math.log(buckets));
  return { ...sum, visitors: Math.round(sum.visitors * overlap) };
}

const round1 = (x) => Math.round(x * 10) / 10;
const round2 = (x) => Math.round(x * 100) / 100;
const bounceRate = (a) => (a.visits ? round1((a.bounces * 100) / a.visits) : 0);
const avgDuration = (a) => (a.visits ? Math.round(a.duration / a.visits) : 0);

// ---------------------------------------------------------------------------------------------
// Query parameters, refused the way report_service refuses them.
class BadRequest extends Error {
  constructor(message, field) { super(message); this.field = field; }
}
const SITE_RE = /^[A-Za-z0-9._:-]{1,128}$/;
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

function parseDay(value, field) {
  if (!DAY_RE.test(value) || dayOf(Date.parse(`${value}T00:00:00Z`) || 0) !== value) {
    throw new BadRequest(`\`${field}\` must be a date formatted YYYY-MM-DD`, field);
  }
  return value;
}

function parseQuery(url, allowed) {
  const q = {};
  for (const [name, value] of url.searchParams) {
    if (!allowed.includes(name)) {
      throw new BadRequest(`unknown query parameter \`${name.slice(0, 64)}\`; ${url.pathname} accepts ${allowed.join(', ')}`);
    }
    if (name in q) throw new BadRequest(`\`${name}\` is given more than once`, name);
    q[name] = value;
  }
  if (!q.site_id) throw new BadRequest('`site_id` is required', 'site_id');
  if (!SITE_RE.test(q.site_id)) {
    throw new BadRequest('`site_id` may only contain letters, digits and . _ : - (1-128 characters)', 'site_id');
  }
  return q;
}

function parseRange(q, now) {
  const today = dayOf(now);
  if (q.date !== undefined && (q.from !== undefined || q.to !== undefined)) {
    throw new BadRequest('give either `date` or `from` and `to`, not both', 'date');
  }
  if (q.date !== undefined) {
    const d = parseDay(q.date, 'date');
    return { from: d, to: d };
  }
  if ((q.from === undefined) !== (q.to === undefined)) {
    const missing = q.from === undefined ? 'from' : 'to';
    throw new BadRequest(`\`${missing}\` is required when \`${missing === 'from' ? 'to' : 'from'}\` is given`, missing);
  }
  if (q.from === undefined) return { from: today, to: today };
  const from = parseDay(q.from, 'from');
  const to = parseDay(q.to, 'to');
  if (from > to) throw new BadRequest('`from` must not be after `to`', 'from');
  if (daysOf(from, to).length > 3660) throw new BadRequest('the range is longer than 10 years', 'from');
  return { from, to };
}

function parseFilters(text) {
  if (text === undefined || text === '') return [];
  return text.split(';').map((part) => {
    const m = /^([a-z_]+)(==|!=)(.*)$/s.exec(part);
    if (!m) throw new BadRequest(`\`filters\` has an invalid filter \`${part.slice(0, 64)}\`; use prop==value or prop!=value`, 'filters');
    if (!PROPERTIES.includes(m[1])) {
      throw new BadRequest(`\`filters\` has an unknown property \`${m[1]}\`; one of ${PROPERTIES.join(', ')}`, 'filters');
    }
    return { prop: m[1], op: m[2], value: m[3] };
  });
}

function context(url, allowed, now) {
  const q = parseQuery(url, allowed);
  const range = parseRange(q, now);
  const filters = parseFilters(q.filters);
  const share = filters.reduce((s, f) => s * filterShare(f), 1);
  return { q, ...range, filters, share, days: daysOf(range.from, range.to) };
}

const COMMON = ['site_id', 'date', 'from', 'to', 'filters'];

/** The range `compare=previous_period` names: as many days, ending the day before `from`. */
function previousPeriod(c) {
  if (c.q.compare === undefined) return null;
  if (c.q.compare !== 'previous_period') throw new BadRequest('`compare` must be `previous_period`', 'compare');
  const n = c.days.length;
  const start = Date.parse(`${c.from}T00:00:00Z`);
  const from = dayOf(start - n * 86400e3), to = dayOf(start - 86400e3);
  return { ...c, from, to, days: daysOf(from, to) };
}

// ---------------------------------------------------------------------------------------------
// The endpoints.
function stats(url, now) {
  const c = context(url, [...COMMON, 'metrics', 'compare'], now);
  const body = totals(c, now);
  const previous = previousPeriod(c);
  if (previous) {
    const p = totals(previous, now);
    delete p.site_id; delete p.date; delete p.top_paths;
    body.comparison = p;
  }
  return body;
}

function totals(c, now) {
  const a = aggregate(c.q.site_id, c.days, c.share, now);
  const body = {
    site_id: c.q.site_id, date: c.from === c.to ? c.from : undefined, from: c.from, to: c.to,
    total_views: a.views, unique_users: a.visitors,
    top_paths: breakdownRows(c, 'path', a).map((r) => ({ path: r.value, views: r.views }))
      .sort((x, y) => y.views - x.views || (x.path < y.path ? -1 : 1)).slice(0, 10),
  };
  if (c.from !== c.to) delete body.date;
  const wanted = c.q.metrics === undefined ? [] : c.q.metrics.split(',');
  for (const m of wanted) {
    if (!METRICS.includes(m)) throw new BadRequest(`\`metrics\` has an unknown metric \`${m.slice(0, 64)}\`; one of ${METRICS.join(', ')}`, 'metrics');
    body[m] = {
      visits: a.visits,
      bounce_rate: bounceRate(a),
      visit_duration: avgDuration(a),
      views_per_visit: a.visits ? round2(a.views / a.visits) : 0,
      events: Math.round(a.visitors * 0.36),
      bots_filtered: Math.round(a.views * 0.07),
    }[m];
  }
  return body;
}

function timeseries(url, now) {
  const c = context(url, [...COMMON, 'interval', 'compare'], now);
  const interval = c.q.interval ?? (c.from === c.to ? 'hour' : 'day');
  if (interval !== 'hour' && interval !== 'day') throw new BadRequest('`interval` must be hour or day', 'interval');
  const body = { site_id: c.q.site_id, from: c.from, to: c.to, interval, points: series(c, interval, now) };
  const previous = previousPeriod(c);
  if (previous) body.comparison = { from: previous.from, to: previous.to, points: series(previous, interval, now) };
  return body;
}

function series(c, interval, now) {
  const points = [];
  const point = (time, a) => ({
    time, views: a.views, visitors: a.visitors, visits: a.visits,
    bounce_rate: bounceRate(a), visit_duration: avgDuration(a),
  });
  for (const day of c.days) {
    if (interval === 'day') points.push(point(day, aggregate(c.q.site_id, [day], c.share, now)));
    else {
      for (let h = 0; h < 24; h++) {
        const a = aggregate(c.q.site_id, [day], c.share, now, [h]);
        points.push(point(`${day}T${String(h).padStart(2, '0')}:00:00Z`, a));
      }
    }
  }
  return points;
}

function breakdownRows(c, property, total) {
  const site = c.q.site_id;
  // A filter on the broken-down property itself keeps only (or drops) that value.
  const own = c.filters.filter((f) => f.prop === property);
  const others = c.filters.filter((f) => f.prop !== property)
    .reduce((s, f) => s * filterShare(f), 1);
  const t = own.length ? aggregate(site, c.days, others, Date.now()) : total;
  const weights = DIMENSIONS[property];
  // Weights vary a little per range; for all but event_type they still add up to the coverage.
  const jittered = weights.map(([value, w]) => [value, w * (0.85 + 0.3 * rand(site, c.from, c.to, property, value))]);
  const sum = property === 'event_type' ? 100 : jittered.reduce((s, [, w]) => s + w, 0) / (COVERAGE[property] ?? 1);
  const rows = [];
  for (const [value, w] of jittered) {
    if (!own.every((f) => (f.op === '==') === (f.value === value))) continue;
    const share = Math.min(1, w / sum);
    const visitors = Math.round(t.visitors * share);
    if (!visitors) continue;
    const row = { value, visitors, views: Math.round(t.views * share) };
    if (SESSION_PROPS.has(property)) {
      const r = rand(site, property, value);
      row.visits = Math.round(t.visits * share);
      row.bounce_rate = round1(Math.min(100, bounceRate(t) * (0.7 + 0.6 * r)));
      row.visit_duration = Math.round(avgDuration(t) * (0.6 + 0.8 * (1 - r)));
    }
    if (property === 'event_type') {
      row.events = value === 'page_view' ? t.views : Math.round(visitors * (1.1 + rand(site, value)));
      if (value !== 'page_view') row.views = 0;
      row.conversion_rate = t.visitors ? round1((visitors * 100) / t.visitors) : 0;
    }
    rows.push(row);
  }
  return rows.sort((x, y) => y.visitors - x.visitors || (x.value < y.value ? -1 : 1));
}

function breakdown(url, now) {
  const c = context(url, [...COMMON, 'property', 'limit', 'page', 'format'], now);
  const property = c.q.property;
  if (property === undefined) throw new BadRequest('`property` is required', 'property');
  if (!PROPERTIES.includes(property)) throw new BadRequest(`\`property\` must be one of ${PROPERTIES.join(', ')}`, 'property');
  const int = (name, dflt, max) => {
    if (c.q[name] === undefined) return dflt;
    const n = Number(c.q[name]);
    if (!/^\d+$/.test(c.q[name]) || n < 1 || n > max) throw new BadRequest(`\`${name}\` must be a whole number from 1 to ${max}`, name);
    return n;
  };
  const limit = int('limit', 10, 1000);
  const page = int('page', 1, 100000);
  if (c.q.format !== undefined && c.q.format !== 'json' && c.q.format !== 'csv') {
    throw new BadRequest('`format` must be json or csv', 'format');
  }
  const total = aggregate(c.q.site_id, c.days, c.share, now);
  const results = breakdownRows(c, property, total).slice((page - 1) * limit, page * limit);
  return { site_id: c.q.site_id, from: c.from, to: c.to, property, page, limit, results };
}

function realtime(url, now) {
  const q = parseQuery(url, ['site_id']);
  if (q.site_id === 'empty-site') return { site_id: q.site_id, visitors: 0, window_seconds: 300 };
  const minute = Math.floor(now / 60e3);
  const hour = new Date(now).getUTCHours();
  const base = (150 + (hash(q.site_id) % 900)) * HOUR_CURVE[hour] / 130 / 3;
  return { site_id: q.site_id, visitors: Math.max(0, Math.round(base * (0.6 + 0.8 * rand(q.site_id, minute)))), window_seconds: 300 };
}

function toCsv(rows) {
  if (!rows.length) return 'value,visitors,views\r\n';
  const cols = Object.keys(rows[0]);
  const cell = (v) => (/[",\r\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  return [cols.join(','), ...rows.map((r) => cols.map((k) => cell(r[k])).join(','))].join('\r\n') + '\r\n';
}

function sites() {
  return { sites: [{ site_id: 'demo-shop', public: true, domains: ['shop.example.com'] }] };
}

const API = {
  '/sites': sites,
  '/stats': stats,
  '/stats/timeseries': timeseries,
  '/stats/breakdown': breakdown,
  '/stats/realtime': realtime,
};

// ---------------------------------------------------------------------------------------------
// HTTP.
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, OPTIONS',
  'access-control-allow-headers': 'content-type, authorization',
  'access-control-expose-headers': 'retry-after',
};

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'cache-control': 'no-cache', ...CORS, ...headers,
  });
  res.end(text);
}

let requests = 0;
async function api(req, res, url) {
  requests++;
  if (LATENCY) await new Promise((r) => setTimeout(r, LATENCY));
  if (req.method === 'OPTIONS') return send(res, 204, '', { 'access-control-max-age': '86400' });
  if (req.method !== 'GET') return send(res, 405, { error: 'method not allowed' });
  if (url.pathname === '/healthz') return send(res, 200, { status: 'ok' });
  if (url.pathname === '/readyz') return send(res, 200, { status: 'ready', dependency: 'mongodb' });
  if (url.pathname === '/metrics') {
    return send(res, 200, `# TYPE beacon_mock_requests_total counter\nbeacon_mock_requests_total ${requests}\n`,
      { 'content-type': 'text/plain; version=0.0.4' });
  }
  if (url.pathname === '/openapi.json') {
    return send(res, 200, JSON.parse(await fs.readFile(OPENAPI, 'utf8')));
  }
  if (url.searchParams.get('site_id') === 'down-site') {
    return send(res, 503, { error: 'the store is unavailable, retry later' }, { 'retry-after': '5' });
  }
  if (url.searchParams.get('site_id') === 'private-site' && !PRIVATE_TOKENS.includes(req.headers.authorization)) {
    const error = 'this report requires a valid API key: send `Authorization: Bearer <key>`';
    return send(res, 401, { error }, { 'www-authenticate': 'Bearer realm="beacon"' });
  }
  try {
    const body = API[url.pathname](url, Date.now());
    const csv = url.pathname === '/stats/breakdown' && (url.searchParams.get('format') === 'csv'
      || (!url.searchParams.has('format') && /text\/csv/.test(req.headers.accept || '')));
    if (csv) return send(res, 200, toCsv(body.results), { 'content-type': 'text/csv; charset=utf-8' });
    return send(res, 200, body);
  } catch (e) {
    if (!(e instanceof BadRequest)) throw e;
    return send(res, 400, e.field ? { error: e.message, field: e.field } : { error: e.message });
  }
}

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.json': 'application/json', '.png': 'image/png',
  '.wasm': 'application/wasm', '.ico': 'image/x-icon',
};

/** As report_service: `/` is index.html, `/assets/*` the page's files, nothing else. */
function resolve(urlPath) {
  if (urlPath === '/') return path.join(ROOT, 'index.html');
  if (!urlPath.startsWith('/assets/')) return null;
  const p = path.join(ROOT, path.normalize(decodeURIComponent(urlPath)));
  return p.startsWith(path.join(ROOT, 'assets')) ? p : null;
}

async function file(req, res, url) {
  const p = resolve(url.pathname);
  let bytes;
  try { bytes = p && await fs.readFile(p); } catch { bytes = null; }
  if (!bytes) return send(res, 404, { error: 'no such file' });
  res.writeHead(200, { 'content-type': TYPES[path.extname(p)] || 'application/octet-stream', 'cache-control': 'no-cache' });
  res.end(bytes);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://mock');
  const isApi = url.pathname in API
    || ['/healthz', '/readyz', '/metrics', '/openapi.json'].includes(url.pathname);
  (isApi ? api(req, res, url) : file(req, res, url)).catch((e) => {
    console.error(e);
    if (!res.headersSent) send(res, 500, { error: 'mock server error' });
  });
});
server.listen(PORT, HOST, () => {
  const { port } = server.address();
  console.log(`mock report API + stats page on http://${HOST}:${port}/ (serving ${ROOT})`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
