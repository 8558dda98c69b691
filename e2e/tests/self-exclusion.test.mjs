// The demo shop's "Don't count my visits" switch (on its About page), in a real browser, through
// the real pipeline: the site owner ticks it, browses the shop uncounted, unticks it and is
// counted again. (The stats page, on the report service's origin, links to the site's own
// `#beacon-ignore=on` instead: dashboard.test.mjs.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  demoSite, launchBrowser, watchErrors, waitForViews, stats, uniqueSite, sleep, visit, INGEST_URL,
} from './harness.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser.close(); });

test("the shop's switch stops and restarts counting this browser", async () => {
  const site = uniqueSite('e2e-ignore');
  const demo = await demoSite(site, INGEST_URL);
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = watchErrors(page);

    await visit(page, `${demo.url}/about`); // counted: the switch is still off
    await waitForViews(site, 1);
    await page.check('[data-testid="ignore-me"]');
    assert.equal(await page.evaluate(() => localStorage.getItem('beacon:ignore')), 'true');
    for (const path of ['/', '/product', '/app/']) {
      await visit(page, demo.url + path);
      assert.equal(await page.evaluate(() => window.beacon.tracking), false, `${path} is not tracked`);
    }
    await sleep(6000); // past the batch timer: anything queued would have been sent by now
    assert.equal((await stats(site)).total_views, 1, 'only the first /about was counted while switched off');

    await page.goto(`${demo.url}/about`);
    assert.equal(await page.isChecked('[data-testid="ignore-me"]'), true, 'the switch shows its state');
    await page.uncheck('[data-testid="ignore-me"]');
    await visit(page, demo.url + '/product');
    assert.equal(await page.evaluate(() => window.beacon.tracking), true);
    await page.close({ runBeforeUnload: true });
    const result = await waitForViews(site, 2);
    await context.close();
    assert.deepEqual(result.top_paths, [{ path: '/about', views: 1 }, { path: '/product', views: 1 }]);
    assert.deepEqual(errors, []);
  } finally {
    demo.stop();
  }
});
