import cluster, { type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  WrongProcessError,
  DEFAULT_FLOW,
  Kind,
  ShutdownError,
  createRouter,
  flowLimits,
  boundLimits,
  DEFAULT_QUEUE,
  type Balance,
  type CrashReport,
  type Locality,
  type FlowLimits,
  type QueueLimits,
  type Router,
  type WorkerInfo,
} from 'mob-messaging';
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { ReloadFailedError, RoleFailedError, ScaleFailedError, type NotReady } from './errors.js';
import { makeLinkDir, sweepLinkDirs } from './linkdir.js';
import { Output, type LogLine } from './output.js';
import { StatsBook, type ExportTotals, type WorkerStats } from './stats.js';
import { baseDir, defaultBase, describe, resolveRole, type BaseLike } from './paths.js';
import { MAX_SEMI_SPACE_MB, capYoungGeneration, semiSpaceGiven } from './young.js';
import { setTitle } from './title.js';

/** Options of one role. */
export interface RoleOptions {
  /** A fixed number of workers (default 1); 0 declares a role that runs on other hosts (mob-nats). */
  workers?: number;
  /** With maxWorkers instead of workers: the role starts at minWorkers and scales within. */
  minWorkers?: number;
  maxWorkers?: number;
  /** ms a stopping worker has to finish before it is killed (default 5,000). */
  killTimeout?: number;
  /**
   * ms a worker forked by `reload()` or a scale-up has to be ready (default 60,000): past it,
   * the reload stops (the new worker is stopped, the old ones keep running) or the scale
   * rejects (the worker keeps loading).
   */
  readyTimeout?: number;
  /** How calls pick a worker of this role (default 'round-robin'). */
  balance?: Balance;
  /**
   * In a mob over several hosts: `'prefer-local'` (default) sends a call to a worker on the
   * caller's host while the role has ready ones there; `'any'` spreads over every host's.
   */
  locality?: Locality;
  /** Bounds of calls and messages held while the role has no ready worker. */
  queue?: Partial<QueueLimits>;
  /** Flow limits of the role's workers' paths, over the Kingpin's `flow`. */
  flow?: FlowOptions;
  /** Restart delays of a crash-looping role. */
  backoff?: Partial<BackoffOptions>;
  /** Extra environment variables of the role's workers. */
  env?: Record<string, string>;
}

/**
 * Flow limits of a worker's path: what it has sent and the Kingpin has not yet passed on.
 * Above `highWater`, `send()` returns false and `mob.drain()` waits; beyond `max`, calls,
 * messages and callback invocations are refused at their call with QueueFullError.
 */
export interface FlowOptions {
  /** default 1,000 frames / 1 MiB */
  highWater?: Partial<FlowLimits['highWater']>;
  /** default 10,000 frames / 16 MiB */
  max?: Partial<FlowLimits['max']>;
}

/** Options of the Kingpin. */
export interface KingpinOptions {
  /**
   * This host's name in a mob over several hosts (mob-nats), unique among them. Default:
   * `MOB_HOST`, else the machine's hostname. Workers see it in `whoami().host`.
   */
  host?: string;
  /**
   * Direct links between workers (default on): a call goes from worker to worker over a Unix
   * socket instead of through the Kingpin, which introduces them. `false` routes everything
   * through the Kingpin; `{ max }` bounds a worker's links (default 64). Off under
   * `serialization: 'advanced'` (links carry JSON).
   */
  links?: boolean | { max?: number };
  /** Flow limits of every worker's path (a role's `flow` overrides them). */
  flow?: FlowOptions;
  /** 'json' (default, fastest) or 'advanced' (V8's serializer: Map, Set, Date, BigInt, typed arrays). */
  serialization?: 'json' | 'advanced';
  /** The worker entry that loads a role module (mob sets its own, which also serves calls). */
  exec?: string;
  /** Where the Kingpin's log lines go (default: stderr). */
  log?: (line: string) => void;
  /** Handle SIGINT/SIGTERM (stop) and SIGHUP (reload) (default true). */
  signals?: boolean;
  /**
   * Keep the workers' output (default true): their stdout and stderr pass through the
   * Kingpin's, unchanged, and it keeps their recent lines (`logs()`, `mob logs`, crash
   * reports). The workers' streams are then pipes, not the terminal. `false`: they inherit
   * the Kingpin's.
   */
  logs?: boolean;
  /**
   * The workers' figures (default true): each reports once a second, and times every call it
   * serves per export (`stats()`, `mob status`, metrics). `false`: no timing and no periodic
   * report (a status still asks them for their process figures).
   */
  stats?: boolean;
  /**
   * Node flags of the workers, after the Kingpin's own. Default: none on Node 20, and
   * `--max-semi-space-size=16` on Node 22 and later (unless the Kingpin's flags or
   * NODE_OPTIONS set a semi-space size), which keeps a busy worker's young generation at
   * Node 20's size: without it, a worker flooding calls went over 200 MiB of RSS on Node 24.
   * `[]` leaves V8's own sizes. A flag costs each worker a few ms of start-up.
   */
  execArgv?: string[];
}

/** A worker as the Kingpin's events describe it. */
export interface MobsterInfo {
  role: string;
  pid: number;
}

/** Events of the Kingpin and their payloads. */
export interface KingpinEvents {
  /** a worker was forked */
  fork: [info: MobsterInfo];
  /** a worker's role module loaded: it receives calls and messages */
  ready: [info: MobsterInfo];
  /** a worker exited */
  exit: [info: MobsterInfo & { code: number | null; signal: string | null; expected: boolean }];
  /** a worker that exited unexpectedly is being replaced (after `delay` ms) */
  revive: [info: MobsterInfo & { delay: number; restarts: number }];
  /** a worker reported an uncaught error or a failed load */
  crash: [report: CrashReport];
  /** a crash-looping role waits `delay` ms before its next fork */
  backoff: [info: { role: string; delay: number; early: number }];
  /** every role has its target number of ready workers */
  full: [];
  /** every worker is gone after stop() */
  shutdown: [];
  /** the router exists; no worker is forked yet (mob-nats joins other hosts here) */
  boot: [router: Router];
  /** a rolling reload of a role starts or is done (`ok` false if a new worker failed to start) */
  reload: [info: { role: string; phase: 'start' | 'done'; ok: boolean }];
  /** a line a worker wrote to its stdout or stderr (with `logs` on) */
  log: [line: LogLine];
}

/** The last unexpected exit of a role's worker, as `stats()` gives it. */
export interface CrashInfo {
  pid: number;
  /** ISO time of the exit */
  time: string;
  code: number | null;
  signal: string | null;
  /** what the worker reported before it exited, if it could: an uncaught error, a failed load */
  origin: CrashReport['origin'] | null;
  error: { name: string; message: string; stack?: string } | null;
  /** its last lines of output (up to 20) */
  lines: LogLine[];
}

