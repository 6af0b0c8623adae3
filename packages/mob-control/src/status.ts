import type { CrashInfo, KingpinStats, WorkerStats } from 'mob-kingpin';

/**
 * One worker in `mob status --json`: the Kingpin's WorkerStats without its per-export
 * figures and CPU seconds. `pid`, `state` ('starting' | 'ready' | 'stopping' | 'dead'), `rss`
 * (bytes), `cpu` (% of one core, 0 until there are two reports) and `calls` (served) are the
 * documented contract; the rest may grow.
 */
export type WorkerStatus = Omit<WorkerStats, 'exports' | 'cpuSeconds'> & {
  /** the host the worker runs on (the app entry's `host`, repeated for scripts that flatten) */
  host: string;
};

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
  /** the host (the Kingpin's `host` option): an app over several hosts has one entry per host */
  host: string;
  /** the other hosts of the app, as they last told this one (mob-nats); absent on one host */
  others?: AppStatus[];
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
    host: stats.host,
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
      workers: r.workers.map(({ exports: _exports, cpuSeconds: _cpu, ...w }) => ({ ...w, host: stats.host })),
    })),
  };
}

/**
 * This host's status with the other hosts' of the app (mob-nats): what the control socket
 * answers to `status`.
 *
 * @example
 * const s = withOthers(toStatus(stats, path), kingpin.otherHosts());
 */
export function withOthers(status: AppStatus, others: KingpinStats[]): AppStatus {
  if (others.length) status.others = others.map((o) => toStatus(o, ''));
  return status;
}

/**
 * One entry per host: this host's status, then each other host's (what `mob status --json` prints).
 *
 * @example
 * flatten(await client.request('status')).map((s) => s.host); // ['a', 'b', 'c']
 */
export function flatten(status: AppStatus): AppStatus[] {
  const { others, ...own } = status;
  return [own, ...(others ?? [])];
}
