'use strict';
// edge live dashboard: polls ./stats every second and draws it. No
// dependencies; every number shown comes from /stats as it is.
(function () {
  var SVG = 'http://www.w3.org/2000/svg';
  var TOKEN_KEY = 'edge-admin-token';
  var $ = function (id) { return document.getElementById(id); };
  var token = null;
  var last = null;
  var busy = false;
  var failures = 0;
  var period = 1000; // the sampling interval, from /stats
  var etag = null;

  // ---- token: #token=... once, then sessionStorage (never in the URL) ----
  function readToken() {
    var m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (m) {
      token = decodeURIComponent(m[1]);
      store(token);
      history.replaceState(null, '', location.pathname + location.search);
      return;
    }
    try { token = sessionStorage.getItem(TOKEN_KEY); } catch (e) { token = null; }
  }
  function store(t) {
    try { sessionStorage.setItem(TOKEN_KEY, t); } catch (e) { /* private mode: keep it in memory */ }
  }
  $('login').addEventListener('submit', function (ev) {
    ev.preventDefault();
    token = $('token').value.trim();
    store(token);
    etag = null;
    $('token').value = '';
    poll();
  });

  // ---- formatting ----
  function int(n) { return Math.round(n).toLocaleString('en-US'); }
  function rate(r) {
    if (r >= 100) { return int(r); }
    return (Math.round(r * 10) / 10).toFixed(1);
  }
  function pct(x) { return x == null ? '—' : (x * 100).toFixed(1) + '%'; }
  function bytes(n) {
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1).replace(/\.0$/, '')) + ' ' + u[i];
  }
  function dur(s) {
    if (s == null) { return '—'; }
    if (s < 0.001) { return Math.round(s * 1e6) + ' µs'; }
    if (s < 1) { return (s * 1000).toFixed(s < 0.01 ? 2 : 1) + ' ms'; }
    return s.toFixed(2) + ' s';
  }
  function ago(iso) {
    var d = (Date.now() - Date.parse(iso)) / 1000;
    if (!isFinite(d)) { return ''; }
    if (d < 60) { return Math.max(0, Math.round(d)) + 's ago'; }
    if (d < 3600) { return Math.round(d / 60) + 'm ago'; }
    if (d < 86400) { return Math.round(d / 3600) + 'h ago'; }
    return Math.round(d / 86400) + 'd ago';
  }
  function text(id, s) {
    var el = $(id);
    if (el.textContent !== s) { el.textContent = s; }
  }
  function el(tag, cls, content) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (content != null) { e.textContent = content; }
    return e;
  }
  function svgEl(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    return e;
  }
  function pill(id, s, cls) {
    var p = $(id);
    var c = 'pill' + (cls ? ' ' + cls : '');
    if (p.textContent !== s) { p.textContent = s; }
    if (p.className !== c) { p.className = c; }
  }

  // ---- sparkline: values (null = gap) scaled to the box; the scale starts
  // at zero unless fit is set (then it spans the values' own range) ----
  function spark(svg, values, fit) {
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var w = 100, h = 24;
    svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
    svg.setAttribute('preserveAspectRatio', 'none');
    var vals = values || [];
    var max = 0, min = Infinity;
    vals.forEach(function (v) { if (v != null) { max = Math.max(max, v); min = Math.min(min, v); } });
    if (!isFinite(min)) { return; }
    if (!fit) { min = Math.min(min, 0); }
    var span = max - min;
    if (span === 0) {
      if (fit) { min -= 0.5; span = 1; } else { span = 1; }
    }
    var n = Math.max(vals.length - 1, 1);
    var seg = [];
    var flush = function () {
      if (seg.length > 1) {
        var pts = seg.join(' ');
        var first = seg[0].split(',')[0], lastX = seg[seg.length - 1].split(',')[0];
        svg.appendChild(svgEl('path', { d: 'M' + first + ',' + h + ' L' + pts.replace(/ /g, ' L') + ' L' + lastX + ',' + h + ' Z' }));
        svg.appendChild(svgEl('polyline', { points: pts }));
      }
      seg = [];
    };
    vals.forEach(function (v, i) {
      if (v == null) { flush(); return; }
      var x = (i / n) * w;
      var y = h - 1 - ((v - min) / span) * (h - 2);
      seg.push(x.toFixed(2) + ',' + y.toFixed(2));
    });
    flush();
  }

  // ---- the funnel ----
  var help = {
    requests: 'Requests answered on the public listener',
    cache: 'Answered from memory without the shop (hit, stale, coalesced)',
    refused: 'Refused before the rate limits: no item, no identity, sale not started',
    ratelimit: 'Refused by a rate limit (per IP, user or item)',
    quiz: 'Refused by the quiz: missing, wrong, too fast, expired or replayed answer',
    stock: 'Refused by the stock gate: sold out, or the shopper holds the per-user limit',
    queue_full: 'Refused because the item\'s queue toward the shop was full',
    queued: 'Orders that got a queue slot toward the shop',
    shop: 'Every request sent to the shop: cache misses, page fragments and orders',
    accepted: 'Orders the shop accepted (units sold)'
  };
  var colours = { in: 'bar-in', cache: 'bar-cache', stop: 'bar-stop', pass: 'bar-pass' };
  function renderFunnel(stages) {
    var svg = $('funnel');
    // Draw at the size the page gives the picture, so text keeps its size.
    var W = Math.max(260, Math.floor(svg.getBoundingClientRect().width));
    var narrow = W < 560;
    var labelW = narrow ? 0 : Math.min(240, Math.round(W * 0.3));
    var numW = narrow ? 0 : 180;
    var barW = W - labelW - numW - (narrow ? 0 : 16);
    var barH = 18, gap = narrow ? 28 : 14;
    var rowH = barH + gap;
    var top = narrow ? 20 : 4;
    var H = top + stages.length * rowH - gap + 4;
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    svg.setAttribute('height', H);
    var max = Math.max(1, stages[0].total);
    var scale = function (v) {
      if (v <= 0) { return 0; }
      var f = Math.min(1, Math.log10(1 + v) / Math.log10(1 + max));
      return Math.max(3, f * barW);
    };
    var cx = labelW + barW / 2 + (narrow ? 0 : 8);
    var flow = stages[0].total;
    var prevOut = null;
    stages.forEach(function (s, i) {
      var y = top + i * rowH;
      var wIn, wOut, cls = colours[s.kind];
      if (s.kind === 'stop') {
        wIn = scale(flow);
        flow = Math.max(0, flow - s.total);
        wOut = scale(flow);
        if (s.stage === 'cache') { cls = colours.cache; }
      } else {
        wIn = wOut = scale(s.total);
      }
      if (prevOut != null && (prevOut > 0 || wIn > 0)) {
        svg.appendChild(svgEl('polygon', {
          class: 'neck',
          points: [cx - prevOut / 2, y - gap, cx + prevOut / 2, y - gap, cx + wIn / 2, y, cx - wIn / 2, y].join(' ')
        }));
      }
      if (s.kind === 'stop') {
        if (wIn > 0) { svg.appendChild(svgEl('rect', { class: cls, x: cx - wIn / 2, y: y, width: wIn, height: barH, rx: 3 })); }
        if (wOut > 0) { svg.appendChild(svgEl('rect', { class: 'bar-flow', x: cx - wOut / 2, y: y, width: wOut, height: barH, rx: 3 })); }
      } else if (wIn > 0) {
        svg.appendChild(svgEl('rect', { class: cls, x: cx - wIn / 2, y: y, width: wIn, height: barH, rx: 3 }));
      }
      prevOut = wOut;
      var tip = svgEl('title', {});
      tip.textContent = help[s.stage] || s.label;
      var hit = svgEl('rect', { x: 0, y: y - (narrow ? 20 : 6), width: W, height: rowH, fill: 'transparent' });
      hit.appendChild(tip);
      svg.appendChild(hit);
      var ty = narrow ? y - 6 : y + barH / 2 + 5;
      var label = svgEl('text', { x: 0, y: ty });
      label.textContent = s.label;
      svg.appendChild(label);
      var rateT = svgEl('text', { class: 'rate', x: W, y: ty, 'text-anchor': 'end', 'data-rate': s.stage });
      rateT.textContent = rate(s.rate) + '/s';
      svg.appendChild(rateT);
      var num = svgEl('text', { class: 'num', x: W - 76, y: ty, 'text-anchor': 'end', 'data-total': s.stage });
      num.textContent = int(s.total);
      svg.appendChild(num);
    });
  }

  function renderReasons(stages) {
    var box = $('reasons');
    box.textContent = '';
    stages.forEach(function (s) {
      (s.reasons || []).forEach(function (r) {
        if (r.total <= 0) { return; }
        var c = el('span', 'chip');
        c.appendChild(el('span', 'where', s.stage === 'shop' ? 'shop error' : s.stage));
        c.appendChild(el('span', null, r.reason));
        c.appendChild(el('b', null, int(r.total)));
        if (r.rate > 0) { c.appendChild(el('span', 'where', rate(r.rate) + '/s')); }
        box.appendChild(c);
      });
    });
    if (!box.firstChild) { box.appendChild(el('span', 'empty', 'No refusals yet.')); }
  }

  // ---- cards ----
  function renderSales(sales) {
    var box = $('sales');
    box.textContent = '';
    if (!sales.length) { box.appendChild(el('div', 'empty', 'No sales configured.')); return; }
    sales.forEach(function (s) {
      var row = el('div', 'sale');
      row.setAttribute('data-sale', s.name);
      var head = el('div', 'sale-head');
      var name = el('span', 'sale-name', s.name);
      head.appendChild(name);
      head.appendChild(el('span', 'badge ' + (s.known ? s.state : 'unknown'), s.known ? s.state.replace('_', ' ') : 'no state'));
      row.appendChild(head);
      var meter = el('div', 'meter');
      var frac = s.stock > 0 ? Math.min(1, s.remaining / s.stock) : 0;
      if (frac === 0) { meter.className += ' empty'; } else if (frac < 0.2) { meter.className += ' low'; }
      var fill = el('div');
      fill.style.width = (frac * 100).toFixed(1) + '%';
      meter.appendChild(fill);
      row.appendChild(meter);
      var nums = el('div', 'sale-nums');
      var part = function (label, value, cls) {
        var span = el('span', null, label + ' ');
        var b = el('b', cls, value);
        span.appendChild(b);
        nums.appendChild(span);
      };
      part('item', s.item);
      part('left', s.known ? int(s.remaining) + ' / ' + int(s.stock) : '—', 'remaining');
      part('sold', s.known ? int(s.sold) : '—', 'sold');
      part('reserved', s.known ? int(s.reserved) : '—', 'reserved');
      part('rate', rate(s.sold_rate) + '/s');
      row.appendChild(nums);
      var sp = svgEl('svg', { class: 'spark good', 'aria-hidden': 'true' });
      row.appendChild(sp);
      spark(sp, s.history, true);
      box.appendChild(row);
    });
  }

  function renderUpstreams(ups) {
    var box = $('upstreams');
    box.textContent = '';
    if (!ups.length) { box.appendChild(el('div', 'empty', 'No upstreams.')); return; }
    ups.forEach(function (u) {
      var row = el('div', 'up');
      row.setAttribute('data-upstream', u.name);
      var head = el('div', 'up-head');
      var all = u.servers.length;
      var name = el('span', 'sale-name', u.name);
      head.appendChild(name);
      var health = el('span', 'badge ' + (all && u.healthy === 0 ? 'sold_out' : (u.healthy < all ? 'not_started' : 'on_sale')),
        u.healthy + '/' + all + ' healthy');
      head.appendChild(health);
      row.appendChild(head);
      var nums = el('div', 'sale-nums');
      nums.appendChild(el('span', null, rate(u.rate) + ' req/s'));
      nums.appendChild(el('span', null, rate(u.error_rate) + ' errors/s'));
      nums.appendChild(el('span', null, int(u.errors) + ' errors total'));
      row.appendChild(nums);
      u.servers.forEach(function (s) {
        var line = el('div', 'server');
        line.appendChild(el('span', 'dot' + (!s.healthy ? ' down' : (s.ejected ? ' ejected' : ''))));
        line.appendChild(el('span', 'addr', s.addr));
        var state = !s.healthy ? 'down' : (s.ejected ? 'ejected' : 'up');
        line.appendChild(el('span', 'muted', state + ' · ' + s.in_flight + ' in flight' + (s.fails ? ' · ' + s.fails + ' fails' : '')));
        row.appendChild(line);
      });
      box.appendChild(row);
    });
  }

  function renderHot(hot) {
    var box = $('hot');
    box.textContent = '';
    if (!hot.available) { box.appendChild(el('div', 'empty', 'Hot key detection is not enabled on this node.')); return; }
    if (!hot.keys.length) { box.appendChild(el('div', 'empty', 'No hot keys right now.')); return; }
    hot.keys.slice(0, 20).forEach(function (k) {
      var row = el('div', 'hot');
      row.appendChild(el('span', 'kind', k.kind));
      var key = el('span', 'key', k.key);
      key.title = k.key + (k.source ? ' (' + k.source + ')' : '');
      row.appendChild(key);
      row.appendChild(el('span', 'r', rate(k.rate_per_second) + '/s'));
      box.appendChild(row);
    });
  }

  function renderRoutes(routes) {
    var body = $('routes').tBodies[0];
    body.textContent = '';
    routes.forEach(function (r) {
      var tr = el('tr');
      tr.setAttribute('data-route', r.name);
      [r.name, rate(r.rate), int(r.total), int(r.cached), int(r.errors_4xx), int(r.errors_5xx)].forEach(function (v) {
        tr.appendChild(el('td', null, v));
      });
      body.appendChild(tr);
    });
  }

  function renderStatus(st) {
    if (!st.redis.configured) { pill('redis', 'Redis: off (memory)', 'off'); }
    else if (st.redis.up) { pill('redis', 'Redis up', 'ok'); }
    else { pill('redis', 'Redis DOWN', 'bad'); }
    var c = st.config;
    var loaded = c.loaded_at ? ' · ' + ago(c.loaded_at) : '';
    pill('cfg', 'config v' + c.version + loaded, c.last_error ? 'bad' : '');
    $('cfg').title = c.loaded_at ? 'loaded ' + new Date(c.loaded_at).toLocaleString() + ' · ' + c.reloads_ok + ' ok, ' + c.reloads_failed + ' failed reloads' : '';
    var banner = $('cfg-error');
    if (c.last_error) {
      banner.textContent = 'Last reload failed; config v' + c.version + ' stays in effect:\n' + c.last_error;
      banner.hidden = false;
    } else {
      banner.hidden = true;
    }
    text('build', st.build ? 'build ' + st.build : '');
    text('clock', new Date(st.time).toLocaleTimeString());
  }

  function render(st) {
    var f = {};
    st.funnel.forEach(function (s) { f[s.stage] = s; });
    text('req-rate', rate(st.requests.rate));
    text('req-total', int(st.requests.total));
    text('req-inflight', int(st.requests.in_flight));
    text('cache-ratio', pct(st.cache.hit_ratio != null ? st.cache.hit_ratio : st.cache.hit_ratio_total));
    text('cache-entries', int(st.cache.entries));
    text('cache-bytes', bytes(st.cache.bytes) + (st.cache.capacity_bytes ? ' of ' + bytes(st.cache.capacity_bytes) : ''));
    var refusedRate = 0, refusedTotal = 0;
    st.funnel.forEach(function (s) {
      if (s.kind === 'stop' && s.stage !== 'cache') { refusedRate += s.rate; refusedTotal += s.total; }
    });
    text('refused-rate', rate(refusedRate));
    text('refused-total', int(refusedTotal));
    text('shop-rate', rate(f.shop.rate));
    var shopErr = 0;
    st.upstreams.forEach(function (u) { shopErr += u.error_rate; });
    text('shop-errors', rate(shopErr));
    text('accepted-rate', rate(f.accepted.rate));
    text('accepted-total', int(f.accepted.total));
    text('latency-p99', dur(st.requests.p99_seconds));
    text('latency-p50', dur(st.requests.p50_seconds));
    text('errors-rate', rate(st.requests.error_rate));
    var h = st.history;
    var cacheRatio = h.cache.map(function (c, i) { return h.requests[i] > 0 ? Math.min(1, c / h.requests[i]) : null; });
    spark($('spark-req'), h.requests);
    spark($('spark-cache'), cacheRatio);
    spark($('spark-refused'), h.refused);
    spark($('spark-shop'), h.shop);
    spark($('spark-accepted'), h.accepted);
    renderFunnel(st.funnel);
    renderReasons(st.funnel);
    renderSales(st.sales);
    renderUpstreams(st.upstreams);
    renderHot(st.hot);
    renderRoutes(st.routes);
    renderStatus(st);
    document.documentElement.setAttribute('data-seq', String(st.seq));
  }

  function showLogin() { $('login').hidden = false; }

  async function poll() {
    if (busy) { return; }
    busy = true;
    try {
      var headers = { Accept: 'application/json' };
      if (token) { headers.Authorization = 'Bearer ' + token; }
      if (etag) { headers['If-None-Match'] = etag; }
      var r = await fetch('stats', { headers: headers, cache: 'no-store', credentials: 'omit' });
      if (r.status === 304) {
        failures = 0;
        pill('conn', 'live', 'ok');
        return;
      }
      if (r.status === 401) {
        showLogin();
        pill('conn', 'token needed', 'bad');
        return;
      }
      if (!r.ok) { throw new Error('HTTP ' + r.status); }
      var st = await r.json();
      etag = r.headers.get('ETag');
      $('login').hidden = true;
      failures = 0;
      if (st.history && st.history.interval_seconds > 0) { period = st.history.interval_seconds * 1000; }
      last = st;
      render(st);
      pill('conn', 'live', 'ok');
    } catch (e) {
      failures++;
      pill('conn', failures > 2 ? 'offline' : 'reconnecting…', 'bad');
    } finally {
      busy = false;
    }
  }

  function loop() {
    // Ask four times per sample (mostly 304s): a new sample shows within a
    // quarter of the interval of being taken.
    poll().finally(function () { setTimeout(loop, period / 4); });
  }

  var resizeTimer = null;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { if (last) { renderFunnel(last.funnel); } }, 100);
  });

  readToken();
  loop();
})();
