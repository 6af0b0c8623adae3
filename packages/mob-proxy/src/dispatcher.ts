import { debuglog } from 'node:util';
import { ExportStats, Kind, NoSuchExportError, PayloadError, serializeError, type ExportFigures, type FrameOf, type ReturnFrame, type Transport } from 'mob-messaging';
import type { Callbacks } from 'mob-callbacks';

const debug = debuglog('mob');

type Fn = (...args: unknown[]) => unknown;

/** A role module as the dispatcher serves it. */
export interface ServedModule {
  /** `module.exports` of a CommonJS module, or an ES module's namespace */
  exports: unknown;
  /** true for an ES module */
  esm: boolean;
  /** the role's name (for error messages) */
  role: string;
}

/** Options of createDispatcher. */
export interface DispatcherOptions {
  transport: Transport;
  callbacks: Callbacks;
  module: ServedModule;
  /** count calls, errors and durations per export (default true; see figures()) */
  figures?: boolean;
  /** the clock calls are timed with, in ms (default performance.now) */
  clock?: () => number;
}

/** What a module serves: its own function exports, and itself when it is a function. */
export interface ExportTable {
  readonly methods: ReadonlyMap<string, Fn>;
  readonly self: Fn | undefined;
  readonly thisArg: unknown;
}

/**
 * The functions a module serves: only its own function-valued exports (never inherited or
 * prototype functions such as `constructor`, `toString`, `__proto__`), and the module itself
 * when it is a function (`module.exports = fn`) or has a function default export.
 *
 * @example
 * exportTable({ exports: { add: (a, b) => a + b, n: 1 }, esm: false, role: 'back' }).methods; // Map { 'add' => [Function] }
 */
export function exportTable(mod: ServedModule): ExportTable {
  const methods = new Map<string, Fn>();
  const x = mod.exports as Record<string, unknown> | Fn | null | undefined;
  let self: Fn | undefined;
  const collect = (obj: object): void => {
    for (const key of Object.keys(obj)) {
      const v = (obj as Record<string, unknown>)[key];
      if (typeof v === 'function' && key !== 'default' && !methods.has(key)) methods.set(key, v as Fn);
    }
  };
  if (typeof x === 'function') self = x;
  if (x !== null && (typeof x === 'object' || typeof x === 'function')) {
    collect(x);
    // ES modules (and CommonJS compiled from them): the default export is the module's own
    // function, or an object of more functions.
    const d = (mod.esm || (x as { __esModule?: unknown }).__esModule) ? (x as { default?: unknown }).default : undefined;
    if (typeof d === 'function') self ??= d as Fn;
    else if (d !== null && typeof d === 'object') collect(d);
  }
  return { methods, self, thisArg: x };
}

/**
 * Creates the serving side: answers the calls routed to this worker with the role module's
 * exports, awaiting promises, turning throws into remote errors.
 *
 * @example
 * const dispatcher = createDispatcher({ transport, callbacks, module: { exports: require('./back'), esm: false, role: 'back' } });
 * await dispatcher.idle(); // every running call answered
 */
export function createDispatcher(options: DispatcherOptions): Dispatcher {
  return new Dispatcher(options);
}

/**
 * The dispatcher createDispatcher makes.
 *
 * @example
 * const dispatcher = createDispatcher({ transport, callbacks, module: mod });
 * dispatcher.exports; // ['add', 'mul']
 */
export class Dispatcher {
  readonly #transport: Transport;
  readonly #callbacks: Callbacks;
  readonly #table: ExportTable;
  readonly #role: string;
  #running = 0;
  #idle: (() => void)[] = [];
  /** per export served: calls, errors, durations (see figures) */
  readonly #stats = new Map<string, ExportStats>();
  readonly #timed: boolean;
  readonly #clock: () => number;

