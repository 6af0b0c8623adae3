import { debuglog } from 'node:util';
import {
  ConfigError,
  IdMap,
  Kind,
  NoSuchRoleError,
  PayloadError,
  QueueFullError,
  TimeoutError,
  frameBytes,
  restoreError,
  type Balance,
  type CallFrame,
  type Locality,
  type FrameOf,
  type Transport,
} from 'mob-messaging';
import type { Callbacks } from 'mob-callbacks';
import type { Remote } from './types.js';

const debug = debuglog('mob');

/** Options of a proxy (`mob.require(role, options)`). */
export interface ProxyOptions {
  /** ms after which an unanswered call rejects with TimeoutError (default: none). */
  timeout?: number;
  /** Re-send a call whose worker exited before answering, up to this many times (default 0). */
  retries?: number;
  /** How calls pick a worker (default: the role's, round-robin unless configured). */
  balance?: Balance;
  /**
   * In a mob over several hosts: `'prefer-local'` (default: the role's) calls this host's
   * workers while the role has ready ones here; `'any'` spreads calls over every host's.
   */
  locality?: Locality;
  /** Calls of this proxy that may be pending at once; beyond, a call rejects with QueueFullError (default 10,000). */
  maxPending?: number;
  /** Bytes of arguments of this proxy's pending calls (default 64 MiB). */
  maxPendingBytes?: number;
}

/** Defaults of a proxy's pending bounds. */
export const DEFAULT_PENDING = { count: 10_000, bytes: 64 * 1024 * 1024 };

/** A proxy's pending calls and their bytes, against its bounds. */
interface Quota {
  n: number;
  b: number;
  readonly maxN: number;
  readonly maxB: number;
  /**
   * The refusal of each method while the proxy is at its bound, made once until a call settles:
   * a caller that keeps calling meanwhile gets the same error, not a new one (and a stack) per
   * call, so a flood of refused calls costs little memory.
   */
  refusals: Map<string, QueueFullError> | null;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
  readonly role: string;
  readonly method: string;
  readonly frame: CallFrame;
  readonly quota: Quota;
  readonly bytes: number;
  retries: number;
  readonly timeout: number | undefined;
  timer: NodeJS.Timeout | undefined;
  promise: Promise<unknown>;
}

/** Options of createCaller. */
export interface CallerOptions {
  transport: Transport;
  callbacks: Callbacks;
  /** The app's roles, when known: a proxy of another role throws at creation. */
  roles?: () => ReadonlySet<string> | null;
}

const noop = (): void => {};
const isFunction = (x: unknown): boolean => typeof x === 'function';
const callName = (role: string, method: string): string => `${role}.${method || '(module)'}()`;
const MAX_ID = 0x7fffffff;

/**
 * Creates the calling side of remote proxies over a transport.
 *
 * @example
 * const caller = createCaller({ transport, callbacks });
 * const back = caller.proxy<typeof import('./back')>('back', { timeout: 1000 });
 * await back.add(1, 2); // 3
 */
export function createCaller(options: CallerOptions): Caller {
  return new Caller(options);
}

/**
 * The caller createCaller makes.
 *
 * @example
 * const caller = createCaller({ transport, callbacks });
 * await caller.call('back', 'add', [1, 2]); // 3
 */
export class Caller {
  readonly #transport: Transport;
  readonly #callbacks: Callbacks;
  readonly #roles: () => ReadonlySet<string> | null;
  readonly #pending = new IdMap<Pending>();
  /** the quota of calls made with call() rather than through a proxy */
  readonly #direct: Quota = { n: 0, b: 0, maxN: DEFAULT_PENDING.count, maxB: DEFAULT_PENDING.bytes, refusals: null };
  #idle: (() => void)[] = [];
  #next = 0;

