import cluster from 'node:cluster';
import { join } from 'node:path';
import type { Kingpin, KingpinOptions } from 'mob-kingpin';
import { ConfigError, WrongProcessError } from 'mob-messaging';
import type { ProxyOptions, Remote } from 'mob-proxy';
import type { NatsOptions } from 'mob-nats';
import { callbacksPkg, control, kingpinPkg, mobsterPkg, natsPkg, rpc } from './rpc.js';

/** Options of `start()`: the Kingpin's, and the control socket and metrics endpoint. */
export interface StartOptions extends Omit<KingpinOptions, 'exec'> {
  /**
   * The control socket (default on): `<MOB_HOME>/<app>.sock`, through which the `mob` command
   * shows, reloads, scales and stops the app. A second app of the same name on this host does
   * not start (AppRunningError). `false` turns it off.
   */
  control?: boolean;
  /**
   * Serve Prometheus metrics at `http://<host>:<port>/metrics` (host 127.0.0.1 by default).
   * Also set by the environment: `MOB_METRICS_PORT` (and `MOB_METRICS_HOST`). `false`: off
   * even when the environment sets it.
   */
  metrics?: { port: number; host?: string } | false;
  /**
   * Join the other hosts of this app through a NATS server (needs `npm install mob-nats`): a
   * server URL (`'nats://10.0.0.5:4222'`, several comma-separated) or the NATS client's
   * connection options (`{ servers, user, pass, token, nkey, credentials, tls, heartbeat,
   * lostAfter }`). Also set by the environment: `MOB_NATS`. `false`: one host even when the
   * environment sets it; an empty string, as `MOB_NATS` set to nothing gives, is no server.
   * With it, this host is named by the `host` option (or `MOB_HOST`, or the hostname), and its
   * control socket is `<app>.<host>.sock`.
   */
  nats?: string | NatsOptions | false;
}

/**
 * Starts the Kingpin in the main script: names the app (process titles `name (kingpin)` and
 * `name - role (mobster)`) and returns it, to chain `.base()` and `.role()`.
 *
 * @example
 * require('mob')
 *   .start('myapp')
 *   .base(module)
 *   .role('back', './background-worker.js', { workers: 4 })
 *   .role('front', './http-server.js', { workers: 2 });
 */
export function start(name: string, options: StartOptions = {}): Kingpin {
  if (!cluster.isPrimary) {
    throw new WrongProcessError(
      'start() runs in the main script (the Kingpin); this is a worker. Roles call mob.require(), mob.send(), ...',
    );
  }
  const { control, metrics, nats, ...kingpinOptions } = options;
  const m = metricsOptions(metrics);
  // An empty string is no server, as MOB_NATS set to nothing is (`nats: process.env.MOB_NATS`).
  const broker = nats === false ? undefined : (given(nats) ?? given(process.env.MOB_NATS));
  if (broker !== undefined && kingpinOptions.serialization === 'advanced') {
    throw new ConfigError(`start(name, { nats }): frames cross hosts as JSON; use serialization: 'json' (the default) with nats`);
  }
  const pkg = broker === undefined ? undefined : natsPkg();
  const kingpin = kingpinPkg().createKingpin(name, { ...kingpinOptions, exec: join(__dirname, 'worker-main.js') });
  const claimed = control !== false || m ? operate(kingpin, control !== false, m, kingpinOptions.log, pkg ? kingpin.host : undefined) : Promise.resolve();
  // This host joins the others once its name is claimed here: a second Kingpin of the same app
  // and host on this machine is refused before it says anything to the mob (the claim's own
  // gate says why).
  if (pkg) kingpin.beforeStart(claimed.then(() => void pkg.join(kingpin, broker!, kingpinOptions.log), () => {}));
  return kingpin;
}

/** `v` as given, or undefined for an empty or blank string (no server). */
function given<T>(v: T): T | undefined {
  return typeof v === 'string' && v.trim() === '' ? undefined : v;
}

/** The metrics endpoint asked for by the option or the environment, or null. */
function metricsOptions(metrics: StartOptions['metrics']): { port: number; host?: string } | null {
  if (metrics === false) return null;
  if (metrics !== undefined) {
    if (metrics === null || typeof metrics !== 'object' || !isPort(metrics.port) || (metrics.host !== undefined && typeof metrics.host !== 'string')) {
      throw new ConfigError(`start(name, { metrics }): use { port: <0..65535>, host?: string } or false, got ${JSON.stringify(metrics)}`);
    }
    return metrics;
  }
  const env = process.env.MOB_METRICS_PORT;
  if (env === undefined || env === '') return null;
  const port = Number(env);
  if (!isPort(port)) throw new ConfigError(`MOB_METRICS_PORT must be a port number (0..65535), got ${JSON.stringify(env)}`);
  return { port, ...(process.env.MOB_METRICS_HOST ? { host: process.env.MOB_METRICS_HOST } : {}) };
}

function isPort(x: unknown): x is number {
  return Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 65535;
}

/**
 * The control socket and the metrics endpoint, in place before the first fork. A live app of
 * the same name, or a metrics port in use, stops the start; a control folder mob cannot use
 * only costs the `mob` command (logged). Returns the claim of the app's name (it rejects only
 * when the app runs already).
 */
