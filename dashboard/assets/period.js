// Periods and ranges: the presets of the period picker, and how a range and the one it is
// compared with are named. Days are the site's days: its registered time zone's (GET /sites),
// else UTC, as in the report API.
import { dayFmt, shortDay, longDay } from './format.js';

const DAY_MS = 86400000;

/** The site's IANA time zone. */
let zone = 'UTC';

/** Sets the zone "today" is taken in; false if the browser does not know it (then UTC). */
export function setZone(name) {
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: name || 'UTC' });
    zone = name || 'UTC';
    return true;
  } catch {
    zone = 'UTC';
    return false;
  }
}

export const zoneName = () => zone;

/** Today in the site's zone, `YYYY-MM-DD`. */
export const today = () => new Intl.DateTimeFormat('en-CA', {
  timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit',
}).format(new Date());
export const shift = (day, n) => new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
export const days = (r) => Math.round((Date.parse(r.to) - Date.parse(r.from)) / DAY_MS) + 1;
export const isDay = (v) => /^\d{4}-\d{2}-\d{2}$/.test(v || '') && !Number.isNaN(Date.parse(v));

/** Each preset's range, from today. */
export const PRESETS = {
  today: (t) => [t, t],
  yesterday: (t) => [shift(t, -1), shift(t, -1)],
  '7d': (t) => [shift(t, -6), t],
  '30d': (t) => [shift(t, -29), t],
  month: (t) => [`${t.slice(0, 8)}01`, t],
};

/** The range `period` (with `from`/`to` for a custom one) covers. */
export function rangeOf({ period, from, to }) {
  if (period in PRESETS) {
    const [f, t] = PRESETS[period](today());
    return { from: f, to: t };
  }
  return { from, to };
}

const utc = (day) => new Date(`${day}T00:00:00Z`);

/** `1 Dec – 4 Dec 2026`, or one day. */
export function spanText(r) {
  if (r.from === r.to) return dayFmt.format(utc(r.from));
  const sameYear = r.from.slice(0, 4) === r.to.slice(0, 4);
  return `${(sameYear ? shortDay : longDay).format(utc(r.from))} – ${longDay.format(utc(r.to))}`;
}

/** The title's name for the range: the preset's, or the dates of a custom one. */
export function rangeLabel(period, presetText, r) {
  return period === 'custom' ? spanText(r) : presetText;
}

/** What the cards' changes are relative to, in a few words. */
export function comparisonLabel(period, r) {
  const n = days(r);
  if (n === 1) return period === 'today' ? 'vs. yesterday' : 'vs. the day before';
  return `vs. prev. ${n} days`;
}
