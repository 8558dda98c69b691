// The tracker as ingestion serves it (TRACKER_DIR, packaged by scripts/build-site): its HTTP
// headers, and a site owner's plain page on another origin whose snippet names only
// `<ingestion>/beacon.js` and `data-site`, so events go to the default endpoint.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  launchBrowser, watchErrors, waitForViews, uniqueSite, visit, ownSite, INGEST_URL,
} from './harness.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser.close(); });

test('ingestion serves the loader with an ETag and the hashed files for a year, precompressed', async () => {
  const loader = await fetch(`${INGEST_URL}/beacon.js`, { headers: { Origin: 'https://shop.example' } });
  assert.equal(loader.status, 200);
  assert.match(loader.headers.get('content-type'), /javascript/);
  assert.equal(loader.headers.get('cache-control'), 'public, max-age=300, must-revalidate');
  assert.equal(loader.headers.get('access-control-allow-origin'), '*');
  const etag = loader.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]{16}"$/);
  const text = await loader.text();
  const again = await fetch(`${INGEST_URL}/beacon.js`, { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);

  const [, glue] = text.match(/"(files\/tracker-[0-9a-f]+\.js)"/);
  const [, wasm] = text.match(/"(files\/tracker-[0-9a-f]+_bg\.wasm)"/);
  // Node's fetch asks for gzip/br and decodes the body; the headers show what was sent.
  const wasmAnswer = await fetch(`${INGEST_URL}/${wasm}`, { headers: { 'Accept-Encoding': 'br' } });
  assert.equal(wasmAnswer.status, 200);
  assert.equal(wasmAnswer.headers.get('content-type'), 'application/wasm');
  assert.equal(wasmAnswer.headers.get('content-encoding'), 'br');
  assert.equal(wasmAnswer.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  const bytes = new Uint8Array(await wasmAnswer.arrayBuffer());
  assert.deepEqual([...bytes.slice(0, 4)], [0, 0x61, 0x73, 0x6d], 'decodes to a wasm module');
  const glueAnswer = await fetch(`${INGEST_URL}/${glue}`, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(glueAnswer.headers.get('content-encoding'), 'gzip');
  assert.match(glueAnswer.headers.get('content-type'), /javascript/);
  const gone = await fetch(`${INGEST_URL}/files/tracker-000000000000.js`);
  assert.equal(gone.status, 404);
  assert.equal(gone.headers.get('cache-control'), null, 'a missing file is not cached');
});

test('a plain page with only data-site counts its views through the default endpoint', async () => {
  const site = uniqueSite('e2e-served');
  const snippet = `<script defer src="${INGEST_URL}/beacon.js" data-site="${site}"
    data-allow-localhost data-allow-bots></script>`;
  const own = await ownSite((path) => (['/', '/pricing'].includes(path)
    ? `<!doctype html><html><head><title>Own site</title>${snippet}</head>
       <body><h1>${path}</h1><a id="spa" href="/pricing/annual">annual</a>
       <script>document.getElementById('spa').addEventListener('click', (e) => {
         e.preventDefault(); history.pushState({}, '', '/pricing/annual'); });</script></body></html>`
    : undefined));
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = watchErrors(page);
    await visit(page, own.url + '/');
    await visit(page, own.url + '/pricing');
    await page.click('#spa');
    await page.waitForURL('**/pricing/annual');
    await page.close({ runBeforeUnload: true });
    const result = await waitForViews(site, 3);
    await context.close();
    assert.deepEqual(result.top_paths.map((p) => p.path).sort(), ['/', '/pricing', '/pricing/annual']);
    assert.deepEqual(errors, []);
  } finally {
    await own.close();
  }
});
