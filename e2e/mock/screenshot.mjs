#!/usr/bin/env node
// Screenshots the stats page in headless Chromium, and fails on any uncaught page error: served
// by a running mock (server.mjs), so a change can be checked without the real services, or by a
// real report service.
//
//   node e2e/mock/server.mjs &                                # :8090
//   node e2e/mock/screenshot.mjs [URL] [OUT.png]              # needs playwright-core (e2e/: npm ci)
//
// docs/dashboard.png: the three services (report_service serving dashboard/), ingestion with
// TRUST_X_FORWARDED_FOR=true, RATE_LIMIT_PER_IP=0 and a GEOIP_DB; two weeks of traffic from
// `node e2e/mock/traffic.mjs http://127.0.0.1:3000 demo-shop 14`; `beacon-admin site add
// demo-shop --public --domain shop.example.com`; then
// `HOVER=1 node e2e/mock/screenshot.mjs 'http://127.0.0.1:4000/?site=demo-shop&period=7d' docs/dashboard.png`.
//
// URL defaults to http://127.0.0.1:8090/?site=demo-shop&period=7d, OUT to dashboard.png.
// HOVER=1 also moves the mouse over the chart so the tooltip shows.
import { chromium } from 'playwright-core';

const url = process.argv[2] || 'http://127.0.0.1:8090/?site=demo-shop&period=7d';
const out = process.argv[3] || 'dashboard.png';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => !/Loading/.test(document.getElementById('status').textContent)
    && document.querySelector('#timeseries svg, #timeseries .empty'), null, { timeout: 10000 });
  if (process.env.HOVER) {
    const box = await page.locator('#timeseries svg').boundingBox();
    await page.mouse.move(box.x + box.width * 0.62, box.y + box.height * 0.5);
  }
  await page.screenshot({ path: out, fullPage: true });
  console.log(`${out}: ${await page.textContent('#status')}`);
  if (errors.length) {
    console.error(errors.join('\n'));
    process.exitCode = 1;
  }
} finally {
  await browser.close();
}
