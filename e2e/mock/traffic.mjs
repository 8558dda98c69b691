#!/usr/bin/env node
// Sends two weeks of plausible traffic for one site through a running ingestion service, for
// looking at (and screenshotting) the stats page with real services behind it: visitors with
// browser User-Agents, referrers and UTM tags, a few pages each, some custom events, from
// public addresses in several countries (sent as X-Forwarded-For, so ingestion must run with
// TRUST_X_FORWARDED_FOR=true and, for countries, a GEOIP_DB), more on weekdays and growing.
// Deterministic: the same run sends the same visits (up to the current time of day).
//
//   node e2e/mock/traffic.mjs [INGEST_URL] [SITE] [DAYS]     # http://127.0.0.1:3000 demo-shop 14
//
// Ingestion refuses events more than 30 days old, so DAYS is at most 30. Its rate limit per
// client address must allow a burst (RATE_LIMIT_PER_IP=0 turns it off).
const INGEST = (process.argv[2] || 'http://127.0.0.1:3000').replace(/\/+$/, '');
const SITE = process.argv[3] || 'demo-shop';
const DAYS = Math.min(30, Number(process.argv[4] || 14));

let seed = 20261204;
const random = () => {
  seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
  return seed / 0x100000000;
};
const pick = (weighted) => {
  let r = random() * weighted.reduce((s, [, w]) => s + w, 0);
  for (const [value, w] of weighted) if ((r -= w) < 0) return value;
  return weighted[0][0];
};

const AGENTS = [
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 34],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15', 12],
  ['Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', 8],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0', 7],
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1', 20],
  ['Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36', 6],
  ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', 8],
  ['Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1', 5],
];
/** [first three octets of a public network, weight]: the country is whatever GEOIP_DB says. */
const NETWORKS = [['8.8.4', 24], ['12.34.56', 8], ['217.160.0', 14], ['81.2.69', 11], ['62.210.16', 8],
  ['145.100.190', 6], ['133.11.0', 4], ['130.237.28', 4], ['142.150.190', 5], ['14.139.60', 4],
  ['200.160.2', 3], ['1.128.0', 3]];
const REFERRERS = [[null, 34], ['https://www.google.com/', 28], ['https://duckduckgo.com/', 8],
  ['https://news.ycombinator.com/item?id=42', 7], ['https://www.reddit.com/r/CampingGear/', 4],
  ['https://github.com/beacon/beacon', 3], ['https://fosstodon.org/@outfitters', 4], ['https://www.bing.com/', 3]];
const LANDINGS = [['/', 40], ['/product', 22], ['/blog/long-weekend-packing-list', 12], ['/about', 6],
  ['/?utm_source=newsletter&utm_medium=email&utm_campaign=winter_gear', 8], ['/app/', 5], ['/pricing', 4]];
const NEXT = [['/product', 30], ['/', 15], ['/about', 10], ['/cart', 12], ['/checkout', 6], ['/app/orders', 8],
  ['/app/settings', 4], ['/blog/repairing-a-down-jacket', 5], ['/contact', 3]];
const GOALS = [['add_to_cart', 10], ['newsletter_signup', 4], ['signup', 3], ['outbound_click', 5]];
/** Share of a day's visitors in each UTC hour. */
const HOURS = [1, 1, 1, 1, 2, 3, 4, 6, 7, 8, 8, 8, 7, 7, 7, 7, 8, 8, 7, 6, 5, 4, 3, 2];

function visit(day, now) {
  const hour = pick(HOURS.map((w, h) => [h, w]));
  let t = Date.parse(`${day}T00:00:00Z`) + hour * 3600e3 + Math.floor(random() * 3600e3);
  if (t > now) return null;
  const referrer = pick(REFERRERS);
  const pages = [pick(LANDINGS)];
  while (random() < 0.55 && pages.length < 6) pages.push(pick(NEXT));
  const events = [];
  for (const [i, path] of pages.entries()) {
    if (t > now) break;
    events.push({ site_id: SITE, event_type: 'page_view', path, timestamp: new Date(t).toISOString(),
      ...(i === 0 && referrer ? { referrer } : {}), screen_width: 1280 });
    if (random() < 0.12) events.push({ site_id: SITE, event_type: pick(GOALS), path, timestamp: new Date(t + 5e3).toISOString() });
    t += 20e3 + Math.floor(random() * 150e3);
  }
  const ip = `${pick(NETWORKS)}.${1 + Math.floor(random() * 250)}`;
  return { events, ip, agent: pick(AGENTS) };
}

async function send({ events, ip, agent }) {
  const r = await fetch(`${INGEST}/event`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': agent, 'x-forwarded-for': ip },
    body: JSON.stringify(events),
  });
  if (r.status !== 202) throw new Error(`ingestion answered ${r.status}: ${await r.text()}`);
}

const now = Date.now();
let visits = 0, events = 0;
for (let back = DAYS - 1; back >= 0; back--) {
  const day = new Date(now - back * 86400e3).toISOString().slice(0, 10);
  const weekday = new Date(`${day}T00:00:00Z`).getUTCDay();
  const people = Math.round((70 + 3 * (DAYS - back)) * (weekday === 0 || weekday === 6 ? 0.7 : 1) * (0.85 + 0.3 * random()));
  const batch = [];
  for (let i = 0; i < people; i++) {
    const v = visit(day, now);
    if (v?.events.length) batch.push(v);
  }
  for (let i = 0; i < batch.length; i += 20) await Promise.all(batch.slice(i, i + 20).map(send));
  visits += batch.length;
  events += batch.reduce((s, v) => s + v.events.length, 0);
}
console.log(`${SITE}: ${visits} visits, ${events} events over ${DAYS} days sent to ${INGEST}`);