function operate(kingpin: Kingpin, withControl: boolean, metrics: { port: number; host?: string } | null, log?: (line: string) => void, host?: string): Promise<unknown> {
  const say = log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const ops = control();
  let claimed: Promise<unknown> = Promise.resolve();
  if (withControl) {
    kingpin.beforeStart(
      (claimed = ops.serveControl(kingpin, host === undefined ? {} : { host }).then(
        (server) => kingpin.once('shutdown', () => void server.close()),
        (err: Error) => {
          if (err instanceof ops.AppRunningError) throw err;
          say(`mob: no control socket (${err.message}); the mob command will not see this app`);
        },
      )),
    );
  }
  if (metrics) {
    // After the name is claimed: a second copy of a running app is told that, not that the port is taken.
    kingpin.beforeStart(
      claimed.then(() =>
        ops.serveMetrics(kingpin, metrics).then(
          (server) => {
            say(`mob: metrics at ${server.url}`);
            kingpin.once('shutdown', () => void server.close());
          },
          (err: Error) => {
            throw new ConfigError(`metrics: cannot listen on ${metrics.host ?? '127.0.0.1'}:${metrics.port} (${err.message}); choose another port (MOB_METRICS_PORT)`);
          },
        ),
      ),
    );
  }
  return claimed;
}

/**
 * In a worker: a proxy of role `role`'s exported functions. Each call goes to one ready
 * worker of the role and returns a promise of the result; calls made before the role is
 * ready are held and delivered. Pass the module's type for a typed proxy.
 *
 * @example
 * const back = mob.require<typeof import('./background-worker')>('back', { timeout: 5000 });
 * const sum = await back.add(2, 3);
 * back.foo(1, (result) => console.log(result)); // a callback, run here when back calls it
 */
function requireRole<T = any>(role: string, options: ProxyOptions = {}): Remote<T> {
  workerOnly('require()');
  return rpc().caller.proxy<T>(role, options);
}
export { requireRole as require };

/** What a worker holds, for leak checks: both are 0 once everything has settled. */
export interface Stats {
  /** calls sent and not yet settled */
  pendingCalls: number;
  /** callbacks registered here and not yet released */
  pendingCallbacks: number;
  /** calls this worker is serving now */
  runningCalls: number;
}

/**
 * In a worker: counts of what is pending, for leak checks.
 *
 * @example
 * const { pendingCalls, pendingCallbacks } = mob.stats();
 */
export function stats(): Stats {
  workerOnly('stats()');
  const r = rpc();
  return { pendingCalls: r.caller.pending, pendingCallbacks: r.callbacks.size, runningCalls: r.dispatcher?.running ?? 0 };
}

/**
 * In a worker: releases a callback marked with keep() (it can no longer be invoked).
 *
 * @example
 * const onTick = mob.keep((n) => console.log(n));
 * await clock.subscribe(onTick);
 * mob.release(onTick);
 */
export function release(fn: (...args: any[]) => unknown): number {
  workerOnly('release()');
  return rpc().callbacks.release(fn);
}

function workerOnly(what: string): void {
  if (cluster.isPrimary) {
    throw new WrongProcessError(
      `${what} runs in a worker (a Mobster): the Kingpin runs no application code. Put this call in a role module`,
    );
  }
}

/**
 * Marks a function as a reusable callback: passed to a remote call, it can be invoked any
 * number of times (progress reports, event streams) until `mob.release(fn)` or until the
 * process holding it exits. Returns the same function. (mob-callbacks' `keep`, loaded on
 * first use.)
 *
 * @example
 * const onTick = mob.keep((n) => console.log(n));
 * await clock.subscribe(onTick);
 * mob.release(onTick);
 */
export function keep<F extends (...args: any[]) => unknown>(fn: F): F {
  return callbacksPkg().keep(fn);
}

export { send, all, any, pid, on, off, whoami, drain, flowStats, createRouter } from 'mob-messaging';

/**
 * From a worker: asks the Kingpin to add (`n > 0`) or remove (`n < 0`) workers of this
 * worker's role, within its minWorkers..maxWorkers (mob-kingpin's `scale`). Loaded on first
 * use: the Kingpin, which never calls it, resolves one module less at its start.
 *
 * @example
 * mob.scale(+2);
 */
export function scale(n: number): void {
  mobsterPkg().scale(n);
}

/**
 * From a worker: the last crash report of this worker's role, or null (mob-kingpin's
 * `lastErr`); also takes the callback form `(err, report)`.
 *
 * @example
 * const last = await mob.lastErr();
 * if (last) console.log('previous worker died of', last.error.message);
 */
export const lastErr = ((...args: unknown[]) => (mobsterPkg().lastErr as (...a: unknown[]) => unknown)(...args)) as typeof import('mob-kingpin/mobster').lastErr;
export {
  MobError,
  ConfigError,
  PayloadError,
  NoSuchRoleError,
  WorkerExitedError,
  TimeoutError,
  QueueFullError,
  ShutdownError,
  NoSuchExportError,
  WrongProcessError,
} from 'mob-messaging';
export type { Sender, MessageListener, ShutdownListener, CrashReport, Balance, WorkerInfo } from 'mob-messaging';
export type { Kingpin, KingpinOptions, FlowOptions, KingpinEvents, RoleOptions, MobsterInfo, BackoffOptions, KingpinStats, RoleStats, WorkerStats, CrashInfo, LogLine } from 'mob-kingpin';
export type { ProxyOptions, Remote, RemoteFunction } from 'mob-proxy';
