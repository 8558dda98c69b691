// The dashboard's "Don't count my visits" switch, in a real browser, through the real pipeline:
// the site owner ticks it on the dashboard, browses the shop uncounted, unticks it and is
// counted again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  demoSite, launchBrowser, watchErrors, waitForViews, stats, uniqueSite, sleep, visit, INGEST_URL,
} from './harness.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser.close(); });

test('the dashboard switch stops and restarts counting this browser', async () => {
  const site = uniqueSite('e2e-ignore');
  const demo = await demoSite(site, INGEST_URL);
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = watchErrors(page);

    await page.goto(`${demo.url}/dashboard?site=${site}`);
    await page.check('[data-testid="ignore-me"]');
    assert.equal(await page.evaluate(() => localStorage.getItem('beacon:ignore')), 'true');
    for (const path of ['/', '/product', '/about']) {
      await visit(page, demo.url + path);
      assert.equal(await page.evaluate(() => window.beacon.tracking), false, `${path} is not tracked`);
    }
    await sleep(6000); // past the batch timer: anything queued would have been sent by now
    assert.equal((await stats(site)).total_views, 0, 'nothing was counted while switched off');

    await page.goto(`${demo.url}/dashboard?site=${site}`);
    assert.equal(await page.isChecked('[data-testid="ignore-me"]'), true, 'the switch shows its state');
    await page.uncheck('[data-testid="ignore-me"]');
    await visit(page, demo.url + '/about');
    assert.equal(await page.evaluate(() => window.beacon.tracking), true);
    await page.close({ runBeforeUnload: true });
    const result = await waitForViews(site, 1);
    await context.close();
    assert.deepEqual(result.top_paths, [{ path: '/about', views: 1 }]);
    assert.deepEqual(errors, []);
  } finally {
    demo.stop();
  }
});
