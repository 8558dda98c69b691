// The stats page (report_service serves it at `/`): reads the report API of the server it came
// from and draws it, with hand-written SVG; no libraries, no CDN, no build step. Requests, all
// GET and relative to this page (docs/openapi.json):
//   stats             the summary cards and top pages, with the previous period (compare)
//   stats/timeseries  the chart, hourly for one day and daily otherwise, with the previous period
//   stats/breakdown   one per visible breakdown tab; the custom property keys and one key's values
//   stats/goals       the registered goals' conversions; stats/funnel: the chosen funnel
//   stats/realtime    the "current visitors" counter, every 10 s; with the live view open,
//                     `detail=true`: the last 30 minutes per minute, top pages and sources
//   sites             the registered sites for the site picker
// A private site's requests carry its API key or shared-link token (auth.js, signin.js).
// Clicking a breakdown row adds a `prop==value` filter that applies to every request.
import { forget, takeSharedToken, tokenFor } from './auth.js';
import { loadBreakdown, renderTopPages, setupTabs, visibleProps } from './breakdowns.js';
import { $, message, nf } from './format.js';
import { onFiltersChange, renderFilters, setUpFilterForm } from './filters.js';
import { loadFunnel, loadGoals, setupFunnel } from './goals.js';
import { isDay, rangeLabel, rangeOf, setZone, today, zoneName } from './period.js';
import { loadProps, setupProps } from './props.js';
import { loadRealtime, setupLiveView } from './realtime.js';
import { hideSignIn, renderSession, setupSignIn, showSignIn } from './signin.js';
import { defaultSite, fillPicker, registeredSites, rememberSite, renderSelfExclusion } from './sites.js';
import { readUrl, state, writeUrl } from './state.js';
import { clearSummary, fetchSummary, renderSummary } from './summary.js';
import { loadTimeseries } from './timeseries.js';

const LIVE_REFRESH_MS = 30000;
const REALTIME_MS = 10000;

function setStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').className = `status${isError ? ' error' : ''}`;
}

function syncControls() {
  setZone(state.zones?.[state.site]);
  for (const el of document.querySelectorAll('.zone-name')) el.textContent = zoneName();
  const r = rangeOf(state);
  $('site').value = state.site;
  $('period').value = state.period;
  $('from').value = r.from;
  $('to').value = r.to;
  for (const el of document.querySelectorAll('.custom-range')) el.hidden = state.period !== 'custom';
}

function drill(day) {
  Object.assign(state, { period: 'custom', from: day, to: day });
  syncControls();
  load();
}

/** A report refused with 401: ask for a key, saying so if the one this tab had was refused. */
function needsSignIn() {
  const refused = tokenFor(state.site);
  if (refused) forget(state.site);
  renderSession();
  showSignIn(refused);
  setStatus(refused ? `The key or link for “${state.site}” was not accepted.` : `“${state.site}” is private: sign in to see its reports.`, true);
}

function summaryFailed(e) {
  clearSummary();
  message($('top-pages'), 'No data.', 'empty');
  if (e.field === 'site_id') $('site').setAttribute('aria-invalid', 'true');
  setStatus(`Could not load stats for “${state.site}”: ${e.message}`, true);
}

