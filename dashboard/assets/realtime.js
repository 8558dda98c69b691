// The "current visitors" counter: /stats/realtime, refreshed by main.js every 10 s.
import { api } from './api.js';
import { $, nf } from './format.js';

export async function loadRealtime(site) {
  const box = $('realtime');
  try {
    const r = await api('stats/realtime', { site_id: site });
    $('realtime-visitors').textContent = nf.format(r.visitors);
    $('realtime-label').textContent = r.visitors === 1 ? 'current visitor' : 'current visitors';
    box.dataset.visitors = r.visitors;
    box.classList.remove('off');
    box.title = `Visitors in the last ${Math.round((r.window_seconds || 300) / 60)} minutes, refreshed every 10 s`;
  } catch (e) {
    $('realtime-visitors').textContent = '–';
    $('realtime-label').textContent = 'current visitors';
    box.dataset.visitors = '';
    box.classList.add('off');
    box.title = `Realtime count unavailable: ${e.message}`;
  }
}
