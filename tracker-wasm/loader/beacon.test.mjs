// Unit tests of beacon.js (options, hooks, batching, outbox, delivery, backoff) in a scripted
// browser: no real browser, network or wasm. The wasm's exports are stood in for by a fake that
// turns each call into a small JSON event (the real event building is tested by
// `cargo test -p tracker-wasm`; the real browser by e2e/tests/tracker.test.mjs).
//
//   node --test tracker-wasm/loader/beacon.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import vm from 'node:vm';

const SOURCE = fs.readFileSync(new URL('./beacon.js', import.meta.url), 'utf8')
  // vm scripts have no module loader: the glue's dynamic import goes to the fake.
  .replace("import(new URL('tracker-wasm.js', S))", 'importGlue()');
assert.ok(SOURCE.includes('importGlue()'), 'beacon.js still imports tracker-wasm.js');

const T0 = 1_795_600_800_000;
const DAY = 24 * 60 * 60 * 1000;

/** A scripted browser page; `storage` is shared between pages of one "browser". */
function page({ attrs = { site: 'site123' }, storage = new Map(), href = '/', beacon = true, trap = false, setup } = {}) {
  const b = {
    now: T0, timers: [], fetches: [], beacons: [], listeners: {}, errors: [],
    storage, storageBroken: false, beaconWorks: beacon, calls: [],
  };
  const url = new URL(href, 'https://shop.example.com');
  const location = { pathname: url.pathname, search: url.search, hash: url.hash, hostname: 'shop.example.com' };
  const listen = (name) => (type, fn) => { (b.listeners[name + ':' + type] ||= []).push(fn) };
  const localStorage = {
    getItem: (k) => { if (b.storageBroken) throw new Error('SecurityError'); return storage.has(k) ? storage.get(k) : null },
    setItem: (k, v) => { if (b.storageBroken) throw new Error('QuotaExceededError'); storage.set(k, String(v)) },
    removeItem: (k) => { if (b.storageBroken) throw new Error('SecurityError'); storage.delete(k) },
  };
  // The wasm's exports, faked: a navigation counts when the path changed; events are numbered.
  let slots = [], props = [], last, started = false, hashMode = false, eid = 0;
  const glue = {
    default: () => Promise.resolve(),
    put: (i, s) => { assert.equal(typeof s, 'string'); slots[i] = s },
    start: (hash) => {
      started = /^[A-Za-z0-9._:-]{1,128}$/.test(slots[0]) && !started;
      hashMode = hash;
      b.calls.push(['start', slots[0], hash]);
      return started;
    },
    prop: (kind, n) => { props.push([slots[6], kind, slots[7], n]) },
    track: (kind, width, now, r0) => {
      if (trap && b.calls.length > 1) throw new WebAssembly.RuntimeError('unreachable');
      const [name, pathname, search, hash] = slots.slice(1);
      const key = pathname + (hashMode ? hash : ''), p = props;
      props = [];
      if (kind === 0 && key === last) return undefined;
      if (kind < 2) last = key;
      if (kind === 2 && !name) return undefined;
      b.calls.push(['track', kind, name, p]);
      return JSON.stringify({ event_type: kind === 2 ? name : 'page_view', path: pathname + search, eid: ++eid + '/' + T0 % 7, r: typeof r0 });
    },
  };
  const window = {
    document: {
      currentScript: { dataset: attrs, src: 'https://stats.example.com/js/beacon.js' },
      referrer: '', visibilityState: 'visible', addEventListener: listen('document'),
    },
    navigator: {
      sendBeacon(url, body) {
        assert.equal(this, window.navigator, 'called as a method');
        b.beacons.push({ url, body });
        return b.beaconWorks;
      },
    },
    location,
    history: {
      pushState(state, title, to) { Object.assign(location, pageOf(to)); return 'pushed' },
      replaceState(state, title, to) { Object.assign(location, pageOf(to)) },
    },
    screen: { width: 390 },
    performance: { now: () => 12.5 },
    crypto: { getRandomValues: (a) => a.fill(7) },
    localStorage,
    addEventListener: listen('window'),
    setTimeout: (fn, ms) => { b.timers.push({ at: b.now + ms, ms, fn }); return b.timers.length },
    fetch: (url, init) => {
      if (!init) return new Promise(() => {}); // the .wasm
      if (b.fetchThrows) throw new TypeError('Failed to parse URL');
      let settle;
      const promise = new Promise((ok, fail) => { settle = { ok, fail } });
      b.fetches.push({ url: String(url), init, body: init.body, settle });
      return promise;
    },
    importGlue: () => Promise.resolve(glue),
    Blob, URL, Uint32Array,
  };
  window.window = window;
  if (setup) setup(window, b);
  const context = vm.createContext(window);
  vm.runInContext('Date.now = () => clock(); Math.random = () => 1', Object.assign(context, { clock: () => b.now }));
  vm.runInContext(SOURCE, context);
  b.window = window;
  return b;
}

