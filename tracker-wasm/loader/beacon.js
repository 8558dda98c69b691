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
    // The wasm is fetched and compiled (streaming, off the main thread) while the glue loads,
    // both next to this file; the glue then instantiates the compiled module.
    const wasm = WebAssembly.compileStreaming(fetch(new URL('tracker-wasm_bg.wasm', script.src)));
    wasm.catch(() => {});
    Promise.all([import(new URL('tracker-wasm.js', script.src)), wasm])
      .then(([glue, module]) => {
        glue.initSync({ module });
        glue.start(script, stub);
      })
      .catch(() => {});
  } catch (e) {
    // No tracker, never a broken page.
  }
})();
