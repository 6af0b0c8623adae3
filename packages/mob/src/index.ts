import cluster from 'node:cluster';
import { join } from 'node:path';
import { createKingpin, type Kingpin, type KingpinOptions } from 'mob-kingpin';
import { WrongProcessError } from 'mob-messaging';
import type { ProxyOptions, Remote } from 'mob-proxy';
import { callbacksPkg, rpc } from './rpc.js';

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
export function start(name: string, options: Omit<KingpinOptions, 'exec'> = {}): Kingpin {
  if (!cluster.isPrimary) {
    throw new WrongProcessError(
      'start() runs in the main script (the Kingpin); this is a worker. Roles call mob.require(), mob.send(), ...',
    );
  }
  return createKingpin(name, { ...options, exec: join(__dirname, 'worker-main.js') });
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
export { scale, lastErr } from 'mob-kingpin';
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
export type { Kingpin, KingpinOptions, FlowOptions, KingpinEvents, RoleOptions, MobsterInfo, BackoffOptions } from 'mob-kingpin';
export type { ProxyOptions, Remote, RemoteFunction } from 'mob-proxy';
