/* Beacon loader: it only loads. The tracker itself is Rust compiled to wasm (tracker-wasm/). */
(() => {
  try {
    const script = document.currentScript;
    // Calls made before the tracker runs are queued, and replayed by the wasm once it starts.
    const stub = window.beacon = window.beacon || function () {
      (stub.q = stub.q || []).push(arguments);
    };
    if (stub.loaded || !script) return; // the snippet is on the page twice
    stub.loaded = true;
    // The glue and the wasm are fetched in parallel, both next to this file.
    const wasm = fetch(new URL('tracker-wasm_bg.wasm', script.src));
    wasm.catch(() => {});
    import(new URL('tracker-wasm.js', script.src))
      .then((glue) => glue.default({ module_or_path: wasm }).then(() => glue.start(script, stub)))
      .catch(() => {});
  } catch (e) {
    // No tracker, never a broken page.
  }
})();
