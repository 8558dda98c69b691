// The stats page as the report service serves it, in headless Chromium, with nothing else: no
// demo_site, events sent to ingestion the way a site's server sends them, sites, keys and shared
// links made with the real `beacon-admin`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  admin, awayFromZoneMidnight, launchBrowser, postEvents, waitForViews, watchErrors, uniqueSite, zoneDay, REPORT_URL,
} from './harness.mjs';
import { readsRawEvents } from './report-calls.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser.close(); });

const day = (daysAgo) => new Date(Date.now() - daysAgo * 86400000).toISOString().slice(0, 10);
/** A page view of `user` on `path`, `daysAgo` days ago at 00:0m UTC (today: now). */
function view(site, user, path, daysAgo = 0, minute = 0) {
  const timestamp = daysAgo ? `${day(daysAgo)}T00:0${minute}:00Z` : undefined;
  return { site_id: site, event_type: 'page_view', path, user_id: user, timestamp };
}

const text = (page, testid) => page.textContent(`[data-testid="${testid}"]`);
const waitText = (page, testid, expected) => page.waitForFunction(
  ([id, want]) => document.querySelector(`[data-testid="${id}"]`)?.textContent === want,
  [testid, expected], { timeout: 15000 },
);

/** The page's API requests, to check where they go and what they carry. */
function recordRequests(page) {
  const seen = [];
  page.on('request', (r) => {
    if (r.resourceType() === 'fetch') seen.push({ url: r.url(), authorization: r.headers().authorization });
  });
  return seen;
}

