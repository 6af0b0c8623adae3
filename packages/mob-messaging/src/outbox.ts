import { debuglog } from 'node:util';
import { MARKER, PROTOCOL_VERSION, compactFrame, type Frame } from './protocol.js';

/** A frame in its wire form (see compactFrame). */
type Wire = Frame | unknown[];

const debug = debuglog('mob');

/** The part of a ChildProcess / process that an outbox writes to. */
export interface IpcChannel {
  send(message: unknown, handle?: unknown, options?: { keepOpen?: boolean }, callback?: (err: Error | null) => void): boolean;
  readonly connected?: boolean;
  /**
   * For a channel that writes a batch of frames itself (a link's socket: one line per batch):
   * called instead of `send` for a batch without a handle, with no envelope object made for
   * it, and without a callback when nobody waits for this write (its errors are the
   * channel's own to report).
   */
  writeFrames?(frames: unknown[], callback?: (err: Error | null) => void): boolean;
}

/** Limits of one batch. */
export interface BatchLimits {
  /** frames in one IPC message (default 250) */
  count: number;
  /** payload characters in one IPC message (default 32 KiB: Node reads a long message slowly) */
  bytes: number;
}

export const DEFAULT_BATCH: BatchLimits = { count: 250, bytes: 32 * 1024 };

function onSent(err: Error | null): void {
  if (err) debug('send failed: %s', err.message);
}

/**
 * Where a forwarded frame came from: told once the frame has left this process (written to
 * the channel, or dropped because the channel is gone), so its sender may send more.
 */
export interface Origin {
  sent(bytes: number): void;
}

/** Origins of the frames of one write, and their bytes. */
interface Credits {
  origins: Origin[];
  bytes: number[];
}

function settle(credits: Credits | null): void {
  if (!credits) return;
  const { origins, bytes } = credits;
  for (let i = 0; i < origins.length; i++) origins[i]!.sent(bytes[i]!);
}

/** Options of an Outbox beyond its channel. */
export interface OutboxOptions {
  limits?: BatchLimits;
  /** hold everything until `uncork()` (a child that has not said hello yet) */
  corked?: boolean;
  /** a frame to add to each batch as it leaves (the router's acks ride along this way) */
  extra?: () => Frame | undefined;
  /**
   * For a channel that says when its backlog is written (a socket's 'drain'): once a write
   * returns false, frames wait here as they are (small: a payload is shared, not yet a copy in
   * a write queue) until `onDrain` calls back, instead of piling up in the channel's queue.
   */
  onDrain?: (callback: () => void) => void;
}

/**
 * The only way mob writes to a channel. Frames queued in one turn of the event loop leave as
 * one IPC message (`{ $mob, f: [...] }`) when the turn's ticks are done; a batch that reaches
 * the count or byte cap leaves at once, so a pipeline keeps both ends busy. A frame that
 * carries a handle leaves alone, after everything queued before it, so order holds.
 *
 * @example
 * const outbox = new Outbox(process);
 * outbox.push({ k: Kind.Ready }); // leaves with the other frames of this turn
 */