  constructor({ transport, callbacks, roles }: CallerOptions) {
    this.#transport = transport;
    this.#callbacks = callbacks;
    this.#roles = roles ?? (() => null);
    transport.handle(Kind.Return, (fr) => this.#answer(fr));
    transport.handle(Kind.Fail, (fr) => this.#fail(fr));
    transport.handle(Kind.Down, (fr) => {
      if (typeof fr.p === 'number') callbacks.releaseHolder(fr.p);
    });
  }

  /** Calls sent and not yet settled. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Resolves when no call is pending (every call answered, failed or timed out). */
  idle(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #settled(): void {
    if (this.#pending.size === 0 && this.#idle.length) {
      const waiters = this.#idle;
      this.#idle = [];
      for (const fn of waiters) fn();
    }
  }

  /**
   * A proxy of role `role`'s exports: `proxy.name(...args)` calls export `name` on one ready
   * worker of the role and returns a promise of its result.
   */
  proxy<T = any>(role: string, options: ProxyOptions = {}): Remote<T> {
    if (typeof role !== 'string' || role === '') {
      throw new ConfigError(`require(role): role must be a non-empty string, got ${JSON.stringify(role)}`);
    }
    const roles = this.#roles();
    if (roles && !roles.has(role)) throw new NoSuchRoleError(role, [...roles]);
    const opts = checkOptions(options, role);
    const quota: Quota = { n: 0, b: 0, maxN: opts.maxPending ?? DEFAULT_PENDING.count, maxB: opts.maxPendingBytes ?? DEFAULT_PENDING.bytes, refusals: null };
    const methods = new Map<string, (...args: unknown[]) => Promise<unknown>>();
    const call = (method: string, args: unknown[]): Promise<unknown> => this.#call(role, method, args, opts, quota);
    const self = function mobProxy(...args: unknown[]): Promise<unknown> {
      return call('', args);
    };
    return new Proxy(self, {
      get(_target, prop) {
        // 'then': a proxy is not a promise (so `await mob.require(...)` is safe).
        if (typeof prop !== 'string' || prop === 'then') return undefined;
        let fn = methods.get(prop);
        if (!fn) {
          fn = (...args: unknown[]) => call(prop, args);
          methods.set(prop, fn);
        }
        return fn;
      },
      apply(_target, _this, args: unknown[]) {
        return call('', args);
      },
    }) as unknown as Remote<T>;
  }

  /**
   * Calls `method` ('' for the module itself) of `role` with `args`. The array is copied, so
   * changing it after the call changes nothing.
   */
  call(role: string, method: string, args: unknown[], options: ProxyOptions = {}): Promise<unknown> {
    return this.#call(role, method, args.slice(), options, this.#direct);
  }

  /** The call itself; `args` is mob's own array (a proxy's rest parameter), never changed later. */
  #call(role: string, method: string, args: unknown[], options: ProxyOptions, quota: Quota): Promise<unknown> {
    if (quota.n >= quota.maxN) {
      const refusals = (quota.refusals ??= new Map<string, QueueFullError>());
      const err: QueueFullError =
        refusals.get(method) ??
        new QueueFullError(
          `${callName(role, method)}: ${quota.n} calls of this proxy are pending, its bound (maxPending: ${quota.maxN}); ` +
            `await some before making more, or raise it: mob.require("${role}", { maxPending })`,
        );
      refusals.set(method, err);
      return Promise.reject(err);
    }
    const id = this.#id();
    let a: unknown;
    let f: number[] | undefined;
    if (args.some(isFunction)) {
      ({ a, f } = this.#callbacks.encodeArgs(args, callName(role, method), { call: id }));
    } else {
      // The common call, without callbacks: straight to the wire encoding.
      try {
        a = this.#transport.encode(args, 'arguments', true);
      } catch (err) {
        if (err instanceof PayloadError) err.message = `${callName(role, method)}: ${err.message}`;
        throw err;
      }
    }
    const frame: CallFrame = { k: Kind.Call, r: role, i: id, m: method, a };
    if (f) frame.f = f;
    if (options.balance) frame.b = options.balance;
    if (options.locality) frame.l = options.locality === 'any' ? 1 : 2;
    const bytes = frameBytes(frame);
    if (quota.b + bytes > quota.maxB) {
      if (f) this.#callbacks.settleCall(id, null);
      return Promise.reject(
        new QueueFullError(
          `${callName(role, method)}: the pending calls of this proxy hold ${quota.b} bytes of arguments and this one ` +
            `${bytes}, over its bound (maxPendingBytes: ${quota.maxB}); await some before making more, or raise it: ` +
            `mob.require("${role}", { maxPendingBytes })`,
        ),
      );
    }
    const { timeout, retries = 0 } = options;
    let p!: Pending;
    const promise = new Promise<unknown>((resolve, reject) => {
      p = { resolve, reject, role, method, frame, quota, bytes, retries, timeout, timer: undefined, promise: undefined! };
    });
    p.promise = promise;
    // Pending before it is posted: the path may answer at once (a frame too big for the
    // broker fails while it is posted), and that answer must find its call.
    this.#pending.set(id, p);
    quota.n++;
    quota.b += bytes;
    try {
      this.#transport.post(frame, bytes);
    } catch (err) {
      // Refused by the path (QueueFullError): nothing was sent, nothing is pending.
      this.#pending.delete(id);
      quota.n--;
      quota.b -= bytes;
      if (f) this.#callbacks.settleCall(id, null);
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    if (timeout !== undefined && this.#pending.get(id) === p) p.timer = setTimeout(() => this.#timeout(id), timeout);
    return promise;
  }

  /** A pending call is settled: it leaves the map and its proxy's quota. */
  #settle(id: number, p: Pending): void {
    this.#pending.delete(id);
    p.quota.n--;
    p.quota.b -= p.bytes;
    p.quota.refusals = null;
    this.#settled();
  }

  /**
   * Rejects a call. A call nobody awaits must not become an unhandled rejection that kills
   * the worker: a no-op handler goes on first (only now, so a call that succeeds costs no
   * extra promise); whoever awaits the promise still gets the rejection.
   */
  #reject(p: Pending, err: Error): void {
    p.promise.catch(noop);
    p.reject(err);
  }

  #id(): number {
    let id = this.#next;
    while (this.#pending.has(id)) id = id >= MAX_ID ? 0 : id + 1;
    this.#next = id >= MAX_ID ? 0 : id + 1;
    return id;
  }

  #answer(fr: FrameOf<typeof Kind.Return>): void {
    const p = this.#pending.get(fr.i);
    if (!p) {
      debug('answer to call %s arrived after it settled (timed out?); ignored', String(fr.i));
      return;
    }
    this.#settle(fr.i, p);
    if (p.timer) clearTimeout(p.timer);
    const pid = typeof fr.w === 'number' ? fr.w : 0;
    // Answered: the callee holds the call's callbacks from now on. Failed (it threw or
    // rejected): they are released here, as for every failed call.
    this.#callbacks.settleCall(fr.i, fr.e ? null : pid || null);
    if (fr.e) {
      this.#reject(p, restoreError(fr.e, { role: p.role, pid }));
      return;
    }
    try {
      p.resolve(fr.v === undefined ? undefined : this.#transport.decode(fr.v));
    } catch (err) {
      this.#reject(p, err as Error);
    }
  }

  #fail(fr: FrameOf<typeof Kind.Fail>): void {
    const p = this.#pending.get(fr.i);
    if (!p) return;
    let err = restoreError(fr.e);
    // y: the call never ran (its worker was retiring): it goes elsewhere, as if first sent.
    const resend = fr.y === 1 || (fr.e?.name === 'WorkerExitedError' && p.retries > 0);
    if (resend) {
      if (fr.y !== 1) p.retries--;
      debug('call %s.%s(): its worker exited or is retiring; sending it again (%d retries left)', p.role, p.method, p.retries);
      try {
        this.#transport.post(p.frame, p.bytes);
        return;
      } catch (refused) {
        // The path is full: the retry is refused, and the call fails with why.
        err = refused as Error;
      }
    }
    this.#settle(fr.i, p);
    if (p.timer) clearTimeout(p.timer);
    this.#callbacks.settleCall(fr.i, null);
    this.#reject(p, err);
  }

  #timeout(id: number): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#settle(id, p);
    this.#callbacks.settleCall(id, null);
    this.#reject(p, new TimeoutError(`call ${callName(p.role, p.method)} was not answered within ${p.timeout} ms`));
  }
}

