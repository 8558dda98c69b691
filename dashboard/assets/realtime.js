// The "current visitors" counter (/stats/realtime, refreshed by main.js every 10 s) and, while
// the live view is open, the last 30 minutes with `detail=true`: visitors per minute, and the
// top pages and sources of those minutes.
import { api } from './api.js';
import { $, h, nf } from './format.js';

const open = () => !$('realtime-card').hidden;

export async function loadRealtime(site) {
  const box = $('realtime');
  try {
    const r = await api('stats/realtime', open() ? { site_id: site, detail: 'true' } : { site_id: site });
    $('realtime-visitors').textContent = nf.format(r.visitors);
    $('realtime-label').textContent = r.visitors === 1 ? 'current visitor' : 'current visitors';
    box.dataset.visitors = r.visitors;
    box.classList.remove('off');
    box.title = `Visitors in the last ${Math.round((r.window_seconds || 300) / 60)} minutes, refreshed every 10 s`;
    if (r.last_30_minutes) renderDetail(r.last_30_minutes);
  } catch (e) {
    $('realtime-visitors').textContent = '–';
    $('realtime-label').textContent = 'current visitors';
    box.dataset.visitors = '';
    box.classList.add('off');
    box.title = `Realtime count unavailable: ${e.message}`;
  }
}

function renderDetail(detail) {
  const max = Math.max(1, ...detail.minutes.map((m) => m.visitors));
  $('live-minutes').replaceChildren(...detail.minutes.map((m) => h('span', {
    title: `${m.time.slice(11, 16)} UTC: ${nf.format(m.visitors)} visitors, ${nf.format(m.views)} pageviews`,
    dataset: { time: m.time, visitors: m.visitors },
    style: `height: ${((m.visitors * 100) / max).toFixed(1)}%`,
  })));
  const list = (id, rows) => $(id).replaceChildren(...(rows.length ? rows : [{ value: 'No visitors yet.', visitors: '' }])
    .map((r) => h('li', { dataset: { value: r.value } }, `${r.value || 'Direct'} `, h('b', {}, r.visitors === '' ? '' : nf.format(r.visitors)))));
  list('live-pages', detail.top_pages);
  list('live-sources', detail.top_sources);
}

/** The live view's switch: opening it loads the detail at once. */
export function setupLiveView(site) {
  $('realtime-toggle').addEventListener('click', () => {
    $('realtime-card').hidden = open();
    $('realtime-toggle').setAttribute('aria-expanded', String(open()));
    if (open()) loadRealtime(site());
  });
}
