/* Beacon loader; see tracker-wasm/README.md. Never breaks the page. */
(function (w) {
  try {
    var s = document.currentScript, d = s.dataset, c = { src: s.src }, k;
    var b = w.beacon = w.beacon || function () { (b.q = b.q || []).push(arguments) };
    var u = function (f) { return new URL(f, s.src).href };
    if (b.l) return; // the snippet is on the page twice
    b.l = 1;
    for (k in d) c[k] = d[k];
    var wasm = fetch(u("tracker-wasm_bg.wasm"));
    wasm.catch(function () {});
    import(u("tracker-wasm.js")).then(function (m) {
      return m.default({ module_or_path: wasm }).then(function () {
        var q = b.q || [], i = 0;
        m.start(c, w);
        w.beacon = function (a, n, p) { try { m.command(a, n, p) } catch (e) {} };
        w.beacon.l = 1;
        w.beacon.ready = performance.now(); // ms from navigation start to a running tracker
        for (; i < q.length; i++) w.beacon.apply(w, q[i]);
      });
    }).catch(function () {});
  } catch (e) {}
})(window);
