// "Don't count my visits": the tracker's self-exclusion switch (tracker-wasm/README.md, "Not
// counting yourself") for this browser, on the shop's About page. It shares the shop's origin,
// so it sets the same localStorage flag the tracker reads. The stats page (report_service) is
// on another origin and cannot: it links to <site>/#beacon-ignore=on instead, which the tracker
// turns into the same flag.
const KEY = 'beacon:ignore';
const box = document.getElementById('ignore-me');
if (box) {
  try {
    box.checked = localStorage.getItem(KEY) === 'true';
    box.addEventListener('change', () => {
      try {
        if (box.checked) localStorage.setItem(KEY, 'true');
        else localStorage.removeItem(KEY);
      } catch (e) {
        box.checked = !box.checked; // storage refused: the switch did not change
      }
    });
  } catch (e) {
    box.disabled = true; // no storage here: the tracker cannot be told either
  }
}
