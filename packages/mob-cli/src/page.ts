import type { AppStatus, RoleStatus, WorkerStatus } from 'mob-control';

/** One role of an app over every host that runs it: what the dashboard shows in its header and charts. */
export interface RoleOverHosts {
  name: string;
  /** ready workers, on every host */
  ready: number;
  /** the workers aimed for (the roles' targets), summed over the hosts */
  target: number;
  /** unexpected exits, summed over the hosts */
  restarts: number;
  /** calls served, summed over the hosts */
  calls: number;
  /** calls served per second, summed over the hosts */
  callsPerSec: number;
  /** calls and messages held for want of a ready worker, summed over the hosts */
  held: number;
  /** the p50 and p99 (ms) of the role's slowest worker on any host; null when none served a call lately */
  p50: number | null;
  p99: number | null;
  /** every host's workers of the role, this host's first */
  workers: { host: string; worker: WorkerStatus }[];
  /** the latest crash of the role on any host, with its host */
  lastCrash: (NonNullable<RoleStatus['lastCrash']> & { host: string }) | null;
  /** the role on this host (the first entry), which the reload and scale buttons act on; null when it does not declare it */
  here: RoleStatus | null;
}

/**
 * Each role over every host of the app, from a status with one entry per host (this host's
 * first, as `GET /api/status` answers): the role's figures summed, latency the slowest
 * worker's. Roles in this host's order, then the ones only other hosts declare. The page runs
 * this very function (its source is inlined), so it uses nothing from outside itself.
 *
 * @example
 * rolesOverHosts(await (await fetch('/api/status?token=…')).json())[0].ready; // 4 (2 on b, 2 on c)
 */
export function rolesOverHosts(apps: AppStatus[]): RoleOverHosts[] {
  const out: RoleOverHosts[] = [];
  const byName = new Map<string, RoleOverHosts>();
  const worst = (a: number | null, b: number | null): number | null => (typeof b !== 'number' || (a !== null && a >= b) ? a : b);
  apps.forEach((app, i) => {
    app.roles.forEach((role) => {
      let r = byName.get(role.name);
      if (!r) {
        r = { name: role.name, ready: 0, target: 0, restarts: 0, calls: 0, callsPerSec: 0, held: 0, p50: null, p99: null, workers: [], lastCrash: null, here: null };
        byName.set(role.name, r);
        out.push(r);
      }
      if (i === 0) r.here = role;
      r.ready += role.ready;
      r.target += role.target;
      r.restarts += role.restarts;
      r.calls += role.calls;
      r.callsPerSec = Math.round((r.callsPerSec + role.callsPerSec) * 10) / 10;
      r.held += role.held;
      role.workers.forEach((w) => {
        r.workers.push({ host: app.host, worker: w });
        r.p50 = worst(r.p50, w.p50);
        r.p99 = worst(r.p99, w.p99);
      });
      if (role.lastCrash && (!r.lastCrash || role.lastCrash.time > r.lastCrash.time)) r.lastCrash = { ...role.lastCrash, host: app.host };
    });
  });
  return out;
}

/**
 * The dashboard's one page: HTML, CSS and script inline, charts drawn as SVG, no external
 * asset (it works offline). It reads the token from its own URL, follows `/api/events`
 * (Server-Sent Events: `status` carries what `GET /api/status` answers, one entry per host)
 * and keeps the last 5 minutes of figures in memory.
 */
