// The snippet's options end to end: link clicks (data-outbound-links, data-file-downloads), the
// not-found page (data-404), the page patterns (data-exclude, data-include) and a visitor's
// self-exclusion (#beacon-ignore=on|off). Each is counted, or not, exactly: on /stats, on the
// event-type breakdown and in the bodies that reached ingestion.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  ingestProxy, demoSite, ownSite, launchBrowser, watchErrors, waitForViews, waitForEvents, uniqueSite, sleep, visit,
  distinctEvents, admin, REPORT_URL,
} from './harness.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser.close(); });

/**
 * The custom events (not page views) that reached ingestion, each eid once: [event_type, path,
 * props]. (A page left within a second re-sends what the page before it beaconed; ingestion
 * drops the repeat by eid. delivery.test.mjs counts those.)
 */
function customEvents(proxy) {
  return distinctEvents(proxy.events())
    .filter((e) => e.event_type !== 'page_view')
    .map((e) => [e.event_type, e.path, e.props]);
}

test('a click on a download link and on an outbound link each count once, with the link', async () => {
  const site = uniqueSite('e2e-links');
  const proxy = await ingestProxy();
  const demo = await demoSite(site, proxy.url);
  try {
    const context = await browser.newContext();
    // The outbound link is never followed to the internet: the browser gets a stand-in page.
    await context.route('https://example.org/**',
      (route) => route.fulfill({ contentType: 'text/html', body: '<h1>Elsewhere</h1>' }));
    const page = await context.newPage();
    const errors = watchErrors(page);
    await visit(page, demo.url + '/product');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#size-guide')]);
    assert.equal(download.suggestedFilename(), 'size-guide.pdf');
    await page.click('nav a[href="/about"]'); // a link on the same site: a page view, no event
    await page.waitForURL('**/about');
    await page.waitForFunction(() => window.beacon && window.beacon.ready > 0);
    await visit(page, demo.url + '/product');
    await page.click('#maker-site'); // leaves the site: the click goes with the page's beacon
    await page.waitForURL('https://example.org/');
    await page.close({ runBeforeUnload: true });

    const views = await waitForViews(site, 3);
    assert.deepEqual(views.top_paths, [{ path: '/product', views: 2 }, { path: '/about', views: 1 }]);
    await waitForEvents(site, { page_view: 3, 'File Download': 1, 'Outbound Link: Click': 1 });
    await context.close();
    // Each page's beacon leaves when the page does; they may reach ingestion in either order.
    const byType = customEvents(proxy).sort((a, b) => a[0].localeCompare(b[0]));
    assert.deepEqual(byType, [
      ['File Download', '/product', { url: `${demo.url}/assets/size-guide.pdf` }],
      ['Outbound Link: Click', '/product', { url: 'https://example.org/' }],
    ], proxy.log());
    assert.deepEqual(errors, []);
  } finally {
    demo.stop();
    await proxy.close();
  }
});

test('a not-found page is served with 404 and counts a page view and a "404" event with its path', async () => {
  const site = uniqueSite('e2e-404');
  const proxy = await ingestProxy();
  const demo = await demoSite(site, proxy.url);
  try {
    assert.equal((await fetch(demo.url + '/app/orders/42')).status, 200, 'the SPA fallback stays');
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = watchErrors(page);
    const response = await visit(page, demo.url + '/old-tent-page?ref=mail');
    assert.equal(response.status(), 404);
    assert.equal(await page.textContent('h1'), 'Page not found');
    assert.equal(await page.evaluate(() => window.beacon.tracking), true);
    await page.close({ runBeforeUnload: true });

    const views = await waitForViews(site, 1);
    // Reported without its query string (`ref=mail` became the visit's source).
    assert.deepEqual(views.top_paths, [{ path: '/old-tent-page', views: 1 }]);
    await waitForEvents(site, { page_view: 1, 404: 1 });
    await context.close();
    assert.deepEqual(customEvents(proxy), [['404', '/old-tent-page?ref=mail', { path: '/old-tent-page' }]]);
    assert.deepEqual(errors, []);
  } finally {
    demo.stop();
    await proxy.close();
  }
});

test('revenue from beacon(): each purchase carries it, a revenue goal sums it per currency', async () => {
  const site = uniqueSite('e2e-revenue');
  admin('site', 'add', site, '--public');
  admin('goal', 'add', site, '--event', 'purchase');
  const proxy = await ingestProxy();
  const demo = await demoSite(site, proxy.url);
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = watchErrors(page);
    await visit(page, demo.url + '/product');
    await page.evaluate(() => {
      window.beacon('event', 'purchase', { item: 'tent' }, { revenue: { amount: 249.5, currency: 'EUR' } });
      window.beacon('event', 'purchase', {}, { revenue: { amount: '10.05', currency: 'EUR' } });
      // Refused by ingestion's rules (a lower-case currency): the purchase counts, without revenue.
      window.beacon('event', 'purchase', {}, { revenue: { amount: 5, currency: 'usd' } });
    });
    await page.close({ runBeforeUnload: true });
    await waitForEvents(site, { page_view: 1, purchase: 3 });
    await context.close();
    const sent = distinctEvents(proxy.events()).filter((e) => e.event_type === 'purchase');
    const revenue = sent.map((e) => (e.revenue ? `${e.revenue.amount} ${e.revenue.currency}` : 'none'));
    assert.deepEqual(revenue.sort(), ['10.05 EUR', '249.5 EUR', 'none'], proxy.log());
    const r = await fetch(`${REPORT_URL}/stats/goals?site_id=${site}`);
    const { goals } = await r.json();
    assert.deepEqual(goals.map((g) => [g.name, g.visitors, g.events, g.revenue]), [
      ['purchase', 1, 3, [{ currency: 'EUR', total: 259.55, average: 129.775, events: 2 }]],
    ]);
    assert.deepEqual(errors, []);
  } finally {
    demo.stop();
    await proxy.close();
  }
});