async function load({ quiet = false } = {}) {
  state.controller?.abort();
  const controller = new AbortController();
  state.controller = controller;
  const { signal } = controller;
  const range = rangeOf(state);
  state.loaded.clear();
  writeUrl();
  renderSession();
  $('title').textContent = `${state.site} · ${rangeLabel(state.period, $('period').selectedOptions[0].textContent, range)}`;
  document.querySelectorAll('.breakdown').forEach((c) => c.syncCsv?.());
  if (!quiet) setStatus('Loading…');
  const summary = fetchSummary(range, signal);
  state.total = summary.then((s) => s.unique_users, () => 0);
  const fromRollups = Promise.all([loadTimeseries(range, signal, drill),
    ...visibleProps().map((p) => loadBreakdown(p, range, signal))]);
  // Custom properties, goals and funnels are counted from raw events, which can take seconds on
  // a busy site-day (docs/benchmarks.md): they are asked for once the panels read from rollups
  // have their answers, so those are not queued behind them in the store.
  const fromEvents = Promise.allSettled([summary, fromRollups]).then(() => Promise.all([
    loadProps(range, signal), loadGoals(range, signal), loadFunnel(range, signal)]));
  const others = Promise.all([fromRollups, fromEvents]).then((lists) => lists.flat());
  let stats;
  try {
    stats = await summary;
  } catch (e) {
    if (e.name === 'AbortError') return;
    if (e.status === 401) needsSignIn();
    else summaryFailed(e);
    return;
  }
  hideSignIn();
  $('site').removeAttribute('aria-invalid');
  renderSummary(stats, range);
  renderTopPages(stats.top_paths, stats.unique_users);
  const failures = await others;
  if (signal.aborted) return;
  const parts = [`Updated ${new Date().toLocaleTimeString()}`];
  if (range.to >= today()) parts.push('refreshes every 30 s');
  if (typeof stats.bots_filtered === 'number') parts.push(`${nf.format(stats.bots_filtered)} bot events filtered`);
  if (failures.some(Boolean)) parts.push('some panels could not be loaded');
  setStatus(parts.join(' · '), failures.some(Boolean));
}

/** The picker's registered sites and the self-exclusion links, for the current site's token. */
async function loadSites() {
  const registered = await registeredSites(state.site);
  state.zones = Object.fromEntries(registered.map((s) => [s.site_id, s.timezone || 'UTC']));
  fillPicker(registered);
  renderSelfExclusion(state.site, registered);
  return registered;
}

function submit() {
  const site = $('site').value.trim();
  if (!$('controls').reportValidity()) return;
  const from = $('from').value, to = $('to').value;
  state.period = $('period').value;
  if (state.period === 'custom') {
    if (!isDay(from) || !isDay(to) || from > to) {
      $('to').setAttribute('aria-invalid', 'true');
      setStatus('Choose a “From” day that is not after the “To” day.', true);
      return;
    }
    $('to').removeAttribute('aria-invalid');
    Object.assign(state, { from, to });
  }
  const changed = site !== state.site;
  state.site = site;
  rememberSite(site);
  if (changed) {
    loadRealtime(site);
    loadSites().then(() => { syncControls(); load(); });
    return;
  }
  syncControls();
  load();
}

function reloadAll() {
  load();
  loadRealtime(state.site);
  loadSites();
}

function setupControls() {
  $('controls').addEventListener('submit', (e) => { e.preventDefault(); submit(); });
  $('period').addEventListener('change', () => {
    if ($('period').value === 'custom') {
      for (const el of document.querySelectorAll('.custom-range')) el.hidden = false;
      $('from').focus();
    } else submit();
  });
  for (const id of ['from', 'to']) $(id).addEventListener('change', () => { if (isDay($('from').value) && isDay($('to').value)) submit(); });
  $('from').max = $('to').max = today();
}

async function start() {
  takeSharedToken(); // first: the token leaves the address bar before anything else runs
  readUrl();
  setupControls();
  setupTabs();
  setupSignIn(reloadAll);
  onFiltersChange(load);
  setUpFilterForm();
  setupProps(() => loadProps(rangeOf(state), state.controller?.signal));
  setupFunnel(() => loadFunnel(rangeOf(state), state.controller?.signal));
  setupLiveView(() => state.site);
  renderFilters();
  setInterval(() => { if (state.site && !document.hidden && rangeOf(state).to >= today()) load({ quiet: true }); }, LIVE_REFRESH_MS);
  setInterval(() => { if (state.site && !document.hidden) loadRealtime(state.site); }, REALTIME_MS);
  document.addEventListener('visibilitychange', () => { if (state.site && !document.hidden) loadRealtime(state.site); });
  const registered = await loadSites();
  if (!state.site) state.site = defaultSite(registered);
  syncControls();
  if (!state.site) {
    setStatus('Type a site id to see its reports.');
    $('site').focus();
    return;
  }
  rememberSite(state.site);
  loadRealtime(state.site);
  load();
}

start();