function pageOf(to) {
  const u = new URL(to, 'https://shop.example.com');
  return { pathname: u.pathname, search: u.search, hash: u.hash };
}

/** Lets the loader's promise callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

async function ready(b) {
  await settle();
  assert.equal(b.window.beacon.ready, 12.5, 'the tracker is running');
  return b;
}

/** Moves the clock on, firing the timers that come due (in order). */
async function advance(b, ms) {
  const end = b.now + ms;
  for (;;) {
    const due = b.timers.filter((t) => t.at <= end).sort((x, y) => x.at - y.at)[0];
    if (!due) break;
    b.timers.splice(b.timers.indexOf(due), 1);
    b.now = Math.max(b.now, due.at);
    due.fn();
    await settle();
  }
  b.now = end;
}

const events = (body) => JSON.parse(body);
const paths = (body) => events(body).map((e) => e.event_type + ' ' + e.path);
const fire = (b, key) => (b.listeners[key] || []).forEach((fn) => fn({}));
const hide = (b) => { b.window.document.visibilityState = 'hidden'; fire(b, 'document:visibilitychange') };
const answer = async (f, status, headers = {}) => {
  f.settle.ok({ status, headers: { get: (h) => headers[h] ?? null } });
  await settle();
};
const outbox = (b) => (b.storage.get('beacon:outbox') || '').split('\n').filter(Boolean);

test('page views and custom events are batched and flushed 5 s after the first', async () => {
  const b = await ready(page({ href: '/?a=1' }));
  const h = b.window.history;
  assert.equal(h.pushState(null, '', '/pricing?utm_source=news'), 'pushed', 'the original result');
  h.replaceState(null, '', '/pricing?sort=price'); // same page: not counted
  b.window.beacon('event', 'signup', { plan: 'pro', seats: 3, trial: false, nested: {}, off: null });
  b.window.beacon('pageview');
  b.window.beacon('event', 42); // not a name: ignored
  b.window.beacon('nonsense');
  assert.equal(b.fetches.length, 0, 'nothing sent before the timer');
  assert.deepEqual(b.timers.map((t) => t.ms), [5000]);
  await advance(b, 5000);
  assert.equal(b.fetches.length, 1);
  const f = b.fetches[0];
  assert.equal(f.url, 'https://stats.example.com/event', 'default endpoint: the loader origin + /event');
  assert.deepEqual({ ...f.init, body: undefined }, { method: 'POST', body: undefined, mode: 'cors', keepalive: true });
  assert.equal(typeof f.body, 'string', 'a string body: text/plain, no preflight');
  assert.deepEqual(paths(f.body), [
    'page_view /?a=1', 'page_view /pricing?utm_source=news', 'signup /pricing?sort=price', 'page_view /pricing?sort=price',
  ]);
  const signup = b.calls.find((c) => c[0] === 'track' && c[2] === 'signup');
  assert.deepEqual(signup[3], [
    ['plan', 1, 'pro', 0], ['seats', 2, '3', 3], ['trial', 3, '', 0], ['nested', 0, '', 0], ['off', 0, '', 0],
  ], 'each property with its kind; what is not a string, number or boolean goes as kind 0');
  assert.equal(outbox(b).length, 4, 'in the outbox until answered');
  await answer(f, 202);
  assert.deepEqual(outbox(b), [], 'delivered: out of the outbox');
});

test('ten queued events flush at once; calls made before the tracker ran are kept', async () => {
  const b = page({
    setup: (w) => {
      w.beacon = function () { (w.beacon.q = w.beacon.q || []).push(arguments) };
      w.beacon('event', 'early', { plan: 'pro' });
    },
  });
  await ready(b);
  for (let i = 0; i < 8; i++) b.window.beacon('event', 'e' + i);
  assert.equal(b.fetches.length, 1, 'the 10th event flushed');
  assert.deepEqual(paths(b.fetches[0].body).slice(0, 2), ['page_view /', 'early /']);
});

