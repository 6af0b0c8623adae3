import { debuglog } from 'node:util';
import { ConfigError, IdMap, IdSet, Kind, PayloadError, type FrameOf, type Transport } from 'mob-messaging';

const debug = debuglog('mob');

const KEEP = Symbol.for('mob-callbacks.keep');

/**
 * Marks a function as a reusable callback: passed to a remote call, it can be invoked any
 * number of times (progress reports, event streams) until `release(fn)` or until the
 * process holding it exits. Returns the same function.
 *
 * @example
 * const onProgress = keep((pct) => console.log(pct, '%'));
 * await back.download(url, onProgress);
 * callbacks.release(onProgress);
 */
export function keep<F extends (...args: any[]) => unknown>(fn: F): F {
  if (typeof fn !== 'function') throw new ConfigError(`keep(fn): expected a function, got ${typeof fn}`);
  (fn as F & { [KEEP]?: boolean })[KEEP] = true;
  return fn;
}

/**
 * True when `fn` was marked with keep().
 *
 * @example
 * isKept(keep(() => {})); // true
 */
export function isKept(fn: unknown): boolean {
  return typeof fn === 'function' && (fn as { [KEEP]?: boolean })[KEEP] === true;
}

interface Entry {
  readonly fn: (...args: unknown[]) => unknown;
  readonly keep: boolean;
  /** the call it travelled with, until that call settles */
  call?: number;
  /** pid of the process holding the stub, once known */
  holder?: number;
}

/** Arguments on the wire: the encoded array and the callbacks among them. */
export interface EncodedArgs {
  a: unknown;
  /** triples [position, callback id, 1 if kept else 0] */
  f?: number[];
}

/** Where a registered callback is tied: a pending call, or a known holder process. */
export type Tie = { call: number } | { holder: number };

/**
 * Creates a process's callback registry over a transport. It turns function arguments into
 * ids on the way out and ids into stubs on the way in, runs a callback when its stub is
 * invoked in another process, and releases it when used once (default), when its call
 * fails or times out, when the holder exits, when the holder's stub is collected, or on
 * `release(fn)`. `size` counts what it holds, for leak checks.
 *
 * @example
 * const callbacks = createCallbacks(transport);
 * const { a, f } = callbacks.encodeArgs([2, 3, (err, sum) => console.log(sum)], 'add()', { call: 1 });
 */
export function createCallbacks(transport: Transport): Callbacks {
  return new Callbacks(transport);
}

/**
 * The registry createCallbacks makes.
 *
 * @example
 * const callbacks = createCallbacks(transport);
 * callbacks.size; // 0 once every callback is released
 */