/** One role's figures, as `stats()` gives them. */
export interface RoleStats {
  name: string;
  /** the number of workers it aims for, and its bounds */
  target: number;
  min: number;
  max: number;
  /** workers of it that exited unexpectedly and were revived (reloads and scaling do not count) */
  restarts: number;
  /** workers ready now */
  ready: number;
  /** calls and messages held for it while it has no ready worker */
  held: number;
  /** calls served by its workers, dead ones included, per export */
  exports: Record<string, ExportTotals>;
  /** the sums of `exports` */
  calls: number;
  errors: number;
  /** of its live workers, over their last report interval */
  callsPerSec: number;
  /** calls its workers are serving now */
  inflight: number;
  lastCrash: CrashInfo | null;
  workers: WorkerStats[];
}

/** What `kingpin.stats()` returns. */
export interface KingpinStats {
  app: string;
  /** this host's name (see the `host` option) */
  host: string;
  /** the Kingpin's pid */
  pid: number;
  /** ms since epoch when it started */
  startedAt: number;
  uptime: number;
  roles: RoleStats[];
}

interface Role {
  readonly name: string;
  readonly file: string;
  readonly options: RoleOptions;
  readonly min: number;
  readonly max: number;
  target: number;
  readonly backoff: Backoff;
  /** forks scheduled but not yet made */
  pendingForks: number;
  restarts: number;
  lastErr: CrashReport | null;
  lastCrash: CrashInfo | null;
  /** restart counts of the workers that exited unexpectedly, for their replacements */
  revive: number[];
  /** a worker of the role has listened on a server: readiness includes listening */
  listens: boolean;
  /** last logged error and how often it repeated */
  lastLogged: { key: string; count: number } | null;
  /** the role's last reload asked for (the next one waits for it) */
  reloading: Promise<void> | null;
}

interface Mobster {
  readonly worker: Worker;
  readonly pid: number;
  readonly role: Role;
  readonly forkedAt: number;
  /** fork order in this Kingpin: a reload replaces the workers forked before it was asked for */
  readonly seq: number;
  ready: boolean;
  readyAt: number;
  listening: boolean;
  /** it asked the cluster for a server (a listen() through the primary) that is not listening yet */
  binding: boolean;
  /** the Kingpin stops it on purpose: no revival */
  retiring: boolean;
  readonly exited: Promise<void>;
  resolveExit: () => void;
  onReady: (() => void)[];
  killTimer?: NodeJS.Timeout;
  /** a full stop's first phase: it has run its shutdown listeners and closed its servers */
  onQuiet?: () => void;
  /** that phase's bound (then it is retired as every worker is) */
  quietTimer?: NodeJS.Timeout;
  /** what it reported before an unexpected exit */
  crash?: CrashReport;
  /** how it exited, once it has */
  exit?: { code: number | null; signal: string | null };
  /**
   * forked by a reload or a scale-up: until it is ready, its exit fails that operation and is
   * no restart (a reload's is not revived either: the old worker keeps its place)
   */
  readonly trial: 'reload' | 'scale' | null;
  /** unexpected exits of the workers it replaces, one after the other (its slot's restarts) */
  readonly restarts: number;
}

const NAME = /^[A-Za-z0-9_.-]+$/;
/** A host name: a hostname, or any short name without a slash. */
const HOST = /^[A-Za-z0-9_.-]{1,64}$/;
/** Early deaths in a row, with no worker ready, after which ready() rejects. */
const FAILED_AFTER = 3;
/** How long a worker's SIGTERM waits for the Kingpin's own (a signal to the whole group). */
const TERM_GRACE_MS = 100;
/** The same stop signal again within this many ms is one signal delivered twice (to the Kingpin and to its group). */
const SAME_SIGNAL_MS = 100;
/** Lines of output kept with a crash report. */
const CRASH_LINES = 20;
const MOBSTER_ENTRY = join(__dirname, 'worker-main.js');

/**
 * Creates the Kingpin: the cluster primary that forks each role's workers, revives them,
 * routes their messages and stops them. It runs no application code. Roles are added with
 * `.role()`; the cluster starts on the next turn of the event loop.
 *
 * @example
 * const { createKingpin } = require('mob-kingpin');
 * createKingpin('myapp')
 *   .base(module)
 *   .role('back', './background-worker.js', { workers: 4 })
 *   .role('front', './http-server.js', { workers: 2 });
 */
export function createKingpin(name: string, options: KingpinOptions = {}): Kingpin {
  return new Kingpin(name, options);
}

/**
 * The Kingpin createKingpin makes (mob's `start()` returns one).
 *
 * @example
 * const kingpin = createKingpin('myapp').role('back', './back.js', { workers: 2 });
 * kingpin.on('exit', ({ role, pid, code, signal }) => console.log(role, pid, code ?? signal));
 */
export class Kingpin extends EventEmitter<KingpinEvents> {
  readonly name: string;
  /** this host's name (the `host` option, `MOB_HOST`, or the hostname) */
  readonly host: string;
  readonly #options: KingpinOptions;
  readonly #roles = new Map<string, Role>();
  readonly #mobsters = new Map<number, Mobster>();
  #base: string | null = null;
  #router: Router | null = null;
  /** the private folder (0700) where workers' link sockets live, or null with links off */
  #linkDir: string | null = null;
  #started = false;
  #stopping: Promise<void> | null = null;
  /** workers forked so far (each Mobster's seq) */
  #forks = 0;
  /** shutdown(): the stop, said in the log, once */
  #shutdown: Promise<{ stopped: number; ms: number }> | null = null;
  #full = false;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #log: (line: string) => void;
  readonly #signalHandlers: [NodeJS.Signals, () => void][] = [];
  readonly #book = new StatsBook();
  /** the round of reports freshStats() waits for, while one is under way */
  #freshening: Promise<void> | null = null;
  #others: () => KingpinStats[] = () => [];
  /** what stop() awaits once every worker is gone (see onStop) */
  readonly #onStop: (() => unknown)[] = [];
  /** what must settle before the first forks (see beforeStart) */
  readonly #gates: Promise<unknown>[] = [];
  /** ready() callers: resolved on 'full', rejected when a role cannot start */
  #readyWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  readonly #output: Output | null;
  readonly #startedAt = Date.now();

