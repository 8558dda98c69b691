// The stats page's full load, timed by the report API itself: opens the page for one site-day
// in headless Chromium LOADS times and reads every API call the page made from the browser's
// resource timings, each with the `Server-Timing: app;dur=<ms>` the report service answered
// with. Prints one markdown row for docs/benchmarks.md (scripts/bench-reports), and each
// route's server times to stderr:
//
// | events | loads | API calls per load | server time per load p50 | p95 | slowest call p50 |
//   panels from rollups answered p50 | every call answered p50 |
//
// (the page asks for the reports read from raw events, goals, funnels and custom properties,
// once those read from rollups have answered; both moments are from navigation start).
//
// Usage: REPORT_URL=... SITE=... DATE=YYYY-MM-DD EVENTS=N [TO=YYYY-MM-DD] [LOADS=10]
//   node e2e/bench/dashboard.mjs   (TO: the page for the range DATE..TO instead of the one day)
// Fails (exit 1) when a call is not 2xx or carries no server timing: a figure without them
// would not be the page's.
import { launchBrowser } from '../tests/browser.mjs';
import { readsRawEvents } from '../tests/report-calls.mjs';

const { REPORT_URL, SITE, DATE, EVENTS, TO } = process.env;
const PERIOD = TO ? `period=custom&from=${DATE}&to=${TO}` : `date=${DATE}`;
const LOADS = Number(process.env.LOADS || 10);
if (!REPORT_URL || !SITE || !DATE || !EVENTS) {
  throw new Error('REPORT_URL, SITE, DATE and EVENTS must be set (scripts/bench-reports sets them)');
}
/** The page's own files; every other request to the report service is an API call. */
const isApiCall = (url) => url.startsWith(REPORT_URL) && !/^\/(assets\/.*)?$/.test(new URL(url).pathname);

/** The summary, the chart and the breakdowns: what the page reads from rollups. */
const fromRollups = (url) => /^\/stats(\/timeseries|\/breakdown)?$/.test(new URL(url).pathname) && !readsRawEvents(url);

/** One load of the page: its API calls, once the network has been quiet for 500 ms. */
async function load(browser) {
  const page = await browser.newPage();
  try {
    await page.goto(`${REPORT_URL}/?site=${encodeURIComponent(SITE)}&${PERIOD}`, {
      waitUntil: 'networkidle',
      timeout: 600000, // the reports read from raw events take seconds to minutes on a large day
    });
    const entries = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => ({
      url: e.name, status: e.responseStatus, end: e.responseEnd,
      server: e.serverTiming.find((t) => t.name === 'app')?.duration,
    })));
    return entries.filter((e) => isApiCall(e.url));
  } finally {
    await page.close();
  }
}

function check(calls) {
  if (calls.length === 0) throw new Error('the page made no API call');
  for (const c of calls) {
    if (c.status < 200 || c.status > 299) throw new Error(`${c.url} answered ${c.status}`);
    if (typeof c.server !== 'number') throw new Error(`${c.url} carried no Server-Timing app;dur`);
  }
}

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
};
const ms = (v) => `${v.toFixed(1)} ms`;
const route = (url) => {
  const u = new URL(url);
  const property = u.searchParams.get('property');
  return property ? `${u.pathname}?property=${property}` : u.pathname;
};

const browser = await launchBrowser();
try {
  await load(browser); // untimed: Chromium's first start and the page's files into its cache
  const loads = [];
  const byRoute = {};
  for (let i = 0; i < LOADS; i += 1) {
    const calls = await load(browser);
    check(calls);
    const slowest = calls.reduce((a, b) => (b.server > a.server ? b : a));
    for (const c of calls) (byRoute[route(c.url)] ||= []).push(c.server);
    loads.push({
      calls: calls.length,
      server: calls.reduce((sum, c) => sum + c.server, 0),
      slowest: slowest.server,
      slowestRoute: route(slowest.url),
      rollupsDone: Math.max(...calls.filter((c) => fromRollups(c.url)).map((c) => c.end)),
      done: Math.max(...calls.map((c) => c.end)),
    });
  }
  for (const [name, times] of Object.entries(byRoute)) {
    console.error(`${name}: ${times.length} calls, server p50 ${ms(quantile(times, 0.5))}, max ${ms(Math.max(...times))}`);
  }
  const slowestP50 = quantile(loads.map((l) => l.slowest), 0.5);
  const which = loads.find((l) => l.slowest === slowestP50).slowestRoute;
  const callCounts = [...new Set(loads.map((l) => l.calls))].join('/');
  console.log(`| ${EVENTS} | ${LOADS} | ${callCounts} | ${ms(quantile(loads.map((l) => l.server), 0.5))} | `
    + `${ms(quantile(loads.map((l) => l.server), 0.95))} | ${ms(slowestP50)} (\`${which}\`) | `
    + `${ms(quantile(loads.map((l) => l.rollupsDone), 0.5))} | ${ms(quantile(loads.map((l) => l.done), 0.5))} |`);
} finally {
  await browser.close();
}
