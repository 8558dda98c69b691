// The stats dashboard: reads the public report API (GET /stats) and draws it as SVG.
// No libraries, no CDN: a few small functions that turn numbers into <rect>s and <text>s.
(function () {
  'use strict';
  var API = 'http://localhost:4000'; // rewritten by the demo server when services use other ports
  var SVG = 'http://www.w3.org/2000/svg';
  var $ = function (id) { return document.getElementById(id); };
  var fmt = new Intl.NumberFormat('en');

  function todayUtc() { return new Date().toISOString().slice(0, 10); }
  function shiftDay(day, delta) {
    var d = new Date(day + 'T00:00:00Z');
    d.setUTCDate(d.getUTCDate() + delta);
    return d.toISOString().slice(0, 10);
  }

  function fetchStats(site, day) {
    var url = API + '/stats?site_id=' + encodeURIComponent(site) + '&date=' + encodeURIComponent(day);
    return fetch(url).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error || ('HTTP ' + r.status));
        return body;
      });
    });
  }

  function el(name, attrs, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function empty(container, message) {
    container.innerHTML = '';
    var p = document.createElement('div');
    p.className = 'empty';
    p.textContent = message;
    container.appendChild(p);
  }

  // Horizontal bars: one row per path, label on the left, count on the right.
  function drawTopPages(container, rows) {
    if (!rows.length) return empty(container, 'No page views on this day yet.');
    var rowH = 34, width = 560, labelW = 210, countW = 56;
    var max = Math.max.apply(null, rows.map(function (r) { return r.views; }));
    var svg = el('svg', { viewBox: '0 0 ' + width + ' ' + rows.length * rowH, role: 'img',
      'aria-label': 'Top pages by views' });
    rows.forEach(function (row, i) {
      var y = i * rowH;
      var barW = Math.max(2, (width - labelW - countW) * row.views / max);
      var g = el('g', { 'data-path': row.path, 'data-views': row.views });
      g.appendChild(el('title', {}, row.path + ': ' + row.views + ' views'));
      var label = row.path.length > 28 ? row.path.slice(0, 27) + '…' : row.path;
      g.appendChild(el('text', { x: 0, y: y + 21, 'font-size': 13, fill: '#1d2433' }, label));
      g.appendChild(el('rect', { x: labelW, y: y + 7, width: barW, height: 20, rx: 4, fill: '#6366f1' }));
      g.appendChild(el('text', { x: labelW + barW + 8, y: y + 22, 'font-size': 13, 'font-weight': 600,
        fill: '#1d2433' }, fmt.format(row.views)));
      svg.appendChild(g);
    });
    container.innerHTML = '';
    container.appendChild(svg);
  }

  // Vertical bars for the last 7 days, the selected day highlighted.
  function drawWeek(container, days) {
    var width = 420, height = 200, pad = 28, gap = 10;
    var max = Math.max(1, Math.max.apply(null, days.map(function (d) { return d.views; })));
    var barW = (width - gap * (days.length - 1)) / days.length;
    var svg = el('svg', { viewBox: '0 0 ' + width + ' ' + (height + pad), role: 'img',
      'aria-label': 'Page views per day' });
    days.forEach(function (d, i) {
      var h = Math.round((height - 24) * d.views / max);
      var x = i * (barW + gap);
      var selected = i === days.length - 1;
      svg.appendChild(el('rect', { x: x, y: height - h, width: barW, height: Math.max(h, 1), rx: 4,
        fill: selected ? '#4f46e5' : '#c7d2fe' }));
      svg.appendChild(el('text', { x: x + barW / 2, y: height - h - 6, 'text-anchor': 'middle',
        'font-size': 12, fill: '#1d2433' }, fmt.format(d.views)));
      svg.appendChild(el('text', { x: x + barW / 2, y: height + 18, 'text-anchor': 'middle',
        'font-size': 11, fill: '#667085' }, d.date.slice(5)));
    });
    container.innerHTML = '';
    container.appendChild(svg);
  }

  function setStatus(text, isError) {
    $('status').textContent = text;
    $('status').className = 'status' + (isError ? ' error' : '');
  }

  function load() {
    var site = $('site').value.trim(), day = $('date').value || todayUtc();
    var params = new URLSearchParams({ site: site, date: day });
    history.replaceState(null, '', '?' + params);
    $('title').textContent = site + ' · ' + day;
    setStatus('Loading…');
    fetchStats(site, day).then(function (s) {
      $('total-views').textContent = fmt.format(s.total_views);
      $('unique-users').textContent = fmt.format(s.unique_users);
      $('views-per-visitor').textContent = s.unique_users ? (s.total_views / s.unique_users).toFixed(1) : '–';
      drawTopPages($('top-pages'), s.top_paths);
      setStatus('Updated ' + new Date().toLocaleTimeString() + ' · refreshes every 10 s');
      var week = [];
      for (var i = 6; i >= 1; i--) week.push(shiftDay(day, -i));
      return Promise.all(week.map(function (d) {
        return fetchStats(site, d).then(function (w) { return { date: d, views: w.total_views }; },
          function () { return { date: d, views: 0 }; });
      })).then(function (previous) {
        var days = previous.concat([{ date: day, views: s.total_views }]);
        drawWeek($('week'), days);
        var yesterday = previous[previous.length - 1].views;
        $('views-change').textContent = yesterday
          ? (s.total_views >= yesterday ? '▲ ' : '▼ ') + Math.round(Math.abs(s.total_views - yesterday) * 100 / yesterday) + '% vs. previous day'
          : 'no views the previous day';
      });
    }).catch(function (e) {
      setStatus('Could not load stats: ' + e.message, true);
    });
  }

  var query = new URLSearchParams(location.search);
  $('site').value = query.get('site') || "demo-shop";
  $('date').value = query.get('date') || todayUtc();
  $('controls').addEventListener('submit', function (e) { e.preventDefault(); load(); });
  $('prev').addEventListener('click', function () { $('date').value = shiftDay($('date').value, -1); load(); });
  $('next').addEventListener('click', function () { $('date').value = shiftDay($('date').value, 1); load(); });
  setInterval(function () { if (!document.hidden) load(); }, 10000);
  load();
})();