test('the cards show the change against the previous period, from one request', async () => {
  const site = uniqueSite('e2e-compare');
  // Yesterday: 2 people, 2 views. Today: 4 people, 4 views.
  await postEvents([view(site, 'a', '/', 1), view(site, 'b', '/', 1, 1),
    ...['a', 'b', 'c', 'd'].map((u) => view(site, u, '/today'))]);
  await waitForViews(site, 4);
  const page = await browser.newPage();
  const errors = watchErrors(page);
  const requests = recordRequests(page);
  await page.goto(`${REPORT_URL}/?site=${site}`);
  await waitText(page, 'unique-users', '4');
  const change = await page.$eval('#unique-users-change', (el) => ({ ...el.dataset, text: el.textContent }));
  assert.equal(change.change, 'up');
  assert.equal(change.percent, '100');
  assert.match(change.text, /▲ 100% vs\. yesterday/);
  assert.equal(await page.$eval('#total-views-change', (el) => el.dataset.percent), '100');
  // One /stats request gave both periods; every request went to the page's own origin.
  const summaries = requests.filter((r) => new URL(r.url).pathname === '/stats');
  assert.equal(summaries.length, 1);
  assert.equal(new URL(summaries[0].url).searchParams.get('compare'), 'previous_period');
  assert.ok(requests.every((r) => r.url.startsWith(`${REPORT_URL}/`)), JSON.stringify(requests));

  // Yesterday against the day before (nothing): "new"; the last 7 days draw the previous 7.
  await page.selectOption('#period', 'yesterday');
  await waitText(page, 'unique-users', '2');
  assert.match(await page.textContent('#unique-users-change'), /^new vs\. the day before$/);
  await page.selectOption('#period', '7d');
  await waitText(page, 'unique-users', '6');
  // The previous 7 days (no data: a line along zero), one point per day like the current ones.
  // The chart comes from its own request: the cards can show the 7 days while it still draws
  // yesterday's 24 hours.
  const points = () => page.$eval('[data-testid="previous-line"]', (el) => el.getAttribute('d').split('L').length);
  await page.waitForFunction(
    () => document.querySelector('[data-testid="previous-line"]')?.getAttribute('d').split('L').length === 7,
    null, { timeout: 15000 },
  ).catch(() => {});
  assert.equal(await points(), 7);
  assert.match(page.url(), /[?&]period=7d/);
  const periods = await page.$$eval('#period option', (os) => os.map((o) => o.value));
  assert.deepEqual(periods, ['today', 'yesterday', '7d', '30d', 'month', 'custom']);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a private site: sign in with a key, then a shared link opens it read-only', async () => {
  const site = uniqueSite('e2e-private');
  admin('site', 'add', site);
  const key = admin('key', 'add', site, '--label', 'e2e').trim().split('\n').pop();
  await postEvents([view(site, 'a', '/'), view(site, 'b', '/pricing'), view(site, 'c', '/')]);
  await waitForViews(site, 3, 30000, key);
  admin('site', 'set', site, '--domain', 'shop.example');

  // No key: the page says the site is private and shows no numbers.
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchErrors(page);
  const requests = recordRequests(page);
  await page.goto(`${REPORT_URL}/?site=${site}`);
  await page.waitForSelector('[data-testid="signin"]:not([hidden])');
  assert.equal(await page.isHidden('[data-testid="report"]'), true);
  assert.match(await text(page, 'signin-message'), /Sign in with one of its API keys/);

  // A wrong key is refused and said so; the right one shows the numbers.
  await page.fill('[data-testid="api-key"]', 'bk_0000');
  await page.click('#signin-form button');
  await page.waitForFunction(() => /was not accepted/.test(document.querySelector('[data-testid="signin-message"]').textContent));
  requests.length = 0;
  await page.fill('[data-testid="api-key"]', key);
  await page.click('#signin-form button');
  await waitText(page, 'total-views', '3');
  assert.equal(await text(page, 'unique-users'), '3');
  assert.match(await text(page, 'session'), /Signed in to .* with an API key/);
  // The key is in this tab's sessionStorage and in headers, never in a URL.
  assert.ok((await page.evaluate(() => sessionStorage.getItem('beacon.auth'))).includes(key));
  const signedIn = requests.filter((r) => r.authorization);
  assert.ok(signedIn.length >= 4, JSON.stringify(requests));
  assert.ok(signedIn.every((r) => r.authorization === `Bearer ${key}`));
  assert.ok(requests.every((r) => !r.url.includes(key)) && !page.url().includes(key));
  // The registered site's domain gives the "don't count my visits" link.
  await page.waitForSelector('[data-testid="self-exclusion"]:not([hidden])');
  assert.equal(await page.getAttribute('[data-testid="self-exclusion"] a', 'href'), 'https://shop.example/#beacon-ignore=on');
  // A reload keeps the tab signed in; signing out forgets the key.
  await page.reload();
  await waitText(page, 'total-views', '3');
  await page.click('[data-testid="sign-out"]');
  await page.waitForSelector('[data-testid="signin"]:not([hidden])');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('beacon.auth')), '{}');
  assert.deepEqual(errors, []);
  await context.close();

  // A shared link: opening it just works, in a fresh browser context, and the token leaves the
  // address bar at once.
  const url = admin('link', 'add', site, '--base-url', REPORT_URL).trim().split('\n').pop();
  const token = url.split('#auth=')[1];
  assert.ok(url.startsWith(`${REPORT_URL}/?site=${site}#auth=bs_`), url);
  const shared = await browser.newContext();
  const viewer = await shared.newPage();
  const viewerErrors = watchErrors(viewer);
  const viewerRequests = recordRequests(viewer);
  await viewer.goto(url);
  await waitText(viewer, 'total-views', '3');
  assert.equal(new URL(viewer.url()).hash, '');
  assert.match(await text(viewer, 'session'), /shared link \(read-only\)/);
  assert.ok(viewerRequests.every((r) => !r.url.includes(token)));
  assert.ok(viewerRequests.some((r) => r.authorization === `Bearer ${token}`));

  // Revoked: the next load is refused and the page says so, and forgets the token.
  admin('link', 'revoke', site, url);
  await viewer.reload();
  await viewer.waitForFunction(() => /shared link .* was not accepted/.test(document.querySelector('[data-testid="signin-message"]')?.textContent));
  assert.equal(await viewer.isHidden('[data-testid="report"]'), true);
  assert.equal(await viewer.evaluate(() => sessionStorage.getItem('beacon.auth')), '{}');
  assert.deepEqual(viewerErrors, []);

  // Another site's shared link opens nothing here.
  const other = uniqueSite('e2e-other');
  admin('site', 'add', other);
  const otherUrl = admin('link', 'add', other, '--base-url', REPORT_URL).trim().split('\n').pop();
  await viewer.goto(`${REPORT_URL}/?site=${site}#auth=${otherUrl.split('#auth=')[1]}`);
  await viewer.waitForFunction(() => /was not accepted/.test(document.querySelector('[data-testid="signin-message"]')?.textContent));
  await shared.close();
});

