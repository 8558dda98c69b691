/* Beacon loader: options, hooks, batching, outbox, delivery; the wasm builds the events. See tracker-wasm/README.md. Never breaks the page. */
((w, D, n, L) => {
  try {
    let s = D.currentScript, d = s.dataset, S = s.src, K = 'beacon:outbox',
      b = w.beacon = w.beacon || function () { (b.q = b.q || []).push(arguments) },
      q = [], kept = [], sent = {}, ok = 1, fails = 0, flight, wait, timer, m, E,
      on = (v) => v != null && !/^\s*(false|0|no|off)\s*$/i.test(v),
      dnt = (v) => /^(1|yes)$/.test(v),
      size = (l) => new Blob([l]).size,
      drop = (a, c) => a.filter((l) => !c.includes(l)),
      // An event: the wasm returns its JSON, or nothing (kind 0 navigation, 1 page view, 2 custom).
      track = (k, e, p) => {
        let t = Date.now(), r = [], ks = [], c;
        if (k > 1) try { ks = Object.keys(p) } catch (x) {}
        for (let key of ks) {
          let v;
          try { v = p[key] } catch (x) {}
          c = { string: 1, number: 2, boolean: 3 }[typeof v] || 0;
          m.put(6, key);
          m.put(7, c % 3 ? String(v) : '');
          m.prop(c, c > 1 ? +v : 0);
        }
        try { r = crypto.getRandomValues(new Uint32Array(4)) } catch (x) {}
        [e || '', L.pathname, L.search, L.hash, D.referrer].forEach((v, i) => m.put(i + 1, v));
        if (e = m.track(k, screen.width, t, r[0], r[1], r[2], r[3])) {
          q.push(t + ' ' + e);
          q.length > 9 ? flush() : timer || (timer = setTimeout(guard(() => flush(timer = 0)), 5e3));
        }
      },
      // Every callback the page or the browser calls: nothing may throw into the page.
      guard = (f) => (...a) => { try { f(...a) } catch (x) {} },
      nav = guard(() => track(0)),
      flush = () => { queue(); pump() },
      queue = () => q.length && save(add(load(), q.splice(0))),
      // The outbox: "<ms> <json>" lines in localStorage, plus what storage could not hold.
      load = () => {
        let t = '';
        try { t = ok && localStorage.getItem(K) || '' } catch (x) {}
        return add(t.split('\n').filter((l) => /^\d+ \{[^]*\}$/.test(l)), kept);
      },
      // Bounded: nothing older than 24 h, then the newest 200 events and 64 KiB.
      add = (a, c, now = Date.now(), k = 0, B = 0) => {
        a = a.concat(drop(c, a)).filter((l) => Math.abs(now - parseInt(l)) <= 864e5);
        for (let i = a.length; i-- > 0 && k < 200 && (B += size(a[i]) + 2) <= 65536;) k++;
        return a.slice(a.length - k);
      },
      save = (a, t = a.join('\n')) => {
        if (ok) try { t ? localStorage.setItem(K, t) : localStorage.removeItem(K) } catch (x) {
          ok = 0;
          try { localStorage.removeItem(K) } catch (x) {}
        }
        kept = ok ? [] : a;
      },
      // Requests of at most 100 events and 32 KiB, in order.
      chunks = (a, g = [], c = [], B = 2) => {
        for (let l of a) {
          let z = size(l) - l.indexOf(' ');
          if (c.length && (c.length > 99 || B + z > 32768)) g.push(c), c = [], B = 2;
          B += z;
          c.push(l);
        }
        c.length && g.push(c);
        return g;
      },
      body = (c) => '[' + c.map((l) => l.slice(l.indexOf(' ') + 1)) + ']',
      // In view: one fetch at a time; a chunk leaves the outbox once answered 2xx or refused for
      // good (4xx but 408/429); fetch throwing (a bad endpoint) drops it.
      pump = (c) => {
        while (!flight && !wait && (c = chunks(load())[0])) {
          try {
            fetch(E, { method: 'POST', body: body(c), mode: 'cors', keepalive: true }).then(guard((r) => {
              let h, t = r.status;
              try { h = r.headers.get('retry-after') } catch (x) {}
              done(t > 199 && t < 300 || t > 399 && t < 500 && t != 408 && t != 429, h);
            }), guard(() => done()));
            flight = c;
          } catch (x) { save(drop(load(), c)) }
        }
      },
      // Backoff: 2 s, 4 s, ... 5 min, jittered to 50-100 %, never under a Retry-After in seconds.
      done = (o, h, c = flight) => {
        if (!c) return;
        flight = 0;
        if (o) fails = 0, save(drop(load(), c)), pump();
        else wait = setTimeout(guard(() => pump(wait = 0)), Math.max(
          Math.min(2e3 * 2 ** Math.min(fails++, 16), 3e5) * (.5 + Math.random() / 2),
          /^\s*\d+\s*$/.test(h) ? Math.min(h * 1e3, 3e5) : 0));
      },
      // Hidden or left: the outbox not yet beaconed goes to sendBeacon and stays in the outbox
      // until a fetch confirms it (next page load); refused, it goes to fetch.
      leave = guard((r) => {
        queue();
        for (let c of chunks(load().filter((l) => !sent[l] && !(flight || []).includes(l)))) {
          let y;
          try { y = n.sendBeacon(E, body(c)) } catch (x) {}
          y ? c.forEach((l) => sent[l] = 1) : r = 1;
        }
        r && pump();
      }), wasm;
    if (b.l) return; // the snippet is on the page twice
    b.l = 1;
    (wasm = fetch(new URL('tracker-wasm_bg.wasm', S))).catch(() => {});
    import(new URL('tracker-wasm.js', S)).then((mod) => mod.default({ module_or_path: wasm }).then(() => {
      let a = b.q || [], H = history;
      m = mod;
      E = (d.endpoint || '').trim() || new URL('/event', S).href;
      m.put(0, (d.site || '').trim());
      if (!(on(d.respectDnt) && (dnt(n.doNotTrack) || dnt(w.doNotTrack) || n.globalPrivacyControl)
        || !on(d.allowLocalhost) && /^(localhost|.*\.localhost|127\..*|\[::1\]|::1|)$/i.test(L.hostname)
        || !on(d.allowBots) && n.webdriver) && m.start(on(d.hash))) {
        for (let k of ['pushState', 'replaceState']) {
          let o = H[k];
          if (o) H[k] = function () { let r = o.apply(this, arguments); nav(); return r };
        }
        w.addEventListener('popstate', nav);
        w.addEventListener('hashchange', nav); // a new page only with data-hash: the wasm decides
        w.addEventListener('pagehide', () => leave());
        D.addEventListener('visibilitychange', () => D.visibilityState == 'hidden' && leave());
        nav();
        pump();
      } else E = 0;
      w.beacon = guard((a, e, p) => E && (a == 'pageview' ? track(1) : a == 'event' && typeof e == 'string' && track(2, e, p)));
      w.beacon.l = 1;
      w.beacon.ready = performance.now(); // ms from navigation start to a running tracker
      for (let c of a) w.beacon(...c);
    })).catch(() => {});
  } catch (e) {}
})(window, document, navigator, location);