/** A plain page at `path` whose snippet, loaded from `tracker`, has the given extra attributes. */
function patternPage(path, tracker, site, endpoint, attributes) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${path}</title>
<script defer src="${tracker}/beacon.js" data-site="${site}" data-endpoint="${endpoint}"
        data-allow-localhost data-allow-bots ${attributes}></script>
</head><body><h1>${path}</h1></body></html>`;
}

/**
 * Browses `paths` on a site owner's own pages (every path is a page), each with `attributes` on
 * its snippet; `during(page, path)` runs on each page. Pages fulfilled by the browser's request
 * interception would not do: Chromium counts them as public pages and blocks their requests to
 * loopback (Local Network Access), so a real server on another origin serves them.
 */
async function browsePatterns(attributes, paths, during = async () => {}) {
  const site = uniqueSite('e2e-patterns');
  const proxy = await ingestProxy();
  const demo = await demoSite(site, proxy.url);
  const owner = await ownSite((path) => patternPage(path, demo.url, site, `${proxy.url}/event`, attributes));
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = watchErrors(page);
    for (const path of paths) {
      await visit(page, owner.url + path);
      await during(page, path);
    }
    await page.close({ runBeforeUnload: true });
    return { site, proxy, context, errors };
  } finally {
    demo.stop();
    await owner.close();
  }
}

test('data-exclude: nothing is sent from excluded pages, * within a segment and ** across', async () => {
  const { site, proxy, context, errors } = await browsePatterns(
    'data-exclude="/admin/**, /preview/*"',
    ['/', '/admin/users/1', '/preview/draft', '/preview/draft/2'],
    async (page, path) => {
      if (path !== '/admin/users/1') return;
      await page.evaluate(() => window.beacon('event', 'admin_click'));
      // From an excluded page to an included one in a single-page app: counted.
      await page.evaluate(() => history.pushState({}, '', '/blog/post'));
      await sleep(100);
    },
  );
  try {
    const views = await waitForViews(site, 3);
    assert.deepEqual(views.top_paths.map((p) => [p.path, p.views]).sort(),
      [['/', 1], ['/blog/post', 1], ['/preview/draft/2', 1]]);
    await waitForEvents(site, { page_view: 3 });
    assert.deepEqual(distinctEvents(proxy.events()).map((e) => e.path).sort(), ['/', '/blog/post', '/preview/draft/2']);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await proxy.close();
  }
});

test('data-include: only the included pages are counted, data-exclude still applies within them', async () => {
  const { site, proxy, context, errors } = await browsePatterns(
    'data-include="/blog/**" data-exclude="/blog/drafts/*"',
    ['/', '/blog/tents', '/blog/2026/stoves', '/blog/drafts/next', '/about'],
  );
  try {
    const views = await waitForViews(site, 2);
    assert.deepEqual(views.top_paths.map((p) => [p.path, p.views]).sort(),
      [['/blog/2026/stoves', 1], ['/blog/tents', 1]]);
    assert.deepEqual(distinctEvents(proxy.events()).map((e) => e.path).sort(), ['/blog/2026/stoves', '/blog/tents']);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await proxy.close();
  }
});

test('#beacon-ignore=on stops counting this browser on every page, #beacon-ignore=off resumes', async () => {
  const site = uniqueSite('e2e-ignore');
  const proxy = await ingestProxy();
  const demo = await demoSite(site, proxy.url);
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = watchErrors(page);
    const tracking = () => page.evaluate(() => window.beacon.tracking);
    const ignoreSwitch = () => page.evaluate(() => localStorage.getItem('beacon:ignore'));

    await visit(page, demo.url + '/#beacon-ignore=on');
    assert.equal(await tracking(), false);
    assert.equal(await ignoreSwitch(), 'true');
    await visit(page, demo.url + '/about');
    assert.equal(await tracking(), false, 'the switch holds on the next pages');
    await visit(page, demo.url + '/product');
    await page.click('#add-to-cart'); // a custom event: ignored as well
    await page.waitForSelector('#cart-status:has-text("Added to cart.")');
    await sleep(1500);

    await visit(page, demo.url + '/#beacon-ignore=off');
    assert.equal(await tracking(), true);
    assert.equal(await ignoreSwitch(), null);
    await visit(page, demo.url + '/about');
    assert.equal(await tracking(), true);
    await page.close({ runBeforeUnload: true });

    const views = await waitForViews(site, 2);
    assert.deepEqual(views.top_paths.map((p) => [p.path, p.views]).sort(), [['/', 1], ['/about', 1]]);
    await waitForEvents(site, { page_view: 2 });
    await context.close();
    assert.deepEqual(distinctEvents(proxy.events()).map((e) => [e.event_type, e.path]), [['page_view', '/'], ['page_view', '/about']],
      proxy.log());
    assert.deepEqual(errors, []);
  } finally {
    demo.stop();
    await proxy.close();
  }
});
