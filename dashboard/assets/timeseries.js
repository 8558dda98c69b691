// The visitors and pageviews chart, hand-written SVG: one /stats/timeseries request gives this
// period's points and (compare=previous_period) the previous period's, aligned by position and
// drawn as a faint line. Hover or arrow keys show a point; a day's point opens that day.
import { api } from './api.js';
import { $, compact, dayFmt, duration, h, message, nf, nf1, shortDay, svgEl } from './format.js';
import { viewParams } from './state.js';

const W = 1000, H = 260, L = 46, R = 14, T = 14, B = 30;

/** A round step for about five gridlines, and the axis maximum (a whole number of steps). */
function niceScale(v) {
  if (v <= 5) return { step: 1, max: 5 };
  const raw = v / 5, p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= raw);
  return { step, max: step * Math.ceil(v / step) };
}

const instant = (time) => Date.parse(time.length > 10 ? time : `${time}T00:00:00Z`);

/** A point's name: its day, and for an hour its local hour and offset as the API gives them. */
function pointLabel(time, interval) {
  const day = dayFmt.format(new Date(`${time.slice(0, 10)}T00:00:00Z`));
  if (interval !== 'hour') return day;
  const hh = time.slice(11, 13);
  const offset = time.endsWith('Z') ? 'UTC' : `UTC${time.slice(19)}`;
  return `${day}, ${hh}:00–${hh}:59 ${offset}`;
}

const axisLabel = (time, interval) => (interval === 'hour' ? `${time.slice(11, 13)}:00` : shortDay.format(new Date(instant(time))));

/** Positions on the chart for `n` points and values up to `top`. */
function geometry(n, top) {
  const pw = W - L - R, ph = H - T - B;
  const { step, max } = niceScale(top);
  return {
    n, pw, ph, step, max,
    x: (i) => L + (n === 1 ? pw / 2 : (i * pw) / (n - 1)),
    y: (v) => T + ph - ((v || 0) * ph) / max,
  };
}

function drawAxes(svg, g, pts, interval) {
  for (let v = 0; v <= g.max; v += g.step) {
    svg.append(svgEl('line', { x1: L, x2: W - R, y1: g.y(v), y2: g.y(v), class: v ? 'grid' : 'axis' }));
    svg.append(svgEl('text', { x: L - 8, y: g.y(v) + 4, 'text-anchor': 'end', class: 'tick' }, compact.format(v)));
  }
  const every = Math.max(1, Math.ceil(g.n / (interval === 'hour' ? 8 : 10)));
  pts.forEach((p, i) => {
    if (i % every === 0 || (interval === 'day' && i === g.n - 1 && (g.n - 1) % every > every / 2)) {
      svg.append(svgEl('text', { x: g.x(i), y: H - 8, 'text-anchor': 'middle', class: 'tick' }, axisLabel(p.time, interval)));
    }
  });
}

/** `partial`: the last drawn bucket is still running (this hour, today), so its visitors are
 *  drawn dashed: a line that drops there would read as a fall in traffic. */
function drawLines(svg, g, pts, previous, last, partial) {
  const line = (points, key, from = 0) => points.map((p, i) => `${i ? 'L' : 'M'}${g.x(i + from).toFixed(1)},${g.y(p[key]).toFixed(1)}`).join('');
  if (previous.length) svg.append(svgEl('path', { d: line(previous, 'visitors'), class: 'line previous', 'data-testid': 'previous-line' }));
  const drawn = pts.slice(0, last + 1);
  svg.append(svgEl('path', { d: `${line(drawn, 'visitors')}L${g.x(last).toFixed(1)},${g.y(0)}L${g.x(0)},${g.y(0)}Z`, class: 'area' }));
  svg.append(svgEl('path', { d: line(drawn, 'views'), class: 'line views' }));
  const solid = partial && last > 0 ? drawn.slice(0, last) : drawn;
  svg.append(svgEl('path', { d: line(solid, 'visitors'), class: 'line visitors' }));
  if (solid !== drawn) svg.append(svgEl('path', { d: line(drawn.slice(last - 1), 'visitors', last - 1), class: 'line visitors partial' }));
}

function tooltipRows(p, before) {
  const rows = [['Visitors', nf.format(p.visitors || 0), 'visitors'], ['Pageviews', nf.format(p.views || 0), 'views'],
    ['Visits', nf.format(p.visits || 0)], ['Bounce rate', `${nf1.format(p.bounce_rate || 0)}%`],
    ['Visit duration', duration(p.visit_duration)]];
  if (before) rows.push(['Visitors, previous', nf.format(before.visitors || 0), 'previous']);
  return rows.map(([k, v, key]) => h('div', { className: 'row' }, h('span', { className: key ? `key ${key}` : 'key none' }), `${k} `, h('b', {}, v)));
}

