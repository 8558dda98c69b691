// The tracker on the demo site, in a real browser, end to end through the real pipeline.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  ingestProxy, demoSite, launchBrowser, watchErrors, waitForViews, stats, uniqueSite, sleep, visit, repeatedEids,
  INGEST_URL, REPORT_URL,
} from './harness.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser.close(); });

test('page views on normal and SPA routes are counted exactly once after the tab closes', async () => {
  const site = uniqueSite('e2e-views');
  const demo = await demoSite(site, INGEST_URL);
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = watchErrors(page);
    await visit(page, demo.url + '/');
    await visit(page, demo.url + '/product');
    await visit(page, demo.url + '/about');
    await visit(page, demo.url + '/app/');
    await page.click('#spa-nav a[href="/app/orders"]');      // pushState
    await page.click('#spa-nav a[href="/app/settings"]');    // pushState
    await page.goBack();                                      // popstate → /app/orders
    await page.waitForURL('**/app/orders');
    await page.close({ runBeforeUnload: true });              // pagehide → flush
    // The browser stays open, as it does when a person closes one tab: closing the whole
    // context at once could cancel the beacon still in flight.
    const result = await waitForViews(site, 7);
    await context.close();
    assert.deepEqual(result.top_paths, [
      { path: '/app/orders', views: 2 },
      { path: '/', views: 1 },
      { path: '/about', views: 1 },
      { path: '/app/', views: 1 },
      { path: '/app/settings', views: 1 },
      { path: '/product', views: 1 },
    ]);
    assert.equal(result.unique_users, 1, 'one browser is one visitor');
    assert.deepEqual(errors, []);
  } finally {
    demo.stop();
  }
});

test('views kept through an outage are replayed by the next page, each delivered exactly once', async () => {
  const site = uniqueSite('e2e-offline');
  const proxy = await ingestProxy();
  const demo = await demoSite(site, proxy.url);
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = watchErrors(page);
    proxy.state.up = false;
    // Three page views while ingestion is down: each page's beacon (and the next page's
    // receipts request and retry) is dropped, so all three stay in the outbox.
    await visit(page, demo.url + '/');
    await visit(page, demo.url + '/about');
    await visit(page, demo.url + '/product');
    await sleep(1500); // the receipts request of the last page fails too
    await page.goto('about:blank'); // the visitor leaves; its beacon is lost as well
    assert.equal(proxy.state.received, 0);
    assert.ok(proxy.state.dropped >= 3, `${proxy.state.dropped} requests reached the downed endpoint`);
    assert.equal((await stats(site)).total_views, 0, 'nothing can arrive while the endpoint is down');

    proxy.state.up = true;
    await visit(page, demo.url + '/app/'); // one more page replays the outbox…
    await sleep(2000);
    await page.close({ runBeforeUnload: true }); // …and is left 2 s later
    const result = await waitForViews(site, 4);
    assert.deepEqual(result.top_paths.map((p) => [p.path, p.views]).sort(),
      [['/', 1], ['/about', 1], ['/app/', 1], ['/product', 1]]);

    // A later page load asks for receipts of what the closed tab beaconed: nothing twice.
    const later = await context.newPage();
    const laterErrors = watchErrors(later);
    await visit(later, demo.url + '/about');
    await sleep(2000);
    await later.close({ runBeforeUnload: true });
    const final = await waitForViews(site, 5);
    assert.deepEqual(final.top_paths.map((p) => [p.path, p.views]).sort(),
      [['/', 1], ['/about', 2], ['/app/', 1], ['/product', 1]]);
    await context.close();
    const events = proxy.events();
    console.log(`outage replay: ${proxy.state.dropped} requests dropped while down, then ` +
      `${proxy.posts('/event').length} POST /event carrying ${events.length} events, ` +
      `${proxy.posts('/event/receipts').length} POST /event/receipts`);
    assert.deepEqual(repeatedEids(events), [], `no event reached ingestion twice:\n${proxy.log()}`);
    assert.equal(events.length, 5);
    assert.deepEqual([...errors, ...laterErrors], []);
  } finally {
    demo.stop();
    await proxy.close();
  }
});

test('the page keeps working when the endpoint is unreachable', async () => {
  const site = uniqueSite('e2e-unreachable');
  const demo = await demoSite(site, 'http://127.0.0.1:9'); // nothing listens on port 9
  try {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await visit(page, demo.url + '/product');
    await page.click('#add-to-cart');
    await page.waitForSelector('#cart-status:has-text("Added to cart.")');
    await page.click('a[href="/about"]');
    await page.waitForURL('**/about');
    assert.equal(await page.textContent('h1'), 'About us');
    await page.close();
    assert.deepEqual(errors, []);
  } finally {
    demo.stop();
  }
});

test('the stats page on the report service shows what /stats returns', async () => {
  const site = uniqueSite('e2e-dashboard');
  const demo = await demoSite(site, INGEST_URL);
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    for (const path of ['/', '/product', '/product', '/about']) await visit(page, demo.url + path);
    await page.close({ runBeforeUnload: true });
    const expected = await waitForViews(site, 4);

    // The shop's "Stats dashboard" link leads to the report service's page for its site.
    const dash = await context.newPage();
    const errors = watchErrors(dash);
    await dash.goto(`${demo.url}/dashboard`);
    await dash.waitForURL(`${REPORT_URL}/?site=${site}**`);
    await dash.waitForFunction(
      (n) => document.querySelector('[data-testid="total-views"]').textContent === String(n),
      expected.total_views, { timeout: 10000 },
    );
    assert.equal(await dash.textContent('[data-testid="unique-users"]'), String(expected.unique_users));
    const bars = await dash.$$eval('[data-testid="top-pages"] g[data-path]',
      (gs) => gs.map((g) => ({ path: g.dataset.path, views: Number(g.dataset.views) })));
    assert.deepEqual(bars, expected.top_paths);

    // The panels show what the breakdown, timeseries and realtime endpoints return.
    const api = async (path) => (await fetch(`${REPORT_URL}${path}`)).json();
    const devices = await api(`/stats/breakdown?site_id=${site}&property=device`);
    assert.deepEqual(devices.results.map((r) => [r.value, r.visitors]), [['desktop', 1]]);
    await dash.waitForSelector('[data-property="device"] li[data-value="desktop"]', { timeout: 10000 });
    const sources = await api(`/stats/breakdown?site_id=${site}&property=source`);
    assert.equal(sources.results.length, 1);
    await dash.waitForSelector(`[data-property="source"] li[data-value="${sources.results[0].value}"]`);
    const realtime = await api(`/stats/realtime?site_id=${site}`);
    assert.equal(realtime.visitors, 1);
    await dash.waitForFunction(() => document.querySelector('[data-testid="realtime"]')?.dataset.visitors === '1',
      null, { timeout: 15000 });
    const series = await api(`/stats/timeseries?site_id=${site}`);
    assert.equal(series.points.reduce((n, p) => n + p.views, 0), 4);
    assert.ok(await dash.$('#timeseries svg'), 'the timeseries chart is drawn');
    if (process.env.SCREENSHOT) {
      await dash.setViewportSize({ width: 1200, height: 820 });
      await dash.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
    }
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    demo.stop();
  }
});