  constructor(name: string, options: KingpinOptions = {}) {
    super();
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new ConfigError(`start(name): name must match ${NAME} (it names the processes), got ${describe(name)}`);
    }
    if (!cluster.isPrimary) {
      throw new WrongProcessError('start(): the Kingpin runs in the primary (the main script), not in a worker: start it there, and put this code in a role module');
    }
    if (options.serialization !== undefined && options.serialization !== 'json' && options.serialization !== 'advanced') {
      throw new ConfigError(`start(name, { serialization }): use 'json' or 'advanced', got ${describe(options.serialization)}`);
    }
    flowLimits(DEFAULT_FLOW, options.flow, 'start(name, { flow })');
    if (options.execArgv !== undefined && !(Array.isArray(options.execArgv) && options.execArgv.every((a) => typeof a === 'string'))) {
      throw new ConfigError(`start(name, { execArgv }): use an array of Node flags, got ${describe(options.execArgv)}`);
    }
    const links = options.links;
    if (links !== undefined && typeof links !== 'boolean') {
      const max = (links as { max?: unknown } | null)?.max;
      if (links === null || typeof links !== 'object' || (max !== undefined && !(Number.isInteger(max) && (max as number) >= 1))) {
        throw new ConfigError(`start(name, { links }): use true, false or { max: <integer >= 1> }, got ${JSON.stringify(links) ?? describe(links)}`);
      }
    }
    const host = options.host ?? (process.env.MOB_HOST || hostname());
    if (typeof host !== 'string' || !HOST.test(host)) {
      throw new ConfigError(`start(name, { host }): a host name must match ${HOST} (it is part of 'host/pid' addresses), got ${describe(host)}; set the host option or MOB_HOST`);
    }
    this.host = host;
    this.name = name;
    this.#options = options;
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.#output = options.logs === false ? null : new Output((line) => this.emit('log', line));
    setTitle(`${name} (kingpin)`);
    setImmediate(() => this.#boot());
  }

  /**
   * Sets the directory role paths resolve against: a CommonJS `module`, `import.meta.url`,
   * or a path. Without it, roles resolve against the main script's folder.
   *
   * @example
   * kingpin.base(import.meta.url).role('back', './back.mjs');
   */
  base(x: BaseLike): this {
    this.#base = baseDir(x);
    return this;
  }