test('a hidden page beacons its outbox once; the next page load confirms it by fetch with the same eids', async () => {
  const storage = new Map();
  const first = await ready(page({ storage }));
  first.window.beacon('event', 'signup');
  hide(first);
  fire(first, 'window:pagehide');
  assert.equal(first.beacons.length, 1, 'pagehide after visibilitychange: not beaconed twice');
  assert.equal(first.beacons[0].url, 'https://stats.example.com/event');
  const sent = events(first.beacons[0].body).map((e) => e.eid);
  assert.equal(outbox(first).length, 2, 'a beacon is not a confirmation');
  assert.equal(first.fetches.length, 0);

  const next = await ready(page({ storage, href: '/about' }));
  assert.deepEqual(events(next.fetches[0].body).map((e) => e.eid), sent, 'the stored batch first, same eids');
  await answer(next.fetches[0], 202);
  assert.deepEqual(outbox(next), []);
  await advance(next, 5000);
  assert.deepEqual(paths(next.fetches[1].body), ['page_view /about']);
});

test('a refused or missing sendBeacon falls back to fetch', async () => {
  const b = await ready(page({ beacon: false }));
  hide(b);
  assert.equal(b.beacons.length, 1);
  assert.equal(b.fetches.length, 1, 'fetch with keepalive instead');
  assert.equal(b.fetches[0].init.keepalive, true);

  const gone = await ready(page({ setup: (w) => { delete w.navigator.sendBeacon } }));
  fire(gone, 'window:pagehide');
  assert.equal(gone.fetches.length, 1);
});

test('failures back off exponentially, one fetch at a time, never under Retry-After', async () => {
  const b = await ready(page());
  await advance(b, 5000);
  const waits = [];
  for (let i = 0; i < 10; i++) {
    assert.equal(b.fetches.length, i + 1, 'one fetch in flight');
    const before = b.timers.length;
    if (i === 3) await answer(b.fetches[i], 503, { 'retry-after': '60' });
    else if (i % 2) await answer(b.fetches[i], i === 1 ? 429 : 500);
    else { b.fetches[i].settle.fail(new TypeError('Failed to fetch')); await settle() }
    const timer = b.timers.slice(before).at(-1);
    waits.push(timer.ms);
    b.window.beacon('event', 'while-waiting');
    await advance(b, timer.ms - 1);
    assert.equal(b.fetches.length, i + 1, 'no attempt before the wait is over');
    await advance(b, 1);
  }
  // Math.random() is 1 here: the full step (jitter takes it down to half at most).
  assert.deepEqual(waits, [2000, 4000, 8000, 60000, 32000, 64000, 128000, 256000, 300000, 300000]);
  await answer(b.fetches[10], 200);
  await advance(b, 5000);
  for (const f of b.fetches.slice(11)) await answer(f, 200);
  assert.deepEqual(outbox(b), []);
  b.fetches.at(-1).settle.fail(new TypeError('late')); // a stray answer changes nothing
  await settle();
  assert.equal(b.timers.filter((t) => t.at > b.now).length, 0);
});

test('a 4xx other than 408/429 drops the batch; stored events over 24 h old are not sent', async () => {
  const b = await ready(page());
  await advance(b, 5000);
  await answer(b.fetches[0], 400);
  assert.deepEqual(outbox(b), []);
  assert.equal(b.fetches.length, 1, 'no retry');

  const storage = new Map([['beacon:outbox', [
    `${T0 - DAY - 1} {"eid":"old"}`, 'garbage', `${T0 - DAY} {"eid":"day"}`, `${T0} {"eid":"now","p":"a\u2028b"}`,
  ].join('\n')]]);
  const later = await ready(page({ storage }));
  assert.deepEqual(events(later.fetches[0].body).map((e) => e.eid), ['day', 'now']);
});

test('the outbox keeps the newest 200 events and 64 KiB', async () => {
  const line = (i, pad = '') => `${T0} {"eid":"${i}"${pad}}`;
  const many = () => new Map([['beacon:outbox', Array.from({ length: 250 }, (_, i) => line(i)).join('\n')]]);
  const b = await ready(page({ storage: many() }));
  const first = events(b.fetches[0].body);
  assert.equal(first.length, 100, 'at most 100 events a request');
  assert.equal(first[0].eid, '50', 'the oldest 50 of 250 went');
  await advance(b, 5000); // this page's view joins the outbox
  assert.equal(outbox(b).length, 200);
  assert.equal(outbox(b)[0], line(51));
  const big = new Map([['beacon:outbox', Array.from({ length: 10 }, (_, i) => line(i, `,"p":"${'é'.repeat(5000)}"`)).join('\n')]]);
  const bytes = await ready(page({ storage: big }));
  assert.deepEqual(events(bytes.fetches[0].body).map((e) => e.eid), ['4', '5', '6'], '64 KiB of UTF-8, then 32 KiB a request');
  assert.ok(new Blob([bytes.fetches[0].body]).size <= 32 * 1024);
});