/** Hover, focus and arrow keys show a point; click or Enter on a day calls `onDrill(day)`. */
function interact(svg, box, g, pts, previous, interval, last, onDrill) {
  const tooltip = $('tooltip');
  const guide = svgEl('g', { class: 'guide', visibility: 'hidden' });
  const vline = svgEl('line', { y1: T, y2: T + g.ph });
  const dotViews = svgEl('circle', { r: 4.5, class: 'dot views' });
  const dotVisitors = svgEl('circle', { r: 5, class: 'dot visitors' });
  guide.append(vline, dotViews, dotVisitors);
  svg.append(guide, svgEl('rect', { x: L, y: T, width: g.pw, height: g.ph, fill: 'transparent' }));
  let current = -1;
  const show = (i) => {
    current = Math.min(g.n - 1, Math.max(0, i));
    const p = pts[current], x = g.x(current);
    vline.setAttribute('x1', x); vline.setAttribute('x2', x);
    dotViews.setAttribute('cx', x); dotViews.setAttribute('cy', g.y(p.views));
    dotVisitors.setAttribute('cx', x); dotVisitors.setAttribute('cy', g.y(p.visitors));
    guide.setAttribute('visibility', 'visible');
    tooltip.replaceChildren(h('strong', {}, pointLabel(p.time, interval)), ...tooltipRows(p, previous[current]));
    Object.assign(tooltip.dataset, { index: current, time: p.time });
    tooltip.hidden = false;
    const bw = box.clientWidth, tw = tooltip.offsetWidth, px = (x / W) * bw;
    tooltip.style.left = `${Math.min(bw - tw, Math.max(0, px + (px > bw / 2 ? -tw - 14 : 14)))}px`;
  };
  const hide = () => { guide.setAttribute('visibility', 'hidden'); tooltip.hidden = true; current = -1; };
  const index = (e) => {
    const rect = svg.getBoundingClientRect();
    const sx = ((e.clientX - rect.left) * W) / rect.width;
    return g.n === 1 ? 0 : Math.round(((sx - L) * (g.n - 1)) / g.pw);
  };
  const drill = (i) => { if (interval === 'day' && i >= 0) onDrill(pts[i].time); };
  svg.addEventListener('pointermove', (e) => show(index(e)));
  svg.addEventListener('pointerleave', () => { if (document.activeElement !== svg) hide(); });
  svg.addEventListener('click', (e) => drill(index(e)));
  svg.addEventListener('focus', () => show(current >= 0 ? current : last));
  svg.addEventListener('blur', hide);
  svg.addEventListener('keydown', (e) => {
    const to = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: g.n - 1 }[e.key];
    if (to !== undefined) { e.preventDefault(); show(to); } else if (e.key === 'Enter') drill(current);
    else if (e.key === 'Escape') hide();
  });
  if (interval === 'day') svg.classList.add('drill');
}

/** The same numbers as a table, for screen readers. */
function table(pts, interval) {
  return h('table', { className: 'sr-only' }, h('caption', {}, `Visitors and pageviews per ${interval}`),
    h('tr', {}, h('th', {}, 'Time'), h('th', {}, 'Visitors'), h('th', {}, 'Pageviews')),
    ...pts.map((p) => h('tr', {}, h('td', {}, pointLabel(p.time, interval)), h('td', {}, nf.format(p.visitors || 0)), h('td', {}, nf.format(p.views || 0)))));
}

export function renderTimeseries(ts, onDrill) {
  const box = $('timeseries');
  $('tooltip').hidden = true;
  const pts = ts.points || [];
  const previous = ts.comparison?.points || [];
  box.setAttribute('aria-busy', 'false');
  if (!pts.length) return message(box, 'No data for this period.');
  const interval = ts.interval || (pts[0].time.length > 10 ? 'hour' : 'day');
  // Buckets that have not started yet (later today) are not drawn.
  const now = Date.now();
  const last = Math.max(0, pts.findLastIndex((p) => instant(p.time) <= now));
  const top = Math.max(...pts.concat(previous).map((p) => Math.max(p.views || 0, p.visitors || 0)));
  const g = geometry(pts.length, top);
  const peak = pts.reduce((a, p) => ((p.visitors || 0) > (a.visitors || 0) ? p : a), pts[0]);
  const svg = svgEl('svg', {
    viewBox: `0 0 ${W} ${H}`, role: 'img', tabindex: 0, 'aria-describedby': 'tooltip ts-help',
    'aria-label': `Visitors and pageviews per ${interval}. Peak: ${nf.format(peak.visitors || 0)} visitors, ${pointLabel(peak.time, interval)}.`,
  });
  drawAxes(svg, g, pts, interval);
  const bucket = interval === 'hour' ? 3600e3 : 86400e3;
  drawLines(svg, g, pts, previous, last, instant(pts[last].time) + bucket > now);
  if (!pts.some((p) => p.visitors)) {
    svg.append(svgEl('text', { x: L + g.pw / 2, y: T + g.ph / 2, 'text-anchor': 'middle', class: 'nodata' }, 'No visitors in this period yet'));
  }
  interact(svg, box, g, pts, previous, interval, last, onDrill);
  const help = h('p', { id: 'ts-help', className: 'sr-only' }, `Use the left and right arrow keys to read each ${interval}${interval === 'day' ? '; Enter shows that day' : ''}.`);
  box.replaceChildren(svg, help, table(pts.slice(0, last + 1), interval));
  return undefined;
}

/** Loads and draws the chart; returns the error it showed, if any. */
export async function loadTimeseries(range, signal, onDrill) {
  $('timeseries').setAttribute('aria-busy', 'true');
  try {
    const interval = range.from === range.to ? 'hour' : 'day';
    const ts = await api('stats/timeseries', { ...viewParams(range), interval, compare: 'previous_period' }, { signal });
    renderTimeseries(ts, onDrill);
    return null;
  } catch (e) {
    if (e.name === 'AbortError') return null;
    message($('timeseries'), `Could not load the chart: ${e.message}`, 'empty error');
    return e;
  }
}