export class Callbacks {
  readonly #transport: Transport;
  // IdMap, not Map: ids keep increasing (see IdMap). A call carries one or two callbacks.
  readonly #entries = new IdMap<Entry>();
  readonly #byCall = new IdMap<number[]>();
  readonly #byHolder = new Map<number, IdSet>();
  #next = 1;
  // A stub collected in the holding process frees its callback in the owner.
  readonly #collected = new FinalizationRegistry<{ owner: number; id: number; spent: { done: boolean } }>((held) => {
    if (!held.spent.done) this.#transport.post({ k: Kind.Free, p: held.owner, c: [held.id] });
  });

  constructor(transport: Transport) {
    this.#transport = transport;
    transport.handle(Kind.Invoke, (fr) => this.#invoke(fr));
    transport.handle(Kind.Free, (fr) => this.#free(fr));
  }

  /** Callbacks held (registered here and not yet released). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Encodes an argument list: top-level functions become callbacks tied to `tie`; everything
   * else must be a payload the transport can carry (else a PayloadError naming `where`).
   */
  encodeArgs(args: readonly unknown[], where: string, tie: Tie): EncodedArgs {
    let f: number[] | undefined;
    let plain: unknown[] = args as unknown[];
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      if (typeof arg !== 'function') continue;
      if (!f) {
        f = [];
        plain = args.slice();
      }
      plain[i] = null;
      f.push(i, this.#register(arg as Entry['fn'], tie), isKept(arg) ? 1 : 0);
    }
    let a: unknown;
    try {
      a = this.#transport.encode(plain, 'arguments');
    } catch (err) {
      if (f) for (let j = 1; j < f.length; j += 3) this.#drop(f[j]!);
      if (err instanceof PayloadError) err.message = `${where}: ${err.message}`;
      throw err;
    }
    return f ? { a, f } : { a };
  }

  /** Decodes an argument list from `owner`: callback positions become stubs that call home. */
  decodeArgs(a: unknown, f: unknown, owner: number): unknown[] {
    const args = this.#transport.decode(a);
    if (!Array.isArray(args)) throw new PayloadError(`arguments must be an array, got ${typeof args}`);
    if (Array.isArray(f)) {
      for (let j = 0; j + 2 < f.length; j += 3) {
        const pos = f[j];
        const id = f[j + 1];
        if (!Number.isInteger(pos) || pos < 0 || pos > args.length || !Number.isInteger(id)) continue;
        args[pos] = this.#stub(owner, id, f[j + 2] === 1);
      }
    }
    return args;
  }

  /**
   * The call a set of callbacks travelled with has settled: answered by `holder` (its
   * callbacks are now tied to that process), or failed / timed out (`null`: released).
   */
  settleCall(call: number, holder: number | null): void {
    const ids = this.#byCall.get(call);
    if (!ids) return;
    this.#byCall.delete(call);
    for (const id of ids) {
      const entry = this.#entries.get(id);
      if (!entry) continue;
      entry.call = undefined;
      if (holder === null) this.#drop(id);
      else this.#hold(id, entry, holder);
    }
  }

  /** The process `pid` exited: release every callback it held. */
  releaseHolder(pid: number): void {
    const ids = this.#byHolder.get(pid);
    if (!ids) return;
    this.#byHolder.delete(pid);
    for (const id of ids.values()) this.#entries.delete(id);
  }

  /**
   * Releases every registration of `fn` (a kept callback, usually). Returns how many.
   *
   * @example
   * callbacks.release(onProgress);
   */
  release(fn: (...args: any[]) => unknown): number {
    let n = 0;
    for (const [id, entry] of this.#entries.entries()) {
      if (entry.fn === fn) {
        this.#drop(id);
        n++;
      }
    }
    return n;
  }

  #register(fn: Entry['fn'], tie: Tie): number {
    let id = this.#next;
    while (this.#entries.has(id)) id = id >= 0x7fffffff ? 1 : id + 1;
    this.#next = id >= 0x7fffffff ? 1 : id + 1;
    const entry: Entry = { fn, keep: isKept(fn) };
    this.#entries.set(id, entry);
    if ('call' in tie) {
      entry.call = tie.call;
      let set = this.#byCall.get(tie.call);
      if (!set) this.#byCall.set(tie.call, (set = []));
      set.push(id);
    } else this.#hold(id, entry, tie.holder);
    return id;
  }

  #hold(id: number, entry: Entry, holder: number): void {
    entry.holder = holder;
    let set = this.#byHolder.get(holder);
    if (!set) this.#byHolder.set(holder, (set = new IdSet()));
    set.add(id);
  }

  #drop(id: number): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    this.#entries.delete(id);
    if (entry.call !== undefined) {
      const set = this.#byCall.get(entry.call);
      const at = set ? set.indexOf(id) : -1;
      if (at >= 0) set!.splice(at, 1);
      if (set?.length === 0) this.#byCall.delete(entry.call);
    }
    if (entry.holder !== undefined) {
      const set = this.#byHolder.get(entry.holder);
      set?.delete(id);
      if (set?.size === 0) this.#byHolder.delete(entry.holder);
    }
  }

  #stub(owner: number, id: number, kept: boolean): (...args: unknown[]) => void {
    const spent = { done: false };
    const stub = (...args: unknown[]): void => {
      if (spent.done) {
        debug('callback %d of process %d was already called once; call ignored (mark it with keep() to reuse it)', id, owner);
        return;
      }
      const { a, f } = this.encodeArgs(args, 'callback', { holder: owner });
      const frame: FrameOf<typeof Kind.Invoke> = { k: Kind.Invoke, p: owner, c: id, a };
      if (f) frame.f = f;
      try {
        this.#transport.post(frame);
      } catch (err) {
        // Refused by a full path (QueueFullError, thrown to the caller of the stub): nothing
        // was sent, so the callbacks among its arguments are released.
        if (f) for (let j = 1; j < f.length; j += 3) this.#drop(f[j]!);
        throw err;
      }
      // Spent only once it was sent: a PayloadError or a full path leaves it callable.
      if (!kept) spent.done = true;
    };
    this.#collected.register(stub, { owner, id, spent });
    return stub;
  }

  #invoke(fr: FrameOf<typeof Kind.Invoke>): void {
    const from = fr.w;
    const entry = typeof fr.c === 'number' ? this.#entries.get(fr.c) : undefined;
    if (!entry || typeof from !== 'number') {
      debug('callback %s invoked by %s after it was released; ignored', String(fr.c), String(from));
      return;
    }
    if (!entry.keep) this.#drop(fr.c);
    let args: unknown[];
    try {
      args = this.decodeArgs(fr.a, fr.f, from);
    } catch (err) {
      debug('callback %d: undecodable arguments from %d: %s', fr.c, from, (err as Error).message);
      return;
    }
    entry.fn(...args);
  }

  #free(fr: FrameOf<typeof Kind.Free>): void {
    if (!Array.isArray(fr.c)) return;
    for (const id of fr.c) {
      const entry = typeof id === 'number' ? this.#entries.get(id) : undefined;
      // Only the process that holds a callback (or any, while its call is pending) frees it.
      if (entry && (entry.holder === undefined || entry.holder === fr.w)) this.#drop(id);
    }
  }
}
