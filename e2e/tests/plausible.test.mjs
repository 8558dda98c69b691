// Plausible's own npm trackers, unchanged, pointed at Beacon's `POST /api/event` by their
// endpoint option, on a site owner's page in Chromium: page views, SPA navigation, custom events
// with props and revenue, all counted exactly (the newer tracker's engagement pings are not
// events).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  admin, launchBrowser, ownSite, waitForViews, waitForEvents, watchErrors, uniqueSite, sleep,
  INGEST_URL, REPORT_URL,
} from './harness.mjs';

/** An installed package's folder (e2e/package.json pins both trackers). */
const packageDir = (name) => fileURLToPath(new URL(`../node_modules/${name}/`, import.meta.url));

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser.close(); });

/** A page whose module script `script` runs on load; `/vendor/...` is served from node_modules. */
function page(title, script) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
<script type="module">${script}</script></head><body><h1>${title}</h1></body></html>`;
}

/** Serves `/vendor/<file>` from `dir` (adding `.js` to extensionless module imports). */
async function vendor(context, dir) {
  await context.route('**/vendor/**', (route) => {
    let file = new URL(route.request().url()).pathname.replace(/^\/vendor\//, '');
    if (!file.endsWith('.js')) file += '.js';
    return route.fulfill({ path: path.join(dir, file), contentType: 'text/javascript' });
  });
}

async function goals(site) {
  const r = await fetch(`${REPORT_URL}/stats/goals?site_id=${site}`);
  const { goals: rows } = await r.json();
  return rows.map((g) => [g.name, g.visitors, g.events, g.revenue || []]);
}

function registerWithGoal(site) {
  admin('site', 'add', site, '--public');
  admin('goal', 'add', site, '--event', 'Signup');
}

test('@plausible-analytics/tracker: page views, SPA navigation, props and revenue', async () => {
  const site = uniqueSite('e2e-plausible');
  registerWithGoal(site);
  const script = `import { init, track } from '/vendor/plausible.js';
    init({ domain: '${site}', endpoint: '${INGEST_URL}/api/event', captureOnLocalhost: true, logging: false });
    window.signup = () => track('Signup', { props: { plan: 'pro' }, revenue: { amount: 49.9, currency: 'EUR' } });`;
  const own = await ownSite((p) => (p === '/' || p === '/pricing' ? page(p, script) : undefined));
  const context = await browser.newContext();
  try {
    await vendor(context, packageDir('@plausible-analytics/tracker'));
    const tab = await context.newPage();
    const errors = watchErrors(tab);
    await tab.goto(`${own.url}/?utm_source=newsletter`);
    await tab.waitForFunction(() => typeof window.signup === 'function');
    await tab.evaluate(() => history.pushState({}, '', '/pricing')); // an SPA route: a page view
    await sleep(300);
    await tab.evaluate(() => window.signup());
    await sleep(300);
    await tab.close({ runBeforeUnload: true }); // hidden: the tracker's engagement ping goes
    const views = await waitForViews(site, 2);
    assert.deepEqual(views.top_paths.map((p) => [p.path, p.views]).sort(), [['/', 1], ['/pricing', 1]]);
    await waitForEvents(site, { page_view: 2, Signup: 1 });
    assert.deepEqual(await goals(site), [['Signup', 1, 1, [{ currency: 'EUR', total: 49.9, average: 49.9, events: 1 }]]]);
    const r = await fetch(`${REPORT_URL}/stats/breakdown?site_id=${site}&property=utm_source`);
    assert.equal((await r.json()).results[0].value, 'newsletter');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await own.close();
  }
});

test('plausible-tracker (the older package): page views, automatic SPA page views, props', async () => {
  const site = uniqueSite('e2e-plausible-old');
  registerWithGoal(site);
  const script = `import Plausible from '/vendor/build/module/index.js';
    const { enableAutoPageviews, trackEvent } = Plausible({ domain: '${site}', apiHost: '${INGEST_URL}', trackLocalhost: true });
    enableAutoPageviews();
    window.signup = () => trackEvent('Signup', { props: { plan: 'team' } });`;
  const own = await ownSite((p) => (p === '/' || p.startsWith('/docs') ? page(p, script) : undefined));
  const context = await browser.newContext();
  try {
    await vendor(context, packageDir('plausible-tracker'));
    const tab = await context.newPage();
    const errors = watchErrors(tab);
    await tab.goto(`${own.url}/`);
    await tab.waitForFunction(() => typeof window.signup === 'function');
    await tab.evaluate(() => history.pushState({}, '', '/docs/start'));
    await sleep(300);
    await tab.evaluate(() => window.signup());
    await sleep(300);
    await tab.close();
    const views = await waitForViews(site, 2);
    assert.deepEqual(views.top_paths.map((p) => [p.path, p.views]).sort(), [['/', 1], ['/docs/start', 1]]);
    await waitForEvents(site, { page_view: 2, Signup: 1 });
    const r = await fetch(`${REPORT_URL}/stats/breakdown?site_id=${site}&property=props.plan`);
    assert.deepEqual((await r.json()).results.map((row) => [row.value, row.visitors]), [['team', 1]]);
    assert.deepEqual(await goals(site), [['Signup', 1, 1, []]]);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await own.close();
  }
});