  constructor({ transport, callbacks, module, figures = true, clock = () => performance.now() }: DispatcherOptions) {
    this.#timed = figures;
    this.#clock = clock;
    this.#transport = transport;
    this.#callbacks = callbacks;
    this.#table = exportTable(module);
    this.#role = module.role;
    transport.handle(Kind.Call, (fr) => this.#call(fr));
  }

  /** Names of the served exports. */
  get exports(): string[] {
    return [...this.#table.methods.keys()];
  }

  /** Calls running now. */
  get running(): number {
    return this.#running;
  }

  /**
   * Per export served (by name; "default" is the module itself): calls, errors, the sum of their
   * durations in seconds and their histogram over LATENCY_BUCKETS, since this worker started.
   */
  figures(): Record<string, ExportFigures> {
    const out: Record<string, ExportFigures> = {};
    for (const [name, st] of this.#stats) out[name || 'default'] = st.figures();
    return out;
  }

  /** Resolves when no call is running. */
  idle(): Promise<void> {
    if (this.#running === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #call(fr: FrameOf<typeof Kind.Call>): void {
    const caller = fr.p;
    if (typeof caller !== 'number' || typeof fr.i !== 'number' || typeof fr.m !== 'string') {
      debug('malformed call frame dropped');
      return;
    }
    const { methods, self, thisArg } = this.#table;
    const fn = fr.m === '' ? self : methods.get(fr.m);
    if (!fn) {
      const list = [...methods.keys()].join(', ') || 'none';
      const what = fr.m === '' ? 'is not a function itself (module.exports = fn or export default fn)' : `has no export "${fr.m}"`;
      this.#freeCallbacks(fr);
      this.#reply(fr, undefined, new NoSuchExportError(`role "${this.#role}" ${what} (exports: ${list})`), true);
      return;
    }
    let args: unknown[];
    try {
      args = this.#callbacks.decodeArgs(fr.a, fr.f, caller);
    } catch (err) {
      this.#freeCallbacks(fr);
      this.#reply(fr, undefined, err, true);
      return;
    }
    let result: unknown;
    this.#running++;
    // Timed: t0 >= 0. Calls of one export that came in one batch are sampled (ExportStats.sample).
    let st: ExportStats | undefined;
    let t0 = -1;
    if (this.#timed) {
      st = this.#stats.get(fr.m);
      if (!st) this.#stats.set(fr.m, (st = new ExportStats()));
      const batch = this.#transport.batch;
      if (batch === undefined || st.sample(batch)) t0 = this.#clock();
    }
    try {
      result = fn.apply(thisArg, args);
    } catch (err) {
      this.#done(fr, st, t0, undefined, err ?? new Error(String(err)), true);
      return;
    }
    if (result !== null && (typeof result === 'object' || typeof result === 'function') && typeof (result as PromiseLike<unknown>).then === 'function') {
      // Answers later: its calls are all timed from now on (this one from here, if it was not).
      if (st) {
        st.sync = false;
        if (t0 < 0) t0 = this.#clock();
      }
      // Promise.resolve: a thenable that settles twice is answered once.
      Promise.resolve(result as PromiseLike<unknown>).then(
        (value) => this.#done(fr, st, t0, value, undefined, false),
        (err: unknown) => this.#done(fr, st, t0, undefined, err ?? new Error(String(err)), true),
      );
    } else this.#done(fr, st, t0, result, undefined, false);
  }

  /** The callbacks of a call that never ran will not be called: their owner frees them. */
  #freeCallbacks(fr: FrameOf<typeof Kind.Call>): void {
    if (!Array.isArray(fr.f) || fr.f.length < 3) return;
    const ids: number[] = [];
    for (let j = 1; j < fr.f.length; j += 3) if (typeof fr.f[j] === 'number') ids.push(fr.f[j]!);
    if (ids.length) this.#transport.post({ k: Kind.Free, p: fr.p!, c: ids });
  }

  #done(fr: FrameOf<typeof Kind.Call>, st: ExportStats | undefined, t0: number, value: unknown, err: unknown, hasErr: boolean): void {
    if (st) {
      if (t0 >= 0) st.observe((this.#clock() - t0) / 1000, hasErr);
      else st.again(hasErr);
    }
    this.#reply(fr, value, hasErr ? err : undefined, hasErr);
    if (--this.#running === 0 && this.#idle.length) {
      const waiters = this.#idle;
      this.#idle = [];
      for (const fn of waiters) fn();
    }
  }

  #reply(fr: FrameOf<typeof Kind.Call>, value: unknown, err: unknown, hasErr: boolean): void {
    const frame: ReturnFrame = { k: Kind.Return, p: fr.p!, i: fr.i };
    // The caller learns who answered only when it needs to: its callbacks now live here, or
    // the error names this worker.
    if (hasErr || fr.f !== undefined) frame.w = this.#transport.pid;
    if (hasErr) frame.e = serializeError(err);
    else if (value !== undefined) {
      try {
        frame.v = this.#transport.encode(value, 'result');
      } catch (e) {
        if (e instanceof PayloadError) e.message = `role "${this.#role}" export "${fr.m}" returned ${e.message}`;
        frame.e = serializeError(e);
      }
    }
    this.#transport.post(frame);
  }
}
