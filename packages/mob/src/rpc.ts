import { ConfigError, Kind, beforeExit, onReport, transport, type FrameKind, type FrameOf, type Transport } from 'mob-messaging';
import type { Callbacks } from 'mob-callbacks';
import type { Caller, Dispatcher, ServedModule } from 'mob-proxy';

interface Rpc {
  readonly callbacks: Callbacks;
  readonly caller: Caller;
  dispatcher: Dispatcher | null;
}

// One per process, even if two copies of mob are loaded.
const KEY = Symbol.for('mob.rpc');
type WithRpc = typeof globalThis & { [KEY]?: Rpc };

// Loaded on first use, in workers only: the Kingpin never needs them, and stays small.
/* eslint-disable @typescript-eslint/no-require-imports */
const proxy = (): typeof import('mob-proxy') => require('mob-proxy') as typeof import('mob-proxy');
export const callbacksPkg = (): typeof import('mob-callbacks') => require('mob-callbacks') as typeof import('mob-callbacks');
// The Kingpin itself: loaded in the Kingpin only (a worker loads mob-kingpin's worker side
// alone, mob-kingpin/mobster).
export const kingpinPkg = (): typeof import('mob-kingpin') => require('mob-kingpin') as typeof import('mob-kingpin');
/** The worker's side of mob-kingpin (scale, lastErr): loaded in workers, on first use. */
export const mobsterPkg = (): typeof import('mob-kingpin/mobster') => require('mob-kingpin/mobster') as typeof import('mob-kingpin/mobster');
// The Kingpin's control socket and metrics: loaded in the Kingpin only.
export const control = (): typeof import('mob-control') => require('mob-control') as typeof import('mob-control');
/** mob-nats, for `start(name, { nats })`: an optional package, installed by the user who wants it. */
export function natsPkg(): typeof import('mob-nats') {
  try {
    return require('mob-nats') as typeof import('mob-nats');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && /'mob-nats'/.test((err as Error).message)) {
      throw new ConfigError(`start(name, { nats }): joining other hosts through NATS needs the mob-nats package: npm install mob-nats`);
    }
    throw err;
  }
}
/* eslint-enable @typescript-eslint/no-require-imports */

/** The worker's callback registry and caller, made on first use over its transport. */
export function rpc(): Rpc {
  const g = globalThis as WithRpc;
  if (g[KEY]) return g[KEY];
  const t = transport();
  const callbacks = callbacksPkg().createCallbacks(t);
  const roles = process.env.MOB_ROLES ? new Set(process.env.MOB_ROLES.split(',')) : null;
  const caller = proxy().createCaller({ transport: t, callbacks, roles: () => roles });
  // On shutdown, this worker's own pending calls get their answers before it exits.
  beforeExit(() => caller.idle());
  onReport(() => ({ pending: caller.pending }));
  return (g[KEY] = { callbacks, caller, dispatcher: null });
}

/**
 * Serves the role module's exports from this worker (mob's worker entry calls it). The
 * dispatcher, and the proxy and callback packages with it, are made when the first call
 * arrives: the worker is ready sooner, and a worker nobody calls never loads them.
 */
export function serve(mod: ServedModule): void {
  const t = transport();
  let dispatcher: Dispatcher | null = null;
  t.handle(Kind.Call, (fr) => {
    // The dispatcher takes Kind.Call over as it is made; this first call goes to it too.
    let first: ((frame: FrameOf<typeof Kind.Call>) => void) | undefined;
    const capture: Transport = Object.create(t) as Transport;
    capture.handle = <K extends FrameKind>(kind: K, handler: (frame: FrameOf<K>) => void): void => {
      if (kind === Kind.Call) first = handler as unknown as typeof first;
      t.handle(kind, handler);
    };
    const r = rpc();
    dispatcher = r.dispatcher = proxy().createDispatcher({
      transport: capture,
      callbacks: r.callbacks,
      module: mod,
      figures: process.env.MOB_STATS !== '0',
    });
    first?.(fr);
  });
  // On shutdown, running calls finish and their answers leave before the worker exits.
  beforeExit(() => dispatcher?.idle());
  onReport(() => (dispatcher ? { running: dispatcher.running, exports: dispatcher.figures() } : {}));
}