/** The keys of ProxyOptions. */
const PROXY_OPTIONS = ['timeout', 'retries', 'balance', 'maxPending', 'maxPendingBytes', 'locality'];

/** A value as an error message shows it: NaN and Infinity as themselves, not as JSON's null. */
function show(v: unknown): string {
  return typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v));
}

function checkOptions(options: ProxyOptions, role: string): ProxyOptions {
  const where = `require("${role}", options)`;
  if (options === null || typeof options !== 'object') throw new ConfigError(`${where}: options must be an object`);
  const extra = Object.keys(options).filter((k) => !PROXY_OPTIONS.includes(k));
  if (extra.length) throw new ConfigError(`${where}: unknown option ${JSON.stringify(extra[0])}; options are ${PROXY_OPTIONS.join(', ')}`);
  const { timeout, retries, balance, maxPending, maxPendingBytes, locality } = options;
  if (locality !== undefined && locality !== 'prefer-local' && locality !== 'any') {
    throw new ConfigError(`${where}: locality must be 'prefer-local' or 'any', got ${show(locality)}`);
  }
  for (const [name, v] of [['maxPending', maxPending], ['maxPendingBytes', maxPendingBytes]] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) {
      throw new ConfigError(`${where}: ${name} must be an integer >= 1, got ${show(v)}`);
    }
  }
  if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0)) {
    throw new ConfigError(`${where}: timeout must be a number of ms > 0, got ${show(timeout)}`);
  }
  if (retries !== undefined && !(Number.isInteger(retries) && retries >= 0)) {
    throw new ConfigError(`${where}: retries must be an integer >= 0, got ${show(retries)}`);
  }
  if (balance !== undefined && balance !== 'round-robin' && balance !== 'least-pending') {
    throw new ConfigError(`${where}: balance must be 'round-robin' or 'least-pending', got ${show(balance)}`);
  }
  return { ...options };
}
