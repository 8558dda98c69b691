// Which of the stats page's API calls are counted from raw events (custom properties, goals,
// funnels) rather than from rollups: the page asks for those last (dashboard/assets/main.js).
// Shared by the browser test that checks that order and the benchmark that times the page.
export const readsRawEvents = (url) => /\/stats\/(goals|funnel)|property=props/.test(url);