export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mob dashboard</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2330; }
  header { background: #1d2330; color: #fff; padding: 10px 18px; display: flex; gap: 18px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  header .muted { color: #aab3c5; }
  main { padding: 14px 18px; display: grid; gap: 14px; }
  section.role { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: 10px 14px; }
  section.role h2 { font-size: 16px; margin: 0 8px 0 0; display: inline-block; }
  .bar { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
  button { font: inherit; padding: 2px 10px; border: 1px solid #8892a6; border-radius: 4px; background: #fff; cursor: pointer; }
  button:hover { background: #eef1f6; }
  table { border-collapse: collapse; margin: 8px 0; width: 100%; }
  th, td { text-align: right; padding: 2px 8px; border-bottom: 1px solid #eef0f4; white-space: nowrap; }
  th:nth-child(-n+2), td:nth-child(-n+2) { text-align: left; }
  .state-ready { color: #18794e; } .state-starting { color: #a16207; } .state-stopping { color: #6b7280; } .state-dead { color: #b42318; }
  .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 10px; }
  .chart { border: 1px solid #eef0f4; border-radius: 4px; padding: 4px 6px; }
  .chart .title { font-size: 12px; color: #4b5563; }
  .crash { background: #fff4f2; border: 1px solid #f5c2bb; border-radius: 4px; padding: 6px 10px; margin-top: 6px; }
  .crash pre { margin: 4px 0 0; font-size: 12px; white-space: pre-wrap; }
  #note { color: #b42318; }
</style>
</head>
<body>
<header><h1 id="app">mob</h1><span class="muted" id="meta"></span><span id="note"></span></header>
<main id="roles"></main>
<script>
(function () {
  var token = new URLSearchParams(location.search).get('token') || '';
  var WINDOW = 300; // samples: 5 minutes at one a second
  var history = {}; // key -> [{t, v}]
  var colors = ['#2563eb', '#db2777', '#16a34a', '#ea580c', '#7c3aed', '#0891b2', '#ca8a04', '#dc2626'];
  function push(key, t, v) {
    var h = history[key] || (history[key] = []);
    h.push({ t: t, v: v });
    while (h.length && t - h[0].t > WINDOW * 1000) h.shift();
  }
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); }
  function dur(ms) { var s = Math.floor(ms / 1000); if (s < 60) return s + 's'; var m = Math.floor(s / 60); if (m < 60) return m + 'm ' + Math.floor(s % 60) + 's'; var h = Math.floor(m / 60); return h + 'h ' + (m % 60) + 'm'; }
  function mib(b) { return b ? (b / 1048576).toFixed(1) + ' MiB' : '-'; }
  function ms(x) { return x === null || x === undefined ? '-' : x < 1 ? (x * 1000).toFixed(0) + ' µs' : x.toFixed(1) + ' ms'; }
  function chart(title, series, unit) {
    var W = 300, H = 90, now = Date.now(), max = 0;
    series.forEach(function (s) { s.points.forEach(function (p) { if (p.v > max) max = p.v; }); });
    if (max <= 0) max = 1;
    var paths = series.map(function (s, i) {
      var d = s.points.map(function (p, j) {
        var x = W - ((now - p.t) / (WINDOW * 1000)) * W, y = H - (p.v / max) * (H - 4) - 2;
        return (j ? 'L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1);
      }).join(' ');
      return '<path d="' + d + '" fill="none" stroke="' + colors[i % colors.length] + '" stroke-width="1.5"/>';
    }).join('');
    var legend = series.map(function (s, i) {
      var lastV = s.points.length ? s.points[s.points.length - 1].v : 0;
      return '<span style="color:' + colors[i % colors.length] + '">' + esc(s.name) + ' ' + (unit === 'MiB' ? lastV.toFixed(1) : unit === 'ms' ? lastV.toFixed(2) : lastV.toFixed(1)) + '</span>';
    }).join(' · ');
    return '<div class="chart"><div class="title">' + esc(title) + ' (max ' + max.toFixed(1) + ' ' + unit + ', last 5 min)</div>' +
      '<svg viewBox="0 0 ' + W + ' ' + H + '" preserveAspectRatio="none" width="100%" height="' + H + '" role="img" aria-label="' + esc(title) + '">' +
      '<rect x="0" y="0" width="' + W + '" height="' + H + '" fill="#fbfcfd"/>' + paths + '</svg><div class="title">' + legend + '</div></div>';
  }
  function act(path, body) {
    document.getElementById('note').textContent = path.slice(5) + ' ' + body.role + '…';
    fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token }, body: JSON.stringify(body) })
      .then(function (r) { return r.json(); })
      .then(function (r) { document.getElementById('note').textContent = r.ok ? '' : (r.error || 'failed'); })
      .catch(function (e) { document.getElementById('note').textContent = String(e); });
  }
  window.mobReload = function (role) { act('/api/reload', { role: role }); };
  window.mobScale = function (role, n) { act('/api/scale', { role: role, n: n }); };
  var rolesOverHosts = ${rolesOverHosts.toString()};
  function render(apps) {
    var app = apps[0];
    if (!app) return;
    var t = Date.now();
    var several = apps.length > 1;
    document.getElementById('app').textContent = app.name;
    document.getElementById('meta').textContent = 'host ' + app.host + ' · Kingpin ' + app.pid + ' · up ' + dur(app.uptime) +
      (several ? ' · hosts ' + apps.map(function (a) { return a.host; }).join(', ') : '');
    // Each role over every host: its figures summed, its latency the slowest worker's on any host.
    var html = rolesOverHosts(apps).map(function (role) {
      var here = role.here || { target: 0, min: 0, max: 0 };
      push('calls:' + role.name, t, role.callsPerSec);
      push('p50:' + role.name, t, role.p50 === null ? 0 : role.p50);
      // host/pid: pids of different hosts may be equal.
      var key = function (x) { return x.host + '/' + x.worker.pid; };
      var rows = role.workers.map(function (x) {
        var w = x.worker;
        push('cpu:' + key(x), t, w.cpu);
        push('rss:' + key(x), t, w.rss / 1048576);
        return '<tr data-pid="' + w.pid + '" data-host="' + esc(x.host) + '"><td>' + esc(x.host) + '</td><td>' + w.pid + '</td><td class="state-' + esc(w.state) + '">' + esc(w.state) + '</td><td>' + dur(w.uptime) +
          '</td><td>' + w.restarts + '</td><td>' + w.cpu.toFixed(1) + '</td><td>' + mib(w.rss) + '</td><td>' + w.callsPerSec.toFixed(1) +
          '</td><td>' + ms(w.p50) + '</td><td>' + ms(w.p99) + '</td><td>' + w.inflight + '</td></tr>';
      }).join('');
      var c = role.lastCrash;
      var crash = c ? '<div class="crash"><b>last crash</b>: worker ' + c.pid + (several ? ' on host ' + esc(c.host) : '') + ' at ' + esc(c.time) + ' (' +
        esc(c.signal ? 'signal ' + c.signal : 'code ' + c.code) + ')' +
        (c.error ? ': ' + esc(c.error.name + ': ' + c.error.message) : '') +
        (c.lines.length ? '<pre>' + c.lines.map(function (l) { return esc(l.line); }).join('\\n') + '</pre>' : '') + '</div>' : '';
      var workerSeries = function (prefix) {
        return role.workers.map(function (x) { return { name: several ? key(x) : String(x.worker.pid), points: history[prefix + key(x)] || [] }; });
      };
      var on = ' title="on host ' + esc(app.host) + ' (this Kingpin): ' + here.target + ' workers"';
      return '<section class="role" data-role="' + esc(role.name) + '"><div class="bar"><h2>' + esc(role.name) + '</h2>' +
        '<span class="summary">' + role.ready + '/' + role.target + ' ready · restarts <b class="restarts">' + role.restarts + '</b> · ' + role.calls + ' calls served · ' +
        role.callsPerSec.toFixed(1) + ' calls/s · held ' + role.held + '</span>' +
        '<button data-action="reload"' + on + ' onclick="mobReload(\\'' + esc(role.name) + '\\')"' + (role.here ? '' : ' disabled') + '>reload</button>' +
        '<button data-action="scale-down"' + on + ' onclick="mobScale(\\'' + esc(role.name) + '\\',' + (here.target - 1) + ')"' + (here.target <= here.min ? ' disabled' : '') + '>−1</button>' +
        '<button data-action="scale-up"' + on + ' onclick="mobScale(\\'' + esc(role.name) + '\\',' + (here.target + 1) + ')"' + (here.target >= here.max ? ' disabled' : '') + '>+1</button></div>' +
        '<table><thead><tr><th>host</th><th>pid</th><th>state</th><th>uptime</th><th>restarts</th><th>CPU %</th><th>memory</th><th>calls/s</th><th>p50</th><th>p99</th><th>in flight</th></tr></thead><tbody>' + rows + '</tbody></table>' +
        '<div class="charts">' + chart('calls/s', [{ name: role.name, points: history['calls:' + role.name] }], '/s') +
        chart('latency p50 (slowest worker)', [{ name: role.name, points: history['p50:' + role.name] }], 'ms') +
        chart('CPU % per worker', workerSeries('cpu:'), '%') + chart('memory per worker', workerSeries('rss:'), 'MiB') + '</div>' + crash + '</section>';
    }).join('');
    document.getElementById('roles').innerHTML = html;
  }
  var es = new EventSource('/api/events?token=' + encodeURIComponent(token));
  es.addEventListener('status', function (e) { document.getElementById('note').textContent = ''; render(JSON.parse(e.data)); });
  es.addEventListener('gone', function () { document.getElementById('note').textContent = 'the app is not running'; });
  es.onerror = function () { document.getElementById('note').textContent = 'reconnecting…'; };
})();
</script>
</body>
</html>
`;