test('the filter form adds wildcards, alternatives and negations; a clicked row stays literal', async () => {
  const site = uniqueSite('e2e-filters');
  await postEvents([view(site, 'a', '/blog/one'), view(site, 'b', '/blog/2026/two'), view(site, 'c', '/shop'),
    view(site, 'd', '/a|b')]);
  await waitForViews(site, 4);
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(`${REPORT_URL}/?site=${site}`);
  await waitText(page, 'unique-users', '4');
  const addFilter = async (prop, op, value) => {
    await page.selectOption('#filter-prop', prop);
    await page.selectOption('#filter-op', op);
    await page.fill('#filter-value', value);
    await page.click('#filter-form button');
  };
  await addFilter('path', '==', '/blog/*');
  await waitText(page, 'unique-users', '1');
  assert.equal(await text(page, 'filter-chip'), 'Page is /blog/*×');
  await page.click('[data-testid="filter-chip"] button');
  await addFilter('path', '==', '/blog/**|/shop');
  await waitText(page, 'unique-users', '3');
  assert.match(await text(page, 'filter-chip'), /^Page is \/blog\/\*\* or \/shop/);
  assert.equal(new URL(page.url()).searchParams.get('filters'), 'path==/blog/**|/shop');
  await page.click('[data-testid="filter-chip"] button');
  await addFilter('path', '!~=', 'blog');
  await waitText(page, 'unique-users', '2');
  await page.click('[data-testid="filter-chip"] button');
  await waitText(page, 'unique-users', '4');
  // A clicked row means that value, even with a `|` in it.
  await page.click('[data-testid="top-pages"] button:has(g[data-path="/a|b"])');
  await waitText(page, 'unique-users', '1');
  assert.equal(new URL(page.url()).searchParams.get('filters'), 'path==/a\\|b');
  assert.deepEqual(errors, []);
  await page.close();
});

test('custom properties: the keys in a picker, the values of one as bars, a click filters by one', async () => {
  const site = uniqueSite('e2e-props');
  const signup = (user, props) => ({ site_id: site, event_type: 'signup', path: '/pricing', user_id: user, props });
  await postEvents([view(site, 'a', '/'), view(site, 'b', '/'), view(site, 'c', '/'),
    signup('a', { plan: 'pro', seats: 3 }), signup('b', { plan: 'pro' }), signup('c', { plan: 'team' })]);
  await waitForViews(site, 3);
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(`${REPORT_URL}/?site=${site}`);
  await waitText(page, 'unique-users', '3');
  const rows = () => page.$$eval('[data-testid="breakdown-props"] li.bd-row',
    (lis) => lis.map((li) => [li.dataset.value, li.querySelector('[data-key="visitors"]').textContent]));
  await page.waitForSelector('[data-testid="breakdown-props"] li.bd-row');
  assert.deepEqual(await page.$$eval('#prop-key option', (os) => os.map((o) => o.value)), ['plan', 'seats']);
  assert.deepEqual(await rows(), [['pro', '2'], ['team', '1']]);
  await page.selectOption('#prop-key', 'seats');
  await page.waitForFunction(() => document.querySelector('[data-testid="breakdown-props"] li.bd-row')?.dataset.value === '3');
  // A key already chosen is asked for together with the keys (one raw-event load on the server).
  const [keys, seats] = await page.evaluate(() => ['property=props&', 'property=props.seats'].map((q) => performance
    .getEntriesByType('resource').filter((e) => e.name.includes(q)).map((e) => ({ start: e.startTime, end: e.responseEnd })).at(-1)));
  assert.ok(seats.start < keys.end, JSON.stringify({ keys, seats }));
  await page.selectOption('#prop-key', 'plan');
  await page.waitForFunction(() => document.querySelector('[data-testid="breakdown-props"] li.bd-row')?.dataset.value === 'pro');
  await page.click('[data-testid="breakdown-props"] li.bd-row[data-value="team"] button');
  await waitText(page, 'unique-users', '1');
  assert.equal(await text(page, 'filter-chip'), 'plan is team×');
  assert.equal(new URL(page.url()).searchParams.get('filters'), 'props.plan==team');
  // The filter survives a reload from the address bar.
  await page.reload();
  await waitText(page, 'unique-users', '1');
  assert.deepEqual(errors, []);
  await page.close();
});