  /**
   * Defines a role: `name` runs the module at `path` in `workers` processes (or
   * `minWorkers`..`maxWorkers`).
   *
   * @example
   * kingpin.role('back', './background-worker.js', { workers: 4 });
   * kingpin.role('jobs', './jobs.js', { minWorkers: 1, maxWorkers: 8 });
   */
  role(name: string, path: string, options: RoleOptions = {}): this {
    const where = `role(${describe(name)}, ${describe(path)})`;
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new ConfigError(`${where}: a role name must match ${NAME}`);
    }
    if (this.#roles.has(name)) throw new ConfigError(`${where}: role "${name}" is already defined`);
    if (options === null || typeof options !== 'object') throw new ConfigError(`${where}: options must be an object`);
    const { min, max } = counts(options, where);
    for (const key of ['killTimeout', 'readyTimeout'] as const) {
      const v = options[key];
      if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new ConfigError(`${where}: ${key} must be a number of ms >= 0, got ${describe(v)}`);
    }
    flowLimits(flowLimits(DEFAULT_FLOW, this.#options.flow, 'start(name, { flow })'), options.flow, `${where}: flow`);
    boundLimits(DEFAULT_QUEUE, options.queue, `${where}: queue`);
    if (options.locality !== undefined && options.locality !== 'prefer-local' && options.locality !== 'any') {
      throw new ConfigError(`${where}: locality must be 'prefer-local' or 'any', got ${describe(options.locality)}`);
    }
    const file = resolveRole(this.#base ?? defaultBase(), path, where);
    const role: Role = {
      name,
      file,
      options,
      min,
      max,
      target: min,
      backoff: new Backoff({ ...DEFAULT_BACKOFF, ...options.backoff }),
      pendingForks: 0,
      restarts: 0,
      lastErr: null,
      lastCrash: null,
      revive: [],
      listens: false,
      lastLogged: null,
      reloading: null,
    };
    this.#roles.set(name, role);
    if (this.#router) {
      this.#configure(role);
      this.#router.setRoles([...this.#roles.keys()]);
      this.#reconcile(role, 0);
    }
    return this;
  }

  /** Every live worker. */
  workers(role?: string): WorkerInfo[] {
    return this.#router?.workers(role) ?? [];
  }

  /**
   * Every role with its workers and their figures: state, uptime, CPU, memory, calls served
   * per export (dead workers' included), latency, calls in flight, held frames, restarts and
   * the last crash. Workers report once a second; these are their last reports.
   *
   * @example
   * for (const role of kingpin.stats().roles) console.log(role.name, role.calls, role.restarts);
   */
  stats(): KingpinStats {
    const router = this.#router;
    const infos = router?.workers() ?? [];
    const held = router?.stats().held ?? {};
    const roles: RoleStats[] = [];
    for (const role of this.#roles.values()) {
      const workers: WorkerStats[] = [];
      for (const info of infos) {
        if (info.role !== role.name) continue;
        // In a stop's first phase a worker still serves, but it is stopping.
        const state = info.state === 'ready' && this.#stopping ? 'stopping' : info.state;
        const w = this.#book.worker(info.pid, state, this.#mobsters.get(info.pid)?.restarts ?? 0);
        if (w) workers.push(w);
      }
      const exports = this.#book.roleExports(role.name);
      let calls = 0;
      let errors = 0;
      for (const t of Object.values(exports)) {
        calls += t.calls;
        errors += t.errors;
      }
      const crash = role.lastCrash;
      roles.push({
        name: role.name,
        target: role.target,
        min: role.min,
        max: role.max,
        restarts: role.restarts,
        ready: workers.filter((w) => w.state === 'ready').length,
        held: held[role.name] ?? 0,
        exports,
        calls,
        errors,
        callsPerSec: Math.round(workers.reduce((a, w) => a + w.callsPerSec, 0) * 10) / 10,
        inflight: workers.reduce((a, w) => a + w.inflight, 0),
        // The lines are read now: a worker's last output may come in after its exit.
        lastCrash: crash ? { ...crash, lines: this.#output?.lines(CRASH_LINES, (_r, pid) => pid === crash.pid) ?? [] } : null,
        workers,
      });
    }
    return { app: this.name, host: this.host, pid: process.pid, startedAt: this.#startedAt, uptime: Date.now() - this.#startedAt, roles };
  }

  /**
   * `stats()` with fresh figures: every worker is asked to report now, and it resolves when
   * they have, or after `timeoutMs` (default 250). A worker that has not reported for 3 s
   * is not waited for: its last figures are given, with their age.
   *
   * @example
   * const { roles } = await kingpin.freshStats();
   */
  async freshStats(timeoutMs = 250): Promise<KingpinStats> {
    const router = this.#router;
    if (router) {
      // One round of reports at a time: callers that come meanwhile share it (a client that
      // pipelines thousands of status requests costs the workers one report each).
      this.#freshening ??= this.#book
        .fresh(
          router.workers().filter((w) => w.state === 'ready' || w.state === 'stopping').map((w) => w.pid),
          (pid) => router.post(pid, { k: Kind.Report }),
          timeoutMs,
        )
        .finally(() => (this.#freshening = null));
      await this.#freshening;
    }
    return this.stats();
  }

  /**
   * The last `n` lines the workers wrote (stdout and stderr), oldest first, of one role or
   * worker or all; each with its role, pid and stream. Empty with `logs: false`.
   *
   * @example
   * for (const l of kingpin.logs(50, { role: 'back' })) console.log(`${l.role} ${l.pid} ${l.line}`);
   */
  logs(n = 100, filter: { role?: string; pid?: number } = {}): LogLine[] {
    return this.#output?.lines(n, (role, pid) => (filter.role === undefined || role === filter.role) && (filter.pid === undefined || pid === filter.pid)) ?? [];
  }

  /** The roles' names, in the order they were defined. */
  roles(): string[] {
    return [...this.#roles.keys()];
  }

  /**
   * Resolves once every role has its target number of ready workers.
   *
   * @example
   * await kingpin.ready();
   */
  ready(): Promise<void> {
    if (this.#router && this.#isFull()) return Promise.resolve();
    const failed = this.#failing();
    if (failed) return Promise.reject(failed);
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  /**
   * Stops gracefully, in two phases, with no more revivals. First every worker gets a
   * `shutdown` event and closes its servers while every role still serves calls (a request in
   * flight may still call another role). Once every worker is done with that, all retire: each
   * finishes its running calls and exits. A worker is killed when a phase takes it longer than
   * its role's `killTimeout`. Resolves when all are gone. On SIGINT / SIGTERM the Kingpin then
   * exits 0; a second signal kills at once. A first signal during a stop asked otherwise
   * (`mob stop`, this method) joins it: the Kingpin exits 0 once it is done.
   *
   * @example
   * await kingpin.stop();
   */
  stop(): Promise<void> {
    if (this.#stopping) return this.#stopping;
    this.#stopping = (async () => {
      for (const t of this.#timers) clearTimeout(t);
      this.#timers.clear();
      this.#router?.stopping();
      // First every worker's shutdown listeners run and its servers close while every role
      // still serves: a request in flight may still call another role. Then all retire.
      await Promise.all([...this.#mobsters.values()].filter((m) => !m.retiring).map((m) => this.#quiet(m)));
      const retiring = [...this.#mobsters.values()].map((m) => this.#retire(m));
      await Promise.all(retiring);
      this.#router?.close();
      this.#removeLinkDir();
      for (const [signal, fn] of this.#signalHandlers) process.off(signal, fn);
      // Last words (mob-nats says goodbye to the other hosts), bounded: exit does not wait long.
      await Promise.race([Promise.allSettled(this.#onStop.map((fn) => fn())), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      this.emit('shutdown');
    })();
    return this.#stopping;
  }

  /**
   * `stop()`, said in the log: why and how many workers, then when every one is gone. What
   * SIGINT, SIGTERM and `mob stop` do before the Kingpin exits (the caller exits).
   *
   * @example
   * const { stopped, ms } = await kingpin.shutdown('maintenance');
   */
  shutdown(reason: string): Promise<{ stopped: number; ms: number }> {
    // A second one (two `mob stop` at once) waits for the first and is told the same.
    this.#shutdown ??= (async () => {
      const stopped = this.#mobsters.size;
      const t0 = Date.now();
      this.#log(`mob: ${reason}: stopping ${stopped} worker(s)`);
      await this.stop();
      const ms = Date.now() - t0;
      this.#log(`mob: every worker is gone (${stopped} stopped in ${ms} ms); exiting`);
      return { stopped, ms };
    })();
    return this.#shutdown;
  }

  /**
   * Zero-downtime rolling reload of one role or all: for each worker, a replacement is forked
   * and, once ready (and listening, if the role listens), the old one is stopped gracefully.
   * The role never has fewer ready workers than before. SIGHUP reloads every role. Rejects
   * with ReloadFailedError (naming the role, the new worker and why) when a replacement exits
   * before it is ready or is not ready within the role's `readyTimeout`: that role's reload
   * stops there, its old workers keep running, and the roles after it are not reloaded. A
   * reload asked while another of the same role runs waits for it, then replaces only the
   * workers forked before it was asked for (the role keeps its count).
   *
   * @example
   * await kingpin.reload('front');
   */
  async reload(name?: string): Promise<void> {
    const roles = name === undefined ? [...this.#roles.values()] : [this.#getRole(name, 'reload(role)')];
    // A reload replaces the workers forked before it was asked for. One asked while another
    // of the same role runs (two SIGHUPs) waits for it, then replaces what still predates it:
    // the role keeps its count, and every worker is one forked after the last ask.
    const upTo = this.#forks;
    for (const role of roles) {
      const before = role.reloading;
      const mine = (async () => {
        if (before) await before.catch(() => {});
        await this.#reloadRole(role, upTo);
      })();
      role.reloading = mine;
      try {
        await mine;
      } finally {
        if (role.reloading === mine) role.reloading = null;
      }
    }
  }

  async #reloadRole(role: Role, upTo: number): Promise<void> {
    const old = this.#live(role).filter((m) => m.seq < upTo);
    const stops: Promise<void>[] = [];
    const t0 = Date.now();
    this.emit('reload', { role: role.name, phase: 'start', ok: true });
    let failed: ReloadFailedError | null = null;
    for (const m of old) {
      if (this.#stopping) {
        failed = new ReloadFailedError(role.name, stops.length, old.length, 'stopping');
        break;
      }
      // Retired meanwhile (a scale down) or gone (its revival is a new worker): nothing to replace.
      if (m.retiring || m.exit) continue;
      const fresh = this.#fork(role, 0, 'reload');
      const why = await this.#whenReady(fresh, readyTimeout(role));
      if (why) {
        // One that is still loading is stopped: the old worker keeps its place.
        if (why.why === 'timeout') void this.#retire(fresh);
        failed = new ReloadFailedError(role.name, stops.length, old.length, this.#stopping ? 'stopping' : why);
        break;
      }
      // The old one went while its replacement started: the replacement takes its place.
      if (m.retiring || m.exit) {
        if (this.#live(role).length > role.target) stops.push(this.#retire(fresh));
        continue;
      }
      stops.push(this.#retire(m));
    }
    // A stop that began during the last replacement cuts the reload short too.
    if (!failed && this.#stopping) failed = new ReloadFailedError(role.name, stops.length, old.length, 'stopping');
    await Promise.all(stops);
    this.#log(failed ? `mob: ${failed.message}` : `mob: reload of role "${role.name}" done: replaced ${stops.length} worker(s) in ${Date.now() - t0} ms`);
    this.emit('reload', { role: role.name, phase: 'done', ok: !failed });
    if (failed) throw failed;
  }

  /**
   * Sets the number of workers of a role, within its minWorkers..maxWorkers. Scaling down
   * stops workers gracefully (their running calls finish first). Scaling up resolves once the
   * new workers are ready; it rejects with ScaleFailedError when one exits before it is ready
   * or is not ready within the role's `readyTimeout` (the target stays: the Kingpin keeps
   * reviving the missing workers with backoff). Rejects with ShutdownError once the app is
   * stopping.
   *
   * @example
   * await kingpin.scale('jobs', 6);
   */
  async scale(name: string, count: number): Promise<void> {
    const role = this.#getRole(name, 'scale(role, count)');
    if (this.#stopping) throw new ShutdownError(`scale("${name}", ${typeof count === 'number' ? count : describe(count)}): the app is stopping`);
    if (!Number.isInteger(count) || count < role.min || count > role.max) {
      throw new ConfigError(
        `scale("${name}", ${typeof count === 'number' ? count : describe(count)}): count must be an integer within the role's ` +
          `minWorkers..maxWorkers (${role.min}..${role.max})`,
      );
    }
    role.target = count;
    // Before the cluster starts, the target is all there is: boot forks it.
    if (!this.#router) return;
    const live = this.#live(role);
    if (live.length > count) {
      // Stop the newest first: the oldest are warm.
      await Promise.all(live.slice(count).reverse().map((m) => this.#retire(m)));
      return;
    }
    // Up: the role has `count` ready workers once those still starting are ready too. Slots a
    // crash-looping role would refill after its backoff are filled now (the timer then finds
    // nothing missing): the caller waits for them, not for a timer it cannot see.
    const timeout = readyTimeout(role);
    const waits = live.filter((m) => !this.#serving(m)).map((m) => this.#whenReady(m, timeout));
    for (let i = live.length; i < count; i++) waits.push(this.#whenReady(this.#fork(role, 0, 'scale'), timeout));
    const why = (await Promise.all(waits)).find((w) => w !== null);
    // The target stays: a worker that died is revived with the role's backoff, one still
    // loading keeps loading. The caller learns that the count was not reached, and why.
    if (why) throw new ScaleFailedError(role.name, this.#live(role).filter((m) => this.#serving(m)).length, count, why);
  }

  // ---- booting ----------------------------------------------------------------------

  /**
   * Delays the start (the first forks) until `task` settles: a package above the Kingpin that
   * must be in place first (mob's control socket claims the app's name). If it rejects, the
   * Kingpin logs why, forks nothing, rejects `ready()` and sets the exit code to 1.
   *
   * @example
   * kingpin.beforeStart(serveControl(kingpin));
   */
  beforeStart(task: Promise<unknown>): this {
    if (this.#started) throw new ConfigError('beforeStart(): the Kingpin has started already; call it right after start()');
    // Handled at boot; until then a rejection must not count as unhandled.
    task.catch(() => {});
    this.#gates.push(task);
    return this;
  }

  /**
   * The figures of the other hosts of a mob over several hosts, as they last told them (mob-nats
   * sets where they come from; a status shows them beside this host's).
   *
   * @example
   * kingpin.otherHosts().map((s) => s.host); // ['b', 'c']
   */
  otherHosts(): KingpinStats[] {
    return this.#others();
  }

  /**
   * Where `otherHosts()` gets the other hosts' figures (mob-nats calls it).
   *
   * @example
   * kingpin.setOtherHosts(() => bridge.stats());
   */
  setOtherHosts(source: () => KingpinStats[]): void {
    this.#others = source;
  }

  /**
   * Work to finish when the Kingpin stops, once every worker is gone and before `'shutdown'`
   * (and the exit after a signal); awaited for at most 2 s.
   *
   * @example
   * kingpin.onStop(() => connection.close());
   */
  onStop(fn: () => unknown): this {
    this.#onStop.push(fn);
    return this;
  }

  #boot(): void {
    if (this.#started) return;
    this.#started = true;
    if (this.#gates.length === 0) return this.#bootNow();
    Promise.all(this.#gates).then(
      () => this.#bootNow(),
      (err: Error) => {
        this.#log(`mob: app "${this.name}" did not start: ${err.message}`);
        process.exitCode = 1;
        this.#stopping = Promise.resolve();
        this.#settleReady(err);
      },
    );
  }

  #bootNow(): void {
    // The Kingpin relays and holds frames for every worker: its young generation stays at
    // Node 20's size too (its workers get the flag; it cannot).
    capYoungGeneration();
    cluster.setupPrimary({
      exec: this.#options.exec ?? MOBSTER_ENTRY,
      serialization: this.#options.serialization ?? 'json',
      execArgv: workerExecArgv(cluster.settings.execArgv ?? process.execArgv, this.#options.execArgv),
      // With logs on, the workers' output comes through the Kingpin (see Output); stdin stays theirs.
      ...(this.#output ? { stdio: ['inherit', 'pipe', 'pipe', 'ipc'] } : {}),
    });
    if (this.#options.links !== false && this.#options.serialization !== 'advanced') {
      try {
        this.#linkDir = makeLinkDir();
        process.once('exit', () => this.#removeLinkDir());
        // Killed Kingpins' folders go once the workers are forked: off the path to the first fork.
        setImmediate(() => sweepLinkDirs());
      } catch (err) {
        this.#log(`mob: no direct links (${(err as Error).message}); every call goes through the Kingpin`);
      }
    }
    const router = (this.#router = createRouter({ roles: [...this.#roles.keys()], host: this.host, ...(this.#options.flow ? { flow: this.#options.flow } : {}) }));
    for (const role of this.#roles.values()) this.#configure(role);
    router.on('ready', (info) => this.#onReady(info));
    router.on('exit', (info, code, signal) => this.#onExit(info.pid, code, signal));
    router.on('crash', (report) => this.#onCrash(report));
    router.on('scale', (info, n) => this.#onScale(info, n));
    router.on('report', (info, report) => this.#book.report(info.pid, report));
    router.on('quiet', (info) => this.#mobsters.get(info.pid)?.onQuiet?.());
    router.on('term', (info) => this.#onTerm(info.pid));
    router.on('lasterr', (info) => {
      const role = this.#roles.get(info.role);
      router.post(info.pid, { k: Kind.LastErr, report: role?.lastErr ?? null });
      if (role) role.lastErr = null;
    });
    cluster.on('listening', (worker) => {
      const m = worker.process.pid ? this.#mobsters.get(worker.process.pid) : undefined;
      if (!m) return;
      m.listening = true;
      m.binding = false;
      m.role.listens = true;
      if (this.#serving(m)) this.#flushReady(m);
      this.#checkFull();
    });
    if (this.#options.signals !== false) this.#installSignals();
    this.emit('boot', router);
    // All roles fork in parallel.
    for (const role of this.#roles.values()) this.#reconcile(role, 0);
  }

  #configure(role: Role): void {
    this.#router!.configureRole(role.name, {
      ...(role.options.balance ? { balance: role.options.balance } : {}),
      ...(role.options.queue ? { queue: role.options.queue } : {}),
      ...(role.options.flow ? { flow: role.options.flow } : {}),
      ...(role.options.locality ? { locality: role.options.locality } : {}),
    });
  }

  #installSignals(): void {
    let signalled: { signal: NodeJS.Signals; at: number } | null = null;
    const stop = (signal: NodeJS.Signals) => () => {
      if (signalled?.signal === signal && Date.now() - signalled.at < SAME_SIGNAL_MS) {
        // One signal delivered twice: `timeout`, a supervisor or a shell passes it on to the
        // Kingpin and sends it to the whole group too. Not a second ask.
        this.#log(`mob: ${signal} again within ${SAME_SIGNAL_MS} ms: taken as the same signal (send it again later to kill every worker at once)`);
        return;
      }
      if (signalled) {
        this.#log(`mob: ${signal} again: killing every worker now`);
        for (const m of this.#mobsters.values()) m.worker.process.kill('SIGKILL');
        process.exit(1);
      }
      signalled = { signal, at: Date.now() };
      if (this.#stopping) {
        // A stop asked otherwise (`mob stop`, kingpin.stop()) runs: this signal joins it, as
        // systemd's SIGTERM after an ExecStop does. Only a second signal kills.
        this.#log(`mob: ${signal}: already stopping; exiting once every worker is gone (a second signal kills at once)`);
        // (A moment later: whoever asked for that stop hears first that it is done.)
        void this.#stopping.then(() => setTimeout(() => process.exit(0), 100).unref());
        return;
      }
      void this.shutdown(signal).then(() => process.exit(0));
    };
    const handlers: [NodeJS.Signals, () => void][] = [
      ['SIGINT', stop('SIGINT')],
      ['SIGTERM', stop('SIGTERM')],
      [
        'SIGHUP',
        () => {
          this.#log('mob: SIGHUP: reloading every role');
          // A reload that stopped has logged why already.
          this.reload().catch((err: Error) => {
            if (!(err instanceof ReloadFailedError)) this.#log(`mob: reload failed: ${err.message}`);
          });
        },
      ],
    ];
    for (const [signal, fn] of handlers) {
      process.on(signal, fn);
      this.#signalHandlers.push([signal, fn]);
    }
  }

  #removeLinkDir(): void {
    if (!this.#linkDir) return;
    rmSync(this.#linkDir, { recursive: true, force: true });
    this.#linkDir = null;
  }

  // ---- workers ----------------------------------------------------------------------

  #fork(role: Role, restarts = 0, trial: Mobster['trial'] = null): Mobster {
    let worker: Worker;
    try {
      worker = this.#spawn(role);
    } catch (err) {
      return this.#unspawned(role, null, restarts, trial, (err as Error).message);
    }
    if (worker.process.pid === undefined) return this.#unspawned(role, worker, restarts, trial);
    const pid = worker.process.pid;
    return this.#track(role, worker, pid, restarts, trial);
  }

  /** cluster.fork() of a worker of `role`. */
  #spawn(role: Role): Worker {
    return cluster.fork({
      ...role.options.env,
      MOB_APP: this.name,
      MOB_HOST: this.host,
      MOB_ROLE: role.name,
      MOB_ROLES: [...this.#roles.keys()].join(','),
      MOB_MODULE: role.file,
      MOB_KINGPIN: '1',
      MOB_SERIALIZATION: this.#options.serialization ?? 'json',
      MOB_LINK_DIR: this.#linkDir ?? '',
      ...(this.#options.stats === false ? { MOB_STATS: '0' } : {}),
      ...(typeof this.#options.links === 'object' && this.#options.links.max ? { MOB_LINKS_MAX: String(this.#options.links.max) } : {}),
    });
  }

  /** A new Mobster: not ready, not exited. */
  #mobster(role: Role, worker: Worker, pid: number, restarts: number, trial: Mobster['trial']): Mobster {
    let resolveExit!: () => void;
    return {
      worker,
      pid,
      role,
      forkedAt: Date.now(),
      seq: this.#forks++,
      ready: false,
      readyAt: 0,
      listening: false,
      binding: false,
      retiring: false,
      exited: new Promise<void>((resolve) => (resolveExit = resolve)),
      resolveExit: () => resolveExit(),
      onReady: [],
      restarts,
      trial,
    };
  }

  /** A forked worker, from now on one of the Kingpin's. */
  #track(role: Role, worker: Worker, pid: number, restarts: number, trial: Mobster['trial']): Mobster {
    const m = this.#mobster(role, worker, pid, restarts, trial);
    // A worker that calls listen() while its module loads is ready once it listens: a port in
    // use makes it crash after loading, and it must not count as ready meanwhile. Node's
    // cluster worker asks the primary for the server with this internal message.
    worker.process.on('internalMessage', (msg: { cmd?: unknown; act?: unknown } | null) => {
      if (msg?.cmd === 'NODE_CLUSTER' && msg.act === 'queryServer' && !m.listening) m.binding = true;
    });
    // An error on the channel (a send to a dying worker) is not the Kingpin's to die of.
    worker.on('error', (err: Error) => this.#log(`mob: worker ${pid} of role "${role.name}": ${err.message}`));
    this.#mobsters.set(pid, m);
    this.#book.fork(pid, role.name);
    this.#output?.attach(pid, role.name, worker.process.stdout, worker.process.stderr);
    this.#full = false;
    this.emit('fork', { role: role.name, pid });
    return m;
  }

  /**
   * cluster.fork() started no process (too many open files, no memory: EMFILE, EAGAIN): it has
   * no pid, and no exit will come. It never counts as a worker; its slot is forked again with
   * the role's backoff, as after an early death. A reload's or scale-up's new worker fails
   * that operation, as one that exits before it is ready does.
   */
  #unspawned(role: Role, worker: Worker | null, restarts: number, trial: Mobster['trial'], thrown?: string): Mobster {
    // (Its worker is never touched: it is no worker of the Kingpin's, and its exit is known at once.)
    const m = this.#mobster(role, worker as Worker, 0, restarts, trial);
    let why = thrown ?? 'no process was started';
    // (Node says why with an 'error' event on the next tick.)
    worker?.on('error', (err: Error) => (why = err.message));
    setImmediate(() => {
      // Not a worker of the cluster's: nothing waits for its exit (cluster.disconnect() included).
      if (worker && cluster.workers) delete cluster.workers[worker.id];
      m.crash = { error: { name: 'Error', message: why }, origin: 'load', role: role.name, pid: 0, time: new Date().toISOString() };
      m.exit = { code: null, signal: null };
      m.resolveExit();
      if (this.#stopping || (trial === 'reload' && !m.ready)) {
        this.#log(`mob: a new worker of role "${role.name}" could not be started: ${why}`);
        return;
      }
      const delay = Math.max(role.backoff.next(0, 0), 100);
      if (this.#shouldLog(role, `spawn:${why}`)) {
        this.#log(`mob: a new worker of role "${role.name}" could not be started (${why}); trying again in ${delay} ms`);
      }
      if (trial !== 'scale') role.revive.push(restarts);
      this.emit('backoff', { role: role.name, delay, early: role.backoff.early });
      const failed = this.#readyWaiters.length ? this.#failing() : null;
      if (failed) this.#settleReady(failed);
      this.#reconcile(role, delay);
    });
    return m;
  }

  #onReady(info: WorkerInfo): void {
    const m = this.#mobsters.get(info.pid);
    if (!m) return;
    m.ready = true;
    m.readyAt = Date.now();
    const role = m.role;
    const stable = setTimeout(() => {
      this.#timers.delete(stable);
      if (this.#mobsters.has(m.pid)) role.backoff.stable();
    }, role.backoff.options.reset);
    stable.unref();
    this.#timers.add(stable);
    this.emit('ready', { role: role.name, pid: m.pid });
    if (this.#serving(m)) this.#flushReady(m);
    this.#checkFull();
  }

  #flushReady(m: Mobster): void {
    const waiters = m.onReady;
    m.onReady = [];
    for (const fn of waiters) fn();
  }

  /**
   * `m` can take over from a worker it replaces: its module has loaded, and it listens if it
   * is to (its role's workers listen, or it asked the primary for a server).
   */
  #serving(m: Mobster): boolean {
    return m.ready && (m.listening || (!m.role.listens && !m.binding));
  }

  /**
   * Resolves null once `m` is ready (and listening, if its role listens); else why not: it
   * exited first, or `timeout` ms passed.
   */
  #whenReady(m: Mobster, timeout: number): Promise<NotReady | null> {
    if (this.#serving(m)) return Promise.resolve(null);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(notReady(m, 'timeout', timeout)), timeout);
      const done = (why: NotReady | null): void => {
        clearTimeout(t);
        resolve(why);
      };
      m.onReady.push(() => done(null));
      void m.exited.then(() => done(notReady(m, 'exited', timeout)));
    });
  }

  /**
   * A full stop's first phase for one worker: resolves once it said it is done, exited, or
   * took longer than its role's killTimeout (it is then retired with the others, and killed
   * if that takes it longer than killTimeout again). One that has not said hello yet, or an
   * older one, is retired directly.
   */
  async #quiet(m: Mobster): Promise<void> {
    const timeout = m.role.options.killTimeout ?? 5_000;
    // One still starting that is to listen (its server's listen() pending, or its role's
    // workers listen) is told once it listens: its server then drains like the others', and
    // does not take every new connection while the roles it calls retire.
    if (!this.#serving(m) && (m.binding || m.role.listens) && (await this.#whenReady(m, timeout))) return;
    if (m.retiring || !this.#router?.quiet(m.pid, timeout)) return;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(m.quietTimer);
        m.onQuiet = undefined;
        resolve();
      };
      m.onQuiet = done;
      m.quietTimer = setTimeout(() => {
        this.#log(`mob: worker ${m.pid} of role "${m.role.name}" did not finish its shutdown listeners within ${timeout} ms: retiring it`);
        done();
      }, timeout);
      void m.exited.then(done);
    });
  }

  #retire(m: Mobster): Promise<void> {
    // (One that has exited already needs no timer: it would kill whatever took its pid.)
    if (!m.retiring && !m.exit) {
      m.retiring = true;
      const router = this.#router;
      router?.retire(m.pid);
      const timeout = m.role.options.killTimeout ?? 5_000;
      if (!router?.post(m.pid, { k: Kind.Shutdown, t: timeout })) m.worker.process.kill('SIGTERM');
      m.killTimer = setTimeout(() => {
        this.#log(`mob: worker ${m.pid} of role "${m.role.name}" did not stop within ${timeout} ms: killing it`);
        m.worker.process.kill('SIGKILL');
      }, timeout);
    }
    return m.exited;
  }

  #onExit(pid: number, code: number | null, signal: string | null): void {
    const m = this.#mobsters.get(pid);
    if (!m) return;
    this.#mobsters.delete(pid);
    clearTimeout(m.killTimer);
    clearTimeout(m.quietTimer);
    m.exit = { code, signal };
    m.resolveExit();
    this.#book.exit(pid);
    this.#output?.exited(pid);
    const role = m.role;
    this.#full = false;
    const expected = m.retiring || this.#stopping !== null;
    this.emit('exit', { role: role.name, pid, code, signal, expected });
    if (expected) return;
    const e = m.crash?.error;
    role.lastCrash = {
      pid,
      time: new Date().toISOString(),
      code,
      signal,
      origin: m.crash?.origin ?? null,
      error: e ? { name: String(e.name), message: String(e.message), ...(typeof e.stack === 'string' ? { stack: e.stack } : {}) } : null,
      lines: [],
    };
    const uptime = Date.now() - m.forkedAt;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    // A reload's new worker that never got ready: the reload stops and says why, its old
    // worker keeps its place. Nothing is revived, and it is no restart.
    if (m.trial === 'reload' && !m.ready) return;
    const delay = role.backoff.next(uptime, m.ready ? Date.now() - m.readyAt : 0);
    // A scale-up's new worker that never got ready fails the scale; its slot is filled again
    // (the target stays), but no running worker was lost: no restart either.
    if (!(m.trial === 'scale' && !m.ready)) {
      role.restarts++;
      role.revive.push(m.restarts + 1);
    }
    if (this.#shouldLog(role, `exit:${how}`)) {
      this.#log(
        `mob: worker ${pid} of role "${role.name}" exited (${how}) after ${uptime} ms; ` +
          (delay ? `reviving in ${delay} ms` : 'reviving') +
          (role.backoff.early > 1 ? ` (restart ${role.restarts}, ${role.backoff.early} early deaths in a row)` : ''),
      );
    }
    if (delay > 0) this.emit('backoff', { role: role.name, delay, early: role.backoff.early });
    const failed = this.#readyWaiters.length ? this.#failing() : null;
    if (failed) this.#settleReady(failed);
    this.emit('revive', { role: role.name, pid, delay, restarts: role.restarts });
    this.#reconcile(role, delay);
  }

  /** Forks (after `delay` ms) what the role lacks to reach its target. */
  #reconcile(role: Role, delay: number): void {
    if (this.#stopping || !this.#router) return;
    const missing = role.target - this.#live(role).length - role.pendingForks;
    if (missing <= 0) return;
    if (delay <= 0) {
      for (let i = 0; i < missing; i++) this.#fork(role, role.revive.shift() ?? 0);
      role.revive.length = 0;
      return;
    }
    role.pendingForks += missing;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      role.pendingForks -= missing;
      this.#reconcile(role, 0);
    }, delay);
    this.#timers.add(t);
  }

  #live(role: Role): Mobster[] {
    return [...this.#mobsters.values()].filter((m) => m.role === role && !m.retiring);
  }

  #isFull(): boolean {
    for (const role of this.#roles.values()) {
      const ready = this.#live(role).filter((m) => m.ready && !m.binding).length;
      if (ready < role.target) return false;
    }
    return true;
  }

  #checkFull(): void {
    if (!this.#full && this.#isFull()) {
      this.#full = true;
      this.#settleReady(null);
      this.emit('full');
    }
  }

  /** Settles every ready() waiting: resolved (null), or rejected with `err`. */
  #settleReady(err: Error | null): void {
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const w of waiters) {
      if (err) w.reject(err);
      else w.resolve();
    }
  }

  /** A role crash-looping before ready (see RoleFailedError), or null. */
  #failing(): RoleFailedError | null {
    for (const role of this.#roles.values()) {
      const c = role.lastCrash;
      if (role.backoff.early < FAILED_AFTER || !c || this.#live(role).some((m) => m.ready)) continue;
      return new RoleFailedError(role.name, role.backoff.early, c.signal ? `signal ${c.signal}` : `code ${c.code}`, c.error);
    }
    return null;
  }

  #onCrash(report: CrashReport): void {
    const role = this.#roles.get(report.role);
    if (!role) return;
    role.lastErr = report;
    const m = this.#mobsters.get(report.pid);
    if (m) m.crash = report;
    this.emit('crash', report);
    const e = report.error ?? { name: 'Error', message: 'unknown' };
    const key = `${report.origin}:${e.name}:${e.message}:${String(e.stack).split('\n')[1] ?? ''}`;
    if (!this.#shouldLog(role, key)) return;
    const count = role.lastLogged?.count ?? 1;
    const what = report.origin === 'load' ? `failed to load ${report.file ?? role.file}` : `crashed (${report.origin})`;
    if (count === 1) {
      this.#log(
        `mob: worker ${report.pid} of role "${role.name}" ${what} (restarts so far: ${role.restarts}):\n` +
          indent(typeof e.stack === 'string' ? e.stack : `${e.name}: ${e.message}`),
      );
    } else {
      this.#log(
        `mob: worker ${report.pid} of role "${role.name}" ${what} again with the same error ` +
          `(${e.name}: ${e.message}) ×${count}, restarts so far: ${role.restarts}`,
      );
    }
  }

  /** Repeated identical lines are logged at the 1st, 2nd, 4th, 8th... occurrence. */
  #shouldLog(role: Role, key: string): boolean {
    if (key.startsWith('exit:')) {
      // Exit lines of a crash-looping role follow the same thinning as its crash lines.
      if (role.backoff.early <= 2) return true;
      const n = role.backoff.early;
      return (n & (n - 1)) === 0;
    }
    const last = role.lastLogged;
    if (last && last.key === key) {
      last.count++;
      return (last.count & (last.count - 1)) === 0;
    }
    role.lastLogged = { key, count: 1 };
    return true;
  }

  /**
   * A worker got SIGTERM. Sent to the whole process group, the Kingpin got it too and its stop
   * covers the worker: so wait a moment (TERM_GRACE_MS). Sent to the worker alone, it is
   * replaced as a reload replaces one: a new one is forked, and once it is ready (or failed,
   * or took readyTimeout) the old one is retired gracefully and the role's count made good.
   * No restart.
   */
  #onTerm(pid: number): void {
    if (this.#stopping) return;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      const m = this.#mobsters.get(pid);
      if (!m || m.retiring || this.#stopping) return;
      this.#log(`mob: worker ${pid} of role "${m.role.name}" got SIGTERM: forking a replacement, then stopping it gracefully`);
      const fresh = this.#fork(m.role, 0, 'reload');
      void this.#whenReady(fresh, readyTimeout(m.role)).then(() => {
        if (this.#stopping) return; // the stop retires both
        if (this.#mobsters.has(pid)) void this.#retire(m);
        this.#reconcile(m.role, 0);
      });
    }, TERM_GRACE_MS);
    this.#timers.add(t);
  }

  #onScale(info: WorkerInfo, n: number): void {
    const role = this.#roles.get(info.role);
    if (!role || n === 0 || this.#stopping) return;
    const count = Math.max(role.min, Math.min(role.max, role.target + n));
    if (count === role.target) {
      this.#log(`mob: scale(${n}) from worker ${info.pid} ignored: role "${role.name}" is at its bound (${role.min}..${role.max})`);
      return;
    }
    this.scale(role.name, count).catch((err: Error) => this.#log(`mob: scale failed: ${err.message}`));
  }

  #getRole(name: string, where: string): Role {
    const role = this.#roles.get(name);
    if (!role) {
      throw new ConfigError(`${where}: role ${describe(name)} is not defined (roles: ${[...this.#roles.keys()].join(', ')})`);
    }
    return role;
  }
}

/**
 * The workers' Node flags: the Kingpin's, then the app's own `execArgv`, else on Node 22 and
 * later `--max-semi-space-size=16` unless the Kingpin's flags or NODE_OPTIONS set a
 * semi-space size. Node 22 and 24 grow a busy process's young generation far beyond Node
 * 20's 16 MiB: a worker making calls faster than they can be served (each refused at once)
 * went over 200 MiB of RSS on Node 24 without the ceiling, and stays near 80 with it.
 */
function workerExecArgv(base: string[], extra: string[] | undefined): string[] {
  if (extra) return [...base, ...extra];
  if (Number(process.versions.node.split('.')[0]) < 22 || semiSpaceGiven(base)) return base;
  return [...base, `--max-semi-space-size=${MAX_SEMI_SPACE_MB}`];
}

/** Default ms a worker forked by a reload or a scale-up has to be ready. */
const READY_TIMEOUT = 60_000;

function readyTimeout(role: Role): number {
  return role.options.readyTimeout ?? READY_TIMEOUT;
}

function notReady(m: Mobster, why: NotReady['why'], timeout: number): NotReady {
  const e = m.crash?.error;
  return {
    pid: m.pid,
    why,
    code: m.exit?.code ?? null,
    signal: m.exit?.signal ?? null,
    error: why === 'exited' && e ? { name: String(e.name), message: String(e.message) } : null,
    timeout,
  };
}

function counts(options: RoleOptions, where: string): { min: number; max: number } {
  const { workers, minWorkers, maxWorkers } = options;
  const check = (key: string, v: unknown, low: number): number => {
    if (!Number.isInteger(v) || (v as number) < low) {
      throw new ConfigError(`${where}: ${key} must be an integer >= ${low}, got ${describe(v)}`);
    }
    return v as number;
  };
  if (workers !== undefined) {
    if (minWorkers !== undefined || maxWorkers !== undefined) {
      throw new ConfigError(`${where}: give either workers, or minWorkers/maxWorkers, not both`);
    }
    const n = check('workers', workers, 0);
    return { min: n, max: n };
  }
  const min = minWorkers === undefined ? 1 : check('minWorkers', minWorkers, 0);
  const max = maxWorkers === undefined ? Math.max(min, 1) : check('maxWorkers', maxWorkers, 1);
  if (max < min) throw new ConfigError(`${where}: maxWorkers (${max}) is below minWorkers (${min})`);
  return { min, max };
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