test('a fetch that throws drops its chunk without looping; without storage, failures are retried in the page', async () => {
  const b = await ready(page({ setup: (w, s) => { s.fetchThrows = true } }));
  for (let i = 0; i < 150; i++) b.window.beacon('event', 'e');
  await advance(b, 5000);
  assert.deepEqual(outbox(b), []);
  assert.equal(b.timers.filter((t) => t.at > b.now).length, 0, 'no retry scheduled');

  const c = await ready(page());
  c.storageBroken = true;
  await advance(c, 5000);
  await answer(c.fetches[0], 503);
  await advance(c, 2000);
  assert.equal(c.fetches.length, 2, 'retried from memory');
  assert.equal(c.fetches[1].body, c.fetches[0].body);
  await answer(c.fetches[1], 204);
  await advance(c, 600000);
  assert.equal(c.fetches.length, 2);
});

test('options and opt-outs', async () => {
  const run = async (attrs, setup) => {
    const b = page({ attrs, setup });
    await ready(b);
    return b;
  };
  const tracked = (b) => b.calls.some((c) => c[0] === 'track');
  assert.ok(tracked(await run({ site: ' site123 ' })));
  assert.equal((await run({ site: ' site123 ' })).calls[0][1], 'site123', 'trimmed');
  assert.ok(!tracked(await run({})), 'no data-site');
  assert.ok(!tracked(await run({ site: 'has space' })), 'invalid data-site');
  const bot = (w) => { w.navigator.webdriver = true };
  assert.ok(!tracked(await run({ site: 's' }, bot)), 'bots skipped by default');
  assert.ok(tracked(await run({ site: 's', allowBots: '' }, bot)));
  assert.ok(!tracked(await run({ site: 's', allowBots: 'false' }, bot)));
  const local = (host) => (w) => { w.location.hostname = host };
  for (const host of ['localhost', 'app.localhost', '127.0.0.1', '[::1]', '']) {
    assert.ok(!tracked(await run({ site: 's' }, local(host))), host);
    assert.ok(tracked(await run({ site: 's', allowLocalhost: 'yes' }, local(host))), host);
  }
  assert.ok(tracked(await run({ site: 's' }, local('localhost.example.com'))));
  const dnt = (w) => { w.navigator.doNotTrack = '1' };
  const gpc = (w) => { w.navigator.globalPrivacyControl = true };
  assert.ok(tracked(await run({ site: 's' }, dnt)), 'DNT ignored unless data-respect-dnt');
  assert.ok(!tracked(await run({ site: 's', respectDnt: '' }, dnt)));
  assert.ok(!tracked(await run({ site: 's', respectDnt: 'true' }, gpc)));
  assert.ok(tracked(await run({ site: 's', respectDnt: 'OFF' }, gpc)));

  const hashed = await run({ site: 's', hash: '', endpoint: ' https://in.example.com/e ' });
  assert.deepEqual(hashed.calls[0], ['start', 's', true]);
  hashed.window.history.pushState(null, '', '/#/inbox');
  await advance(hashed, 5000);
  assert.equal(hashed.fetches[0].url, 'https://in.example.com/e');
  assert.deepEqual(hashed.listeners['window:hashchange'].length, 1);

  const off = await run({ site: 's' }, bot);
  off.window.beacon('event', 'x');
  assert.equal(off.window.history.pushState.name, 'pushState', 'no hooks when not tracking');
  assert.equal(off.listeners['window:pagehide'], undefined);
});

test('nothing reaches the page: a trapping wasm, a throwing props getter, no crypto', async () => {
  const b = await ready(page({ setup: (w) => { delete w.crypto } }));
  b.window.beacon('event', 'x', { get bad() { throw new Error('getter') }, ok: 1 });
  b.window.beacon('event', 'y', null);
  const x = b.calls.find((c) => c[2] === 'x');
  assert.deepEqual(x[3], [['bad', 0, '', 0], ['ok', 2, '1', 1]], 'the throwing value is left out');
  assert.ok(b.calls.some((c) => c[2] === 'y'));

  const trap = await ready(page({ trap: true }));
  assert.equal(trap.window.history.pushState(null, '', '/x'), 'pushed', 'the page navigates as without the tracker');
  assert.equal(trap.window.location.pathname, '/x');
  trap.window.beacon('event', 'x');
  fire(trap, 'window:popstate');
});
