import { ConfigError, QueueFullError } from './errors.js';
import { Kind, type AckFrame } from './protocol.js';

/** A bound in frames and in bytes (as `frameBytes` counts them). */
export interface Bound {
  count: number;
  bytes: number;
}

/** Flow limits of a worker's path: what it may have sent and not yet had acknowledged. */
export interface FlowLimits {
  /** Above this, `send()` returns false and `drain()` waits (default 1,000 frames / 1 MiB). */
  highWater: Bound;
  /** Beyond this, calls, messages and callback invocations are refused with QueueFullError (default 10,000 frames / 16 MiB). */
  max: Bound;
}

export const DEFAULT_FLOW: FlowLimits = {
  highWater: { count: 1_000, bytes: 1024 * 1024 },
  max: { count: 10_000, bytes: 16 * 1024 * 1024 },
};

/** Merges partial flow options over `base`, checking them; `where` names the option for errors. */
export function flowLimits(base: FlowLimits, options: unknown, where: string): FlowLimits {
  if (options === undefined) return base;
  if (options === null || typeof options !== 'object') throw new ConfigError(`${where}: flow must be an object { highWater, max }`);
  const o = options as { highWater?: Partial<Bound>; max?: Partial<Bound> };
  onlyKeys(o, ['highWater', 'max'], where);
  const highWater = boundLimits(base.highWater, o.highWater, `${where}.highWater`);
  const max = boundLimits(base.max, o.max, `${where}.max`);
  if (highWater.count > max.count || highWater.bytes > max.bytes) {
    throw new ConfigError(`${where}: highWater (${highWater.count} / ${highWater.bytes}) must not exceed max (${max.count} / ${max.bytes})`);
  }
  return { highWater, max };
}

/**
 * A `{ count, bytes }` bound given as an option, merged over `base` and checked (integers >= 1,
 * no other keys); `where` names the option in the error.
 *
 * @example
 * boundLimits({ count: 10_000, bytes: 1 << 26 }, { count: 500 }, 'role("jobs").queue'); // { count: 500, bytes: 67108864 }
 */
export function boundLimits(base: Bound, o: Partial<Bound> | undefined, where: string): Bound {
  if (o === undefined) return base;
  if (o === null || typeof o !== 'object') throw new ConfigError(`${where} must be an object { count, bytes }, got ${show(o)}`);
  onlyKeys(o, ['count', 'bytes'], where);
  const out = { ...base };
  for (const key of ['count', 'bytes'] as const) {
    const v = o[key];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(`${where}.${key} must be an integer >= 1, got ${show(v)}`);
    out[key] = v;
  }
  return out;
}

/** A value as an error message shows it: NaN and Infinity as themselves, not as JSON's null. */
function show(v: unknown): string {
  return typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v));
}

function onlyKeys(o: object, keys: string[], where: string): void {
  const extra = Object.keys(o).filter((k) => !keys.includes(k));
  if (extra.length) throw new ConfigError(`${where}: unknown option ${JSON.stringify(extra[0])}; it takes ${keys.join(', ')}`);
}

/** The four numbers of a Welcome frame's `fc`. */
export function flowToWire(f: FlowLimits): number[] {
  return [f.highWater.count, f.highWater.bytes, f.max.count, f.max.bytes];
}

/** The limits a Welcome frame's `fc` carries, or undefined when it is not four positive integers. */
export function flowFromWire(fc: unknown): FlowLimits | undefined {
  if (!Array.isArray(fc) || fc.length !== 4 || !fc.every((n) => Number.isInteger(n) && (n as number) > 0)) return undefined;
  const [hc, hb, mc, mb] = fc as number[];
  return { highWater: { count: hc!, bytes: hb! }, max: { count: mc!, bytes: mb! } };
}

/**
 * The other side of a Window: what a receiver owes a sender, the frames it is done with and
 * has not acknowledged yet. The ack rides along with whatever else goes to the sender
 * (`take()` as a batch leaves), or goes on its own once a quarter of the sender's high-water
 * mark is owed (`add()` says so): the window reopens long before it is full, and a call and
 * its answer cost no extra message.
 *
 * @example
 * const owed = new Owed(DEFAULT_FLOW);
 * if (owed.add(1, 40)) outbox.push(owed.take()!);
 */
export class Owed {
  /** frames owed */
  n = 0;
  /** their bytes */
  b = 0;

