/**
 * Each host's figures travel in its heartbeats, so that `mob status`, `mob ls` and the
 * dashboard on any host show every host of the mob. Sent slim (no per-export histograms),
 * and read back field by field: another host's figures are shown, never trusted.
 */
import type { CrashInfo, KingpinStats, RoleStats, WorkerStats } from 'mob-kingpin';

/** What a heartbeat carries of `stats`: everything `mob status` shows. */
export function slimStats(stats: KingpinStats): unknown {
  return {
    ...stats,
    roles: stats.roles.map((r) => ({
      ...r,
      exports: Object.fromEntries(Object.entries(r.exports).map(([k, t]) => [k, { calls: t.calls, errors: t.errors }])),
      workers: r.workers.map(({ exports: _exports, ...w }) => w),
    })),
  };
}

const num = (x: unknown): number => (typeof x === 'number' && Number.isFinite(x) ? x : 0);
const maybe = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const str = (x: unknown): string => (typeof x === 'string' ? x.slice(0, 1000) : '');
const list = (x: unknown, max: number): unknown[] => (Array.isArray(x) ? x.slice(0, max) : []);
const obj = (x: unknown): Record<string, unknown> => (typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : {});

/**
 * Another host's figures from its heartbeat, rebuilt from the fields `mob status` reads (wrong
 * types become 0 or empty); `host` and `app` are the ones the heartbeat was accepted under.
 *
 * @example
 * const b = readStats(heartbeat.s, 'b', 'shop');
 */
export function readStats(x: unknown, host: string, app: string): KingpinStats {
  const s = obj(x);
  return {
    app,
    host,
    pid: num(s.pid),
    startedAt: num(s.startedAt),
    uptime: num(s.uptime),
    roles: list(s.roles, 64).map((raw): RoleStats => {
      const r = obj(raw);
      const exports: RoleStats['exports'] = {};
      for (const [k, t] of Object.entries(obj(r.exports)).slice(0, 256)) {
        if (k === '__proto__') continue;
        exports[k] = { calls: num(obj(t).calls), errors: num(obj(t).errors), sum: 0, buckets: [] };
      }
      return {
        name: str(r.name),
        target: num(r.target),
        min: num(r.min),
        max: num(r.max),
        restarts: num(r.restarts),
        ready: num(r.ready),
        held: num(r.held),
        exports,
        calls: num(r.calls),
        errors: num(r.errors),
        callsPerSec: num(r.callsPerSec),
        inflight: num(r.inflight),
        lastCrash: readCrash(r.lastCrash),
        workers: list(r.workers, 1024).map((w) => readWorker(obj(w))),
      };
    }),
  };
}

function readWorker(w: Record<string, unknown>): WorkerStats {
  const state = str(w.state);
  return {
    pid: num(w.pid),
    state: ['starting', 'ready', 'stopping', 'dead'].includes(state) ? state : 'dead',
    startedAt: num(w.startedAt),
    uptime: num(w.uptime),
    restarts: num(w.restarts),
    rss: num(w.rss),
    heapUsed: num(w.heapUsed),
    cpu: num(w.cpu),
    cpuSeconds: num(w.cpuSeconds),
    elu: num(w.elu),
    calls: num(w.calls),
    errors: num(w.errors),
    callsPerSec: num(w.callsPerSec),
    p50: maybe(w.p50),
    p99: maybe(w.p99),
    inflight: num(w.inflight),
    pending: num(w.pending),
    links: num(w.links),
    reportAge: maybe(w.reportAge),
    exports: {},
  };
}

function readCrash(x: unknown): CrashInfo | null {
  if (typeof x !== 'object' || x === null) return null;
  const c = obj(x);
  const e = c.error === null || typeof c.error !== 'object' ? null : obj(c.error);
  const origin = str(c.origin);
  return {
    pid: num(c.pid),
    time: str(c.time),
    code: maybe(c.code),
    signal: typeof c.signal === 'string' ? str(c.signal) : null,
    origin: origin === 'load' || origin === 'uncaughtException' || origin === 'unhandledRejection' ? origin : null,
    error: e ? { name: str(e.name), message: str(e.message) } : null,
    lines: list(c.lines, 20).map((l) => {
      const line = obj(l);
      return { time: num(line.time), role: str(line.role), pid: num(line.pid), stream: line.stream === 'stderr' ? 'stderr' : 'stdout', line: str(line.line) };
    }),
  };
}