test('channels: visits grouped from referrers and campaign tags, a click filters by one', async () => {
  const site = uniqueSite('e2e-channels');
  const from = (user, referrer, path = '/') => ({ ...view(site, user, path), referrer });
  await postEvents([from('a', 'https://www.google.com/'), from('b', 'https://duckduckgo.com/'),
    from('c', 'https://t.co/x'), view(site, 'd', '/?utm_source=newsletter&utm_medium=email'),
    view(site, 'e', '/')]);
  await waitForViews(site, 5);
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(`${REPORT_URL}/?site=${site}`);
  await waitText(page, 'unique-users', '5');
  await page.click('[data-panel="sources"] [role="tab"][data-prop="channel"]');
  const rows = '[data-testid="breakdown-channel"] li.bd-row';
  await page.waitForSelector(rows);
  const shown = await page.$$eval(rows,
    (lis) => lis.map((li) => [li.dataset.value, li.querySelector('[data-key="visitors"]').textContent]));
  assert.deepEqual(shown, [['Organic Search', '2'], ['Direct', '1'], ['Email', '1'], ['Organic Social', '1']]);
  await page.click(`${rows}[data-value="Organic Search"] button`);
  await waitText(page, 'unique-users', '2');
  assert.equal(new URL(page.url()).searchParams.get('filters'), 'channel==Organic Search');
  assert.deepEqual(errors, []);
  await page.close();
});

test('goals and a funnel: conversions per goal, and visitors through the steps with drop-off', async () => {
  const site = uniqueSite('e2e-goals');
  admin('site', 'add', site, '--public');
  admin('goal', 'add', site, '--page', '/thanks');
  admin('goal', 'add', site, '--event', 'signup');
  admin('funnel', 'add', site, 'checkout', '--step', 'page:/', '--step', 'page:/pricing', '--step', 'event:signup');
  const signup = (user) => ({ site_id: site, event_type: 'signup', path: '/pricing', user_id: user });
  await postEvents([view(site, 'a', '/'), view(site, 'a', '/pricing'), signup('a'), view(site, 'a', '/thanks'),
    view(site, 'b', '/'), view(site, 'b', '/pricing'), view(site, 'c', '/'), view(site, 'd', '/about')]);
  await waitForViews(site, 7);
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(`${REPORT_URL}/?site=${site}`);
  await waitText(page, 'unique-users', '4');
  await page.waitForSelector('[data-testid="goals"] li.bd-row');
  const goals = await page.$$eval('[data-testid="goals"] li.bd-row', (lis) => lis.map((li) =>
    [li.dataset.goal, li.querySelector('[data-key="visitors"]').textContent, li.querySelector('[data-key="conversion_rate"]').textContent]));
  assert.deepEqual(goals, [['Visit /thanks', '1', '25%'], ['signup', '1', '25%']]);
  await page.waitForSelector('[data-testid="funnel"] li.funnel-step');
  const steps = await page.$$eval('[data-testid="funnel"] li.funnel-step', (lis) => lis.map((li) => Number(li.dataset.visitors)));
  assert.deepEqual(steps, [3, 2, 1]);
  assert.equal(await text(page, 'funnel-conversion'), '33.3% converted');
  assert.match(await page.textContent('[data-testid="funnel"] li.funnel-step[data-step="2"]'), /1 dropped off \(33\.3%\)/);
  // The reports read from raw events are asked for only once those read from rollups have
  // answered, and every answer carries the service's own time (Server-Timing).
  await page.waitForLoadState('networkidle');
  const calls = await page.evaluate(() => performance.getEntriesByType('resource')
    .filter((e) => /\/stats/.test(new URL(e.name).pathname))
    .map((e) => ({ url: e.name, start: e.startTime, end: e.responseEnd, server: e.serverTiming.map((t) => [t.name, t.duration]) })));
  const scans = calls.filter((c) => readsRawEvents(c.url));
  const rollups = calls.filter((c) => !readsRawEvents(c.url) && !c.url.includes('/stats/realtime'));
  assert.equal(scans.length, 3, JSON.stringify(calls)); // goals, the funnel, the custom property keys
  assert.ok(rollups.length >= 3, JSON.stringify(calls)); // the summary, the chart, the breakdowns
  const rollupsDone = Math.max(...rollups.map((c) => c.end));
  assert.ok(scans.every((c) => c.start >= rollupsDone), JSON.stringify({ rollupsDone, scans }));
  for (const c of calls) {
    assert.equal(c.server.length, 1, JSON.stringify(c));
    assert.equal(c.server[0][0], 'app');
    assert.ok(c.server[0][1] > 0 && c.server[0][1] < 30000, JSON.stringify(c));
  }
  assert.deepEqual(errors, []);
  await page.close();
});

