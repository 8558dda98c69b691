// The tracker on the demo site, in a real browser, end to end through the real pipeline.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  ingestProxy, demoSite, launchBrowser, watchErrors, waitForViews, stats, uniqueSite, sleep, visit, INGEST_URL, REPORT_URL,
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

test('events sent while ingestion is down are delivered on the next page load, once', async () => {
  const site = uniqueSite('e2e-offline');
  const proxy = await ingestProxy();
  const demo = await demoSite(site, proxy.url);
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = watchErrors(page);
    proxy.state.up = false;
    await visit(page, demo.url + '/');
    await visit(page, demo.url + '/about');
    await sleep(6000); // past the 5 s flush timer: delivery attempts fail while down
    assert.equal((await stats(site)).total_views, 0, 'nothing can arrive while the endpoint is down');
    proxy.state.up = true;
    await visit(page, demo.url + '/product'); // next page load retries the stored batch
    await page.close({ runBeforeUnload: true });
    const result = await waitForViews(site, 3);
    await context.close();
    assert.deepEqual(result.top_paths.map((p) => p.path).sort(), ['/', '/about', '/product']);
    assert.deepEqual(errors, []);
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