export class Outbox {
  #frames: Wire[] = [];
  #bytes = 0;
  #scheduled = false;
  #corked: boolean;
  /** handle frames queued while corked, each after the frames queued before it */
  #corkedHandles: { before: Wire[]; frame: Frame; handle: unknown; keepOpen: boolean; callback: (err: Error | null) => void }[] = [];
  /** origins of the queued frames that have one (forwarded frames, in the router) */
  #credits: Credits | null = null;
  readonly #channel: IpcChannel;
  readonly #limits: BatchLimits;
  readonly #extra: (() => Frame | undefined) | undefined;
  readonly #onDrain: ((callback: () => void) => void) | undefined;
  /** the channel's backlog is over its mark: wait for its drain (only with onDrain) */
  #blocked = false;
  /** with onDrain: the bytes of each queued frame, so that what waits leaves in batches within the caps */
  #sizes: number[] = [];
  readonly #flush = (): void => {
    this.#scheduled = false;
    this.flush();
  };
  readonly #drained = (): void => {
    this.#blocked = false;
    this.flush();
  };

  constructor(channel: IpcChannel, options: OutboxOptions = {}) {
    this.#channel = channel;
    this.#limits = options.limits ?? DEFAULT_BATCH;
    this.#corked = options.corked ?? false;
    this.#extra = options.extra;
    this.#onDrain = options.onDrain;
  }

  /** Frames waiting to leave. */
  get size(): number {
    return this.#frames.length;
  }

  /** Bytes of the frames waiting to leave (as given to push). */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Queue a frame; `bytes` is its size, for the byte cap. `origin`, when given, is told once
   * the frame has left (written or dropped).
   */
  push(frame: Frame, bytes = 0, origin?: Origin): void {
    this.#frames.push(compactFrame(frame));
    this.#bytes += bytes;
    if (this.#onDrain) this.#sizes.push(bytes);
    if (origin) {
      const c = (this.#credits ??= { origins: [], bytes: [] });
      c.origins.push(origin);
      c.bytes.push(bytes);
    }
    if (this.#corked || this.#blocked) return;
    if (this.#frames.length >= this.#limits.count || this.#bytes >= this.#limits.bytes) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      process.nextTick(this.#flush);
    }
  }

  /** Send a frame with a handle, after what is queued; `origin` is told once it has left. */
  pushHandle(frame: Frame, handle: unknown, keepOpen = false, callback: (err: Error | null) => void = onSent, origin?: Origin, bytes = 0): void {
    if (origin) {
      const done = callback;
      callback = (err) => {
        origin.sent(bytes);
        done(err);
      };
    }
    if (this.#corked) {
      this.#corkedHandles.push({ before: this.#frames, frame, handle, keepOpen, callback });
      this.#frames = [];
      this.#bytes = 0;
      return;
    }
    this.flush();
    this.#write([frame], handle, keepOpen, callback);
  }

  /** Start sending (the other end is listening now). */
  uncork(): void {
    if (!this.#corked) return;
    this.#corked = false;
    const handles = this.#corkedHandles;
    this.#corkedHandles = [];
    for (const h of handles) {
      if (h.before.length) this.#write(h.before, undefined, false, onSent);
      this.#write([h.frame], h.handle, h.keepOpen, h.callback);
    }
    this.flush();
  }

  /**
   * Send what is queued now; `callback` runs once it is written (or at once if nothing was).
   * Without a callback, a channel waiting for its drain keeps the frames until then; with one
   * (before the process exits), everything goes.
   */
  flush(callback?: (err: Error | null) => void): void {
    if (this.#corked || this.#frames.length === 0) {
      if (callback) process.nextTick(callback, null);
      return;
    }
    if (this.#blocked && !callback) return;
    if (this.#onDrain && !callback) return this.#flushPaced();
    let frames = this.#frames;
    const extra = this.#extra?.();
    if (extra) frames.push(compactFrame(extra));
    this.#frames = [];
    this.#sizes = [];
    this.#bytes = 0;
    const max = this.#limits.count;
    while (frames.length > max) {
      this.#write(frames.slice(0, max), undefined, false, onSent);
      frames = frames.slice(max);
    }
    const credits = this.#credits;
    if (credits) {
      // The origins are told once the last part of the batch is written.
      this.#credits = null;
      this.#write(frames, undefined, false, (err) => {
        settle(credits);
        (callback ?? onSent)(err);
      });
    } else this.#write(frames, undefined, false, callback ?? onSent);
  }

  /**
   * flush() for a channel with onDrain: batch after batch until the channel says its backlog
   * is over its mark; the rest waits for its drain. (No origins: only the router uses them,
   * over IPC.)
   */
  #flushPaced(): void {
    const all = this.#frames;
    const sizes = this.#sizes;
    const extra = this.#extra?.();
    if (extra) {
      all.push(compactFrame(extra));
      sizes.push(0);
    }
    const { count, bytes } = this.#limits;
    let at = 0;
    while (at < all.length) {
      // A batch within both caps (a long line is slow to read), at least one frame.
      let end = at + 1;
      let b = sizes[at] ?? 0;
      while (end < all.length && end - at < count && b + (sizes[end] ?? 0) <= bytes) b += sizes[end++] ?? 0;
      const batch = at === 0 && end === all.length ? all : all.slice(at, end);
      at = end;
      if (!this.#write(batch, undefined, false, onSent)) {
        this.#blocked = true;
        break;
      }
    }
    this.#frames = at < all.length ? all.slice(at) : [];
    this.#sizes = at < all.length ? sizes.slice(at) : [];
    let left = 0;
    for (const n of this.#sizes) left += n;
    this.#bytes = left;
    if (this.#blocked) this.#onDrain!(this.#drained);
  }

  /** Drop what is queued (the channel is gone); the origins of dropped frames are told. */
  clear(): void {
    this.#frames = [];
    this.#sizes = [];
    this.#bytes = 0;
    this.#blocked = false;
    const handles = this.#corkedHandles;
    this.#corkedHandles = [];
    const credits = this.#credits;
    this.#credits = null;
    settle(credits);
    for (const h of handles) h.callback(new Error('channel closed'));
  }

  /** Writes one batch; false when the channel's backlog is over its mark (or it is gone). */
  #write(frames: Wire[], handle: unknown, keepOpen: boolean, callback: (err: Error | null) => void): boolean {
    if (this.#channel.connected === false) {
      debug('channel closed: %d frame(s) not sent', frames.length);
      process.nextTick(callback, new Error('channel closed'));
      return false;
    }
    try {
      const channel = this.#channel;
      if (channel.writeFrames && handle === undefined) return channel.writeFrames(frames, callback === onSent ? undefined : callback);
      return channel.send({ [MARKER]: PROTOCOL_VERSION, f: frames }, handle, keepOpen ? { keepOpen } : undefined, callback);
    } catch (err) {
      // A payload the serializer rejects, or a channel torn down under us: never a crash.
      debug('send threw: %s', (err as Error).message);
      process.nextTick(callback, err);
      return false;
    }
  }
}
