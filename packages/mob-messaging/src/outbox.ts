import { debuglog } from 'node:util';
import { MARKER, PROTOCOL_VERSION, compactFrame, type Frame } from './protocol.js';

/** A frame in its wire form (see compactFrame). */
type Wire = Frame | unknown[];

const debug = debuglog('mob');

/** The part of a ChildProcess / process that an outbox writes to. */
export interface IpcChannel {
  send(message: unknown, handle?: unknown, options?: { keepOpen?: boolean }, callback?: (err: Error | null) => void): boolean;
  readonly connected?: boolean;
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
  readonly #channel: IpcChannel;
  readonly #limits: BatchLimits;
  readonly #flush = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  /** @param corked hold everything until `uncork()` (a child that has not said hello yet). */
  constructor(channel: IpcChannel, limits: BatchLimits = DEFAULT_BATCH, corked = false) {
    this.#channel = channel;
    this.#limits = limits;
    this.#corked = corked;
  }

  /** Frames waiting to leave. */
  get size(): number {
    return this.#frames.length;
  }

  /** Queue a frame; `bytes` is its payload size, for the byte cap. */
  push(frame: Frame, bytes = 0): void {
    this.#frames.push(compactFrame(frame));
    this.#bytes += bytes;
    if (this.#corked) return;
    if (this.#frames.length >= this.#limits.count || this.#bytes >= this.#limits.bytes) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      process.nextTick(this.#flush);
    }
  }

  /** Send a frame with a handle, after what is queued. */
  pushHandle(frame: Frame, handle: unknown, keepOpen = false, callback: (err: Error | null) => void = onSent): void {
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

  /** Send what is queued now; `callback` runs once it is written (or at once if nothing was). */
  flush(callback?: (err: Error | null) => void): void {
    if (this.#corked || this.#frames.length === 0) {
      if (callback) process.nextTick(callback, null);
      return;
    }
    let frames = this.#frames;
    this.#frames = [];
    this.#bytes = 0;
    const max = this.#limits.count;
    while (frames.length > max) {
      this.#write(frames.slice(0, max), undefined, false, onSent);
      frames = frames.slice(max);
    }
    this.#write(frames, undefined, false, callback ?? onSent);
  }

  /** Drop what is queued (the channel is gone). */
  clear(): void {
    this.#frames = [];
    this.#bytes = 0;
    this.#corkedHandles = [];
  }

  #write(frames: Wire[], handle: unknown, keepOpen: boolean, callback: (err: Error | null) => void): void {
    if (this.#channel.connected === false) {
      debug('channel closed: %d frame(s) not sent', frames.length);
      process.nextTick(callback, new Error('channel closed'));
      return;
    }
    try {
      this.#channel.send({ [MARKER]: PROTOCOL_VERSION, f: frames }, handle, keepOpen ? { keepOpen } : undefined, callback);
    } catch (err) {
      // A payload the serializer rejects, or a channel torn down under us: never a crash.
      debug('send threw: %s', (err as Error).message);
      process.nextTick(callback, err);
    }
  }
}
