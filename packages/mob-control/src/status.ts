import type { CrashInfo, KingpinStats } from 'mob-kingpin';

/**
 * One worker in `mob status --json`. `pid`, `state`, `rss`, `cpu` and `calls` are the
 * documented contract; the rest may grow.
 */
export interface WorkerStatus {
  pid: number;
  /** 'starting' | 'ready' | 'stopping' | 'dead' */
  state: string;
  /** resident set size, bytes (0 until its first report) */
  rss: number;
  /** % of one core (0 until there are two reports) */
  cpu: number;
  /** calls it served */
  calls: number;
  /** ms since it was forked */
  uptime: number;
  /** unexpected exits of the workers it replaced, one after the other */
  restarts: number;
  startedAt: number;
  heapUsed: number;
  /** event-loop utilization, 0..1 */
  elu: number;
  errors: number;
  callsPerSec: number;
  /** ms over the last 10 s, null without calls */
  p50: number | null;
  p99: number | null;
  /** calls it is serving now */
  inflight: number;
  /** calls it made that are not settled */
  pending: number;
  links: number;
  /** seconds since its last report, null before the first */
  reportAge: number | null;
}

/** One role in `mob status --json`. `name`, `restarts` and `workers` are the contract. */
export interface RoleStatus {
  name: string;
  /** its workers that exited unexpectedly and were revived (reloads and scaling do not count) */
  restarts: number;
  workers: WorkerStatus[];
  target: number;
  min: number;
  max: number;
  ready: number;
  /** calls and messages held while it has no ready worker */
  held: number;
  /** calls served by its workers, dead ones included */
  calls: number;
  errors: number;
  callsPerSec: number;
  inflight: number;
  /** calls served per export, dead workers included */
  exports: Record<string, { calls: number; errors: number }>;
  lastCrash: CrashInfo | null;
}

/** One app in `mob status --json` and `mob ls --json`. `name`, `pid` and `roles` are the contract. */
export interface AppStatus {
  name: string;
  /** the Kingpin's pid */
  pid: number;
  roles: RoleStatus[];
  startedAt: number;
  uptime: number;
  /** the control socket it answers on */
  socket: string;
}

/**
 * The documented status of an app from the Kingpin's stats.
 *
 * @example
 * const status = toStatus(kingpin.stats(), socketPath('shop'));
 * status.roles[0].workers[0].rss;
 */
export function toStatus(stats: KingpinStats, socket: string): AppStatus {
  return {
    name: stats.app,
    pid: stats.pid,
    startedAt: stats.startedAt,
    uptime: stats.uptime,
    socket,
    roles: stats.roles.map((r) => ({
      name: r.name,
      restarts: r.restarts,
      target: r.target,
      min: r.min,
      max: r.max,
      ready: r.ready,
      held: r.held,
      calls: r.calls,
      errors: r.errors,
      callsPerSec: r.callsPerSec,
      inflight: r.inflight,
      exports: Object.fromEntries(Object.entries(r.exports).map(([k, t]) => [k, { calls: t.calls, errors: t.errors }])),
      lastCrash: r.lastCrash,
      workers: r.workers.map((w) => ({
        pid: w.pid,
        state: w.state,
        rss: w.rss,
        cpu: w.cpu,
        calls: w.calls,
        uptime: w.uptime,
        restarts: w.restarts,
        startedAt: w.startedAt,
        heapUsed: w.heapUsed,
        elu: w.elu,
        errors: w.errors,
        callsPerSec: w.callsPerSec,
        p50: w.p50,
        p99: w.p99,
        inflight: w.inflight,
        pending: w.pending,
        links: w.links,
        reportAge: w.reportAge,
      })),
    })),
  };
}