test('the live view: the last 30 minutes per minute with their top pages and sources', async () => {
  const site = uniqueSite('e2e-live');
  await postEvents([view(site, 'a', '/'), view(site, 'b', '/'), view(site, 'c', '/pricing')]);
  await waitForViews(site, 3);
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(`${REPORT_URL}/?site=${site}`);
  await waitText(page, 'unique-users', '3');
  assert.equal(await page.isVisible('[data-testid="realtime-card"]'), false);
  await page.click('[data-testid="realtime-toggle"]');
  await page.waitForSelector('[data-testid="live-pages"] li[data-value="/pricing"]');
  const pages = await page.$$eval('[data-testid="live-pages"] li', (lis) => lis.map((li) => [li.dataset.value, li.querySelector('b').textContent]));
  assert.deepEqual(pages, [['/', '2'], ['/pricing', '1']]);
  const minutes = await page.$$eval('[data-testid="live-minutes"] span', (ss) => ss.map((s) => Number(s.dataset.visitors)));
  assert.equal(minutes.length, 30);
  assert.equal(minutes.reduce((a, b) => a + b, 0), 3);
  assert.equal(await page.getAttribute('[data-testid="realtime-toggle"]', 'aria-expanded'), 'true');
  assert.deepEqual(errors, []);
  await page.close();
});

test("a site with a time zone: today is the zone's day, the hours its local hours", async () => {
  const site = uniqueSite('e2e-zone');
  admin('site', 'add', site, '--public');
  admin('site', 'set', site, '--timezone', 'Pacific/Kiritimati');
  await awayFromZoneMidnight('Pacific/Kiritimati');
  const kiritimati = zoneDay('Pacific/Kiritimati');
  await postEvents([view(site, 'a', '/')]);
  // The view counts on the zone's day, a day ahead of UTC from 10:00 UTC on.
  await waitForViews(site, 1, 30000, undefined, kiritimati);
  const page = await browser.newPage();
  const errors = watchErrors(page);
  const requests = recordRequests(page);
  await page.goto(`${REPORT_URL}/?site=${site}`);
  await waitText(page, 'unique-users', '1');
  const summary = requests.find((r) => new URL(r.url).pathname === '/stats');
  assert.equal(new URL(summary.url).searchParams.get('date'), kiritimati);
  await page.waitForSelector('[data-testid="timeseries"] table td', { state: 'attached' });
  const table = await page.$$eval('[data-testid="timeseries"] table td:first-child', (tds) => tds.map((td) => td.textContent));
  assert.ok(table.every((t) => t.endsWith('UTC+14:00')), JSON.stringify(table));
  // The hours up to now, from the zone's midnight.
  assert.match(table[0], /, 00:00–00:59 UTC\+14:00$/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('imported history: a Plausible export reads on the dashboard like tracked days', async () => {
  const site = uniqueSite('e2e-imported');
  const fixtures = new URL('../../backend/tests/fixtures/plausible', import.meta.url).pathname;
  assert.match(admin('import', 'plausible', fixtures, '--site', site), /imported \S+ 2024-03-01\.\.2024-03-03/);
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(`${REPORT_URL}/?site=${site}&period=custom&from=2024-03-01&to=2024-03-03`);
  await waitText(page, 'unique-users', '35');
  assert.equal(await text(page, 'total-views'), '95');
  assert.equal(await text(page, 'visits'), '43');
  const rows = (testid) => page.$$eval(`[data-testid="${testid}"] li.bd-row`,
    (lis) => lis.map((li) => [li.dataset.value, li.querySelector('[data-key="visitors"]').textContent]));
  // Top pages by views over the three days: 54, 20, 14 and 1.
  await page.waitForSelector('[data-testid="top-pages"] li.bd-row');
  assert.deepEqual(await page.$$eval('[data-testid="top-pages"] li.bd-row', (lis) => lis.map((li) => li.dataset.value)),
    ['/', '/cart', '/pricing', '/about']);
  await page.click('[data-panel="sources"] [role="tab"][data-prop="source"]');
  await page.waitForSelector('[data-testid="breakdown-source"] li.bd-row');
  assert.deepEqual((await rows('breakdown-source')).sort(),
    [['Direct', '4'], ['Google', '6'], ['Hacker News', '20']]);
  assert.deepEqual(errors, []);
  await page.close();
});
