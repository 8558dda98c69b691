// Delivery in normal browsing: how many requests a page view costs (one beacon per page, one
// receipts request on the next), that no event reaches ingestion twice, and the snippet on a
// site owner's own page served from another origin than the tracker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  ingestProxy, demoSite, ownSite, launchBrowser, watchErrors, waitForViews, uniqueSite, sleep, visit, repeatedEids,
} from './harness.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser.close(); });

test('multi-page browsing: every view arrives once, for one event POST per page and one receipts request on the next', async () => {
  const site = uniqueSite('e2e-requests');
  const proxy = await ingestProxy();
  const demo = await demoSite(site, proxy.url);
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = watchErrors(page);
    const paths = ['/', '/product', '/about', '/app/', '/product?item=2'];
    for (const path of paths) {
      await visit(page, demo.url + path);
      // A short read (under the 5 s batch timer, so each view leaves with the page's beacon),
      // long enough for the next page's receipts request, 1 s after its tracker starts.
      await sleep(1500);
    }
    await page.close({ runBeforeUnload: true });
    const views = await waitForViews(site, paths.length);
    assert.deepEqual(views.top_paths.map((p) => [p.path, p.views]).sort(),
      [['/', 1], ['/about', 1], ['/app/', 1], ['/product', 2]]); // stored without the query string
    await context.close();

    const posts = proxy.posts('/event');
    const receipts = proxy.posts('/event/receipts');
    const events = proxy.events();
    assert.deepEqual(repeatedEids(events), [], 'no event reached ingestion twice');
    assert.equal(events.length, paths.length);
    assert.ok(posts.every((r) => r.query === '?receipt=1'), 'every POST /event asks for receipts');
    assert.deepEqual(proxy.state.requests.filter((r) => r.method !== 'POST'), [], 'no preflight');
    // Each page asks about exactly the view the page before it beaconed.
    assert.deepEqual(receipts.map((r) => JSON.parse(r.body).eids), events.slice(0, -1).map((e) => [e.eid]));
    const bytes = (requests) => requests.reduce((n, r) => n + r.bytes, 0);
    const perView = (posts.length + receipts.length) / paths.length;
    console.log(`requests per page view: ${perView.toFixed(2)} (${paths.length} views: ${posts.length} POST /event, ` +
      `${bytes(posts)} body bytes; ${receipts.length} POST /event/receipts, ${bytes(receipts)} body bytes)`);
    assert.equal(posts.length, paths.length);
    assert.equal(receipts.length, paths.length - 1);
    assert.deepEqual(errors, []);
  } finally {
    demo.stop();
    await proxy.close();
  }
});

// A page left before its receipts request (1 s after start) beacons only its own events: the
// earlier pages' beaconed events wait, marked sent, for a later page's receipts.
test('pages left within a second: each event still reaches ingestion once', async () => {
  const site = uniqueSite('e2e-quick');
  const proxy = await ingestProxy();
  const demo = await demoSite(site, proxy.url);
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const paths = ['/', '/product', '/about', '/app/', '/product?item=2'];
    for (const path of paths) await visit(page, demo.url + path); // a quick click through
    await page.close({ runBeforeUnload: true });
    await waitForViews(site, paths.length);
    await context.close();
    const events = proxy.events();
    console.log(`quick clicks: ${proxy.posts('/event').length} POST /event carrying ${events.length} events ` +
      `for ${paths.length} views, ${proxy.posts('/event/receipts').length} receipts requests`);
    assert.deepEqual(repeatedEids(events), [], `${events.length} events posted for ${paths.length} views`);
  } finally {
    demo.stop();
    await proxy.close();
  }
});

test("a site owner's page on another origin loads the tracker from Beacon's and counts each view once", async () => {
  const site = uniqueSite('e2e-origin');
  const proxy = await ingestProxy();
  const demo = await demoSite(site, proxy.url);
  const html = (title) => `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
<script defer src="${demo.url}/beacon.js" data-site="${site}" data-endpoint="${proxy.url}/event"
        data-allow-localhost data-allow-bots></script>
</head><body><h1>${title}</h1>
<button id="pricing" onclick="history.pushState({}, '', '/pricing')">Pricing</button></body></html>`;
  const owner = await ownSite((path) => ({ '/': html('Home'), '/docs': html('Docs') })[path]);
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = watchErrors(page);
    const corsHeaders = [];
    page.on('response', (r) => {
      if (/tracker-wasm/.test(r.url())) corsHeaders.push([new URL(r.url()).pathname, r.headers()['access-control-allow-origin']]);
    });
    await visit(page, owner.url + '/');
    assert.equal(await page.evaluate(() => window.beacon.tracking), true);
    await page.click('#pricing'); // pushState: a page view without a page load
    await sleep(200);
    await visit(page, owner.url + '/docs');
    await sleep(1500);
    await page.close({ runBeforeUnload: true }); // the tab is closed
    const views = await waitForViews(site, 3);
    assert.deepEqual(views.top_paths.map((p) => [p.path, p.views]).sort(), [['/', 1], ['/docs', 1], ['/pricing', 1]]);
    await context.close();
    // Both pages loaded both files, each time with the header that lets another origin use them.
    assert.equal(corsHeaders.length, 4);
    assert.deepEqual([...new Set(corsHeaders.map(([path, allow]) => `${path} ${allow}`))].sort(),
      ['/tracker-wasm.js *', '/tracker-wasm_bg.wasm *']);
    assert.deepEqual(repeatedEids(proxy.events()), []);
    assert.equal(proxy.events().length, 3);
    assert.deepEqual(errors, []);
  } finally {
    demo.stop();
    await owner.close();
    await proxy.close();
  }
});
