import type { AppStatus, RoleStatus } from 'mob-control';

/** `1h 2m`, `3m 4s`, `5.1s` */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.floor(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** `12.3 MiB` */
export function bytes(n: number): string {
  if (!n) return '-';
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

function ms(x: number | null): string {
  if (x === null) return '-';
  return x < 1 ? `${(x * 1000).toFixed(0)}µs` : x < 100 ? `${x.toFixed(1)}ms` : `${x.toFixed(0)}ms`;
}

/** A text table: columns padded to their widest cell, numbers to the right. */
export function table(head: string[], rows: string[][], right: boolean[] = []): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

/** A worker whose last report is this old (seconds) is shown as silent (it reports every second). */
const SILENT_S = 3;

/** The table of one role, as `mob status` prints it. */
export function roleTable(role: RoleStatus): string {
  const head = `role ${role.name}: ${role.ready}/${role.target} ready, restarts ${role.restarts}, ${role.calls} calls served` +
    `${role.errors ? ` (${role.errors} failed)` : ''}, held ${role.held}`;
  const rows = role.workers.map((w) => [
    String(w.pid),
    // A worker that stopped reporting (stopped with SIGSTOP, or its event loop blocked): its
    // figures are its last ones; say how old.
    w.state !== 'dead' && w.reportAge !== null && w.reportAge !== undefined && w.reportAge >= SILENT_S ? `${w.state}, silent ${duration(w.reportAge * 1000)}` : w.state,
    duration(w.uptime),
    String(w.restarts ?? 0),
    w.cpu.toFixed(1),
    bytes(w.rss),
    w.callsPerSec.toFixed(w.callsPerSec < 10 ? 1 : 0),
    ms(w.p50),
    ms(w.p99),
    String(w.inflight),
    String(role.held),
  ]);
  const out = [head, table(['PID', 'STATE', 'UPTIME', 'RESTARTS', 'CPU%', 'RSS', 'CALLS/S', 'P50', 'P99', 'IN-FLIGHT', 'HELD'], rows, [true, false, true, true, true, true, true, true, true, true, true])];
  const c = role.lastCrash;
  if (c) {
    const what = c.error ? `${c.error.name}: ${c.error.message}` : c.signal ? `killed by ${c.signal}` : `exit code ${c.code}`;
    out.push(`last crash: worker ${c.pid} at ${c.time} (${c.signal ? `signal ${c.signal}` : `code ${c.code}`}): ${what}`);
    for (const l of c.lines.slice(-5)) out.push(`  | ${l.line}`);
  }
  return out.join('\n');
}

/** `mob status` for one app. */
export function appText(app: AppStatus): string {
  return [`app ${app.name} on host ${app.host}: Kingpin ${app.pid}, up ${duration(app.uptime)}`, ...app.roles.map(roleTable)].join('\n\n');
}

/** `mob ls`. */
export function listText(apps: AppStatus[]): string {
  if (apps.length === 0) return 'no mob app is running on this host';
  const rows = apps.map((a) => {
    const workers = a.roles.reduce((n, r) => n + r.workers.length, 0);
    const ready = a.roles.reduce((n, r) => n + r.ready, 0);
    return [a.name, a.host, String(a.pid), duration(a.uptime), a.roles.map((r) => r.name).join(','), `${ready}/${workers}`, String(a.roles.reduce((n, r) => n + r.restarts, 0)), a.socket || '(another host)'];
  });
  return table(['APP', 'HOST', 'PID', 'UPTIME', 'ROLES', 'READY', 'RESTARTS', 'SOCKET'], rows, [false, false, true, true, false, true, true, false]);
}