  /** @param limits the sender's flow limits */
  constructor(public limits: FlowLimits) {}

  /** Owes `n` more frames of `b` bytes; true when an ack is due now. */
  add(n: number, b: number): boolean {
    this.n += n;
    this.b += b;
    const hw = this.limits.highWater;
    return this.n * 4 >= hw.count || this.b * 4 >= hw.bytes;
  }

  /** The ack of everything owed, if anything is (then nothing is). */
  take(): AckFrame | undefined {
    if (this.n === 0) return undefined;
    const ack: AckFrame = { k: Kind.Ack, n: this.n, b: this.b };
    this.n = 0;
    this.b = 0;
    return ack;
  }
}

/**
 * A sender's window over its path: the frames (and bytes) sent and not yet acknowledged by
 * the other end. Like a stream's `write()`, `take()` says false above the high-water mark;
 * beyond the hard bound it refuses (throws QueueFullError) what may be refused: calls,
 * messages, callback invocations. Answers and control frames are always taken, so two
 * workers waiting on each other never deadlock; they are bounded by the callers' pending
 * bounds instead.
 *
 * @example
 * const w = new Window(DEFAULT_FLOW, 'the path to the Kingpin');
 * if (!w.take(1032, true, 'any("slow").send()')) await w.drain();
 */
export class Window {
  /** frames taken and not yet acknowledged */
  count = 0;
  /** their bytes */
  bytes = 0;
  /** frames refused at their call */
  refused = 0;
  limits: FlowLimits;
  /** false once the other end is known not to acknowledge (a Kingpin of protocol 1) */
  enabled = true;
  readonly #what: string;
  /** counts this window's refusals too: the sum over a worker's many windows (its links) */
  readonly #tally: { refused: number } | undefined;
  #waiters: (() => void)[] = [];
  /**
   * The error the window refuses with while it stays full, per call site: a loop that keeps
   * sending past the bound gets the same one (made once), not an error and its stack per
   * refused frame, which cost a producer hundreds of MiB in a burst.
   */
  #refusal: { where: string; err: QueueFullError } | null = null;

  constructor(limits: FlowLimits, what: string, tally?: { refused: number }) {
    this.limits = limits;
    this.#what = what;
    this.#tally = tally;
  }

  /** True when over the high-water mark. */
  get over(): boolean {
    return this.enabled && (this.count >= this.limits.highWater.count || this.bytes >= this.limits.highWater.bytes);
  }

  /**
   * Accounts one frame of `bytes`. A refusable frame beyond the hard bound throws
   * QueueFullError naming `where`. Returns false when the window is now over its high-water mark.
   */
  take(bytes: number, refusable: boolean, where: string): boolean {
    if (!this.enabled) return true;
    const { max } = this.limits;
    if (refusable && (this.count + 1 > max.count || this.bytes + bytes > max.bytes)) {
      this.refused++;
      if (this.#tally) this.#tally.refused++;
      if (this.#refusal?.where === where) throw this.#refusal.err;
      const err = new QueueFullError(
        `${where}: ${this.#what} is full (${this.count} frames, ${this.bytes} bytes sent and not yet delivered; ` +
          `bound ${max.count} frames / ${max.bytes} bytes, option flow.max); await mob.drain() before sending more, ` +
          `or raise flow.max in start() or role()`,
      );
      this.#refusal = { where, err };
      throw err;
    }
    this.count++;
    this.bytes += bytes;
    return !this.over;
  }

  /** The other end is done with `n` frames of `b` bytes. */
  credit(n: number, b: number): void {
    this.count = Math.max(0, this.count - n);
    this.bytes = Math.max(0, this.bytes - b);
    this.#refusal = null;
    if (this.#waiters.length && !this.over) this.#wake();
  }

  /** An ack from the other end (any bytes: checked field by field; a malformed one credits nothing). */
  ack(fr: AckFrame): void {
    if (Number.isInteger(fr.n) && fr.n > 0 && Number.isInteger(fr.b) && fr.b >= 0) this.credit(fr.n, fr.b);
  }

  /** The other end does not acknowledge: no bound applies. */
  disable(): void {
    this.enabled = false;
    this.count = 0;
    this.bytes = 0;
    this.#wake();
  }

  /** Resolves once below the high-water mark (at once if it is). */
  drain(): Promise<void> {
    if (!this.over) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const fn of waiters) fn();
  }
}
