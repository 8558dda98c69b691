// Shared pieces of the browser tests: a switchable proxy in front of ingestion (to take the
// endpoint "down" the way a network outage looks to a browser), a demo-site server per test
// (each with its own site id), headless Debian Chromium, polling of the /stats API (with a key
// for a private site), and the real `beacon-admin` binary.
import http from 'node:http';
import net from 'node:net';
import { execFileSync, spawn } from 'node:child_process';

export const INGEST_URL = need('INGEST_URL');
export const REPORT_URL = need('REPORT_URL');
const DEMO_SITE_BIN = need('DEMO_SITE_BIN');
const DEMO_DIR = need('DEMO_DIR');
const BEACON_ADMIN_BIN = process.env.BEACON_ADMIN_BIN;

function need(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (scripts/test sets it)`);
  return value;
}

export { launchBrowser } from './browser.mjs';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * An HTTP proxy to ingestion that can be switched off (when down it drops connections, as an
 * outage looks to a browser) and records every request it forwards: method, path (`/event` or
 * `/event/receipts`), query and body, so a test can count requests and bytes per path and find
 * an event that reached ingestion twice.
 */
export async function ingestProxy() {
  const target = new URL(INGEST_URL);
  const state = { up: true, received: 0, dropped: 0, requests: [] };
  const server = http.createServer((req, res) => {
    if (!state.up) {
      state.dropped += 1;
      req.socket.destroy();
      return;
    }
    state.received += 1;
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url, 'http://proxy');
      state.requests.push({
        method: req.method, path: url.pathname, query: url.search, bytes: body.length, body: body.toString('utf8'),
      });
      const upstream = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (reply) => {
          res.writeHead(reply.statusCode, reply.headers);
          reply.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });
  const port = await freePort();
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    /** The POSTs to `path` (`/event`, `/event/receipts`) forwarded so far. */
    posts: (path) => state.requests.filter((r) => r.method === 'POST' && r.path === path),
    /** Every event in the bodies of the `POST /event`s forwarded so far, repeats included. */
    events: () => state.requests
      .filter((r) => r.method === 'POST' && r.path === '/event')
      .flatMap((r) => {
        const parsed = JSON.parse(r.body);
        return Array.isArray(parsed) ? parsed : [parsed];
      }),
    /** Every forwarded request, one line each, for assertion messages. */
    log: () => state.requests.map((r) => `${r.method} ${r.path}${r.query} ${r.body}`).join('\n'),
    close: () => new Promise((resolve) => {
      server.close(resolve);
      server.closeAllConnections(); // a browser's kept-alive connections must not hold the test
    }),
  };
}

/**
 * `events` as ingestion stores them: the first of each eid (a repeated eid is dropped there).
 * The option tests look at these; the delivery tests count the repeats.
 */
export function distinctEvents(events) {
  const seen = new Set();
  return events.filter((e) => !seen.has(e.eid) && seen.add(e.eid));
}

/** The eids that appear more than once in `events` (an event posted to ingestion twice). */
export function repeatedEids(events) {
  const seen = new Set();
  const repeated = [];
  for (const e of events) {
    if (!e.eid) throw new Error(`an event without an eid: ${JSON.stringify(e)}`);
    if (seen.has(e.eid)) repeated.push(e.eid);
    seen.add(e.eid);
  }
  return repeated;
}

/** Starts the demo-site server for `siteId`, sending events to `ingestUrl`. */
export async function demoSite(siteId, ingestUrl) {
  const port = await freePort();
  const child = spawn(DEMO_SITE_BIN, [], {
    env: {
      ...process.env, DEMO_DIR, DEMO_PORT: String(port), INGEST_URL: ingestUrl,
      REPORT_URL, SITE_ID: siteId, TRACKER_ALLOW_BOTS: '1', RUST_LOG: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(url + '/');
      if (r.ok) break;
    } catch { /* not up yet */ }
    await sleep(100);
  }
  return { url, stop: () => child.kill('SIGTERM') };
}

/** Collects uncaught page errors so a test can assert the host page never broke. */
export function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

/** GET /stats for one day (default today), with `token` as the bearer for a private site. */
export async function stats(siteId, date, token) {
  const day = date || new Date().toISOString().slice(0, 10);
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const r = await fetch(`${REPORT_URL}/stats?site_id=${encodeURIComponent(siteId)}&date=${day}`, { headers });
  if (!r.ok) throw new Error(`/stats answered ${r.status}`);
  return r.json();
}

/**
 * Polls /stats until total_views reaches `views`, then checks it stays there. `date` defaults to
 * today in UTC; a site with a time zone passes its own day (`zoneDay`).
 */
export async function waitForViews(siteId, views, timeoutMs = 30000, token = undefined, date = undefined) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await stats(siteId, date, token);
    if (last.total_views > views) throw new Error(`counted ${last.total_views} views, expected ${views}`);
    if (last.total_views === views) {
      await sleep(1500);
      const again = await stats(siteId, date, token);
      if (again.total_views !== views) throw new Error(`count moved on to ${again.total_views}`);
      return again;
    }
    await sleep(200);
  }
  throw new Error(`only ${last && last.total_views} of ${views} views counted after ${timeoutMs} ms`);
}

/** Today in an IANA zone, as YYYY-MM-DD. */
export function zoneDay(zone, at = new Date()) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

/** Waits past the zone's midnight when it is less than `marginMs` away, so a test's day holds. */
export async function awayFromZoneMidnight(zone, marginMs = 60000) {
  const now = new Date();
  if (zoneDay(zone, now) !== zoneDay(zone, new Date(now.getTime() + marginMs))) await sleep(marginMs + 1000);
}

/** Runs `beacon-admin ARGS...` (BEACON_ADMIN_BIN, against MONGO_URL) and returns its output. */
export function admin(...args) {
  if (!BEACON_ADMIN_BIN) throw new Error('BEACON_ADMIN_BIN must be set (scripts/system-test sets it)');
  return execFileSync(BEACON_ADMIN_BIN, args, { encoding: 'utf8', cwd: '/' });
}

/** POSTs events to ingestion as a site's own server would (`user_id` set: no bot filter). */
export async function postEvents(events) {
  const r = await fetch(`${INGEST_URL}/event`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events),
  });
  const body = await r.json();
  if (r.status !== 202 || body.accepted !== events.length) throw new Error(`ingestion answered ${r.status} ${JSON.stringify(body)}`);
}

export function uniqueSite(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}

/** Loads a page and waits until the tracker is running (`beacon.ready`, set tracked or not). */
export async function visit(page, url) {
  const response = await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => window.beacon && window.beacon.ready > 0, null, { timeout: 10000 });
  return response;
}

/** `GET /stats/breakdown?property=event_type` as `{ event_type: events }`. */
export async function eventCounts(siteId) {
  const r = await fetch(`${REPORT_URL}/stats/breakdown?site_id=${encodeURIComponent(siteId)}&property=event_type`);
  if (!r.ok) throw new Error(`/stats/breakdown answered ${r.status}`);
  const { results } = await r.json();
  return Object.fromEntries(results.map((row) => [row.value, row.events]));
}

/** Polls the event-type breakdown until it equals `expected`, then checks it stays there. */
export async function waitForEvents(siteId, expected, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  const same = (a, b) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
  let last;
  while (Date.now() < deadline) {
    last = await eventCounts(siteId);
    if (same(last, expected)) {
      await sleep(1500);
      const again = await eventCounts(siteId);
      if (!same(again, expected)) throw new Error(`events moved on to ${JSON.stringify(again)}`);
      return again;
    }
    await sleep(200);
  }
  throw new Error(`events ${JSON.stringify(last)} never became ${JSON.stringify(expected)} in ${timeoutMs} ms`);
}

/**
 * A site owner's own server on another origin than the tracker: `pages(pathname)` returns a
 * page's HTML, or nothing for a 404. Reached as `http://localhost:<port>` while the demo site is
 * `http://127.0.0.1:<port>`, so it differs in host as well as port.
 */
export async function ownSite(pages) {
  const server = http.createServer((req, res) => {
    const html = pages(new URL(req.url, 'http://x').pathname);
    if (html === undefined) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' }).end(html);
  });
  const port = await freePort();
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://localhost:${port}`,
    close: () => new Promise((resolve) => {
      server.close(resolve);
      server.closeAllConnections();
    }),
  };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
