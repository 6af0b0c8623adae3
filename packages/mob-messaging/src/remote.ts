/**
 * Direct paths from a worker to workers of other hosts (a mob over several hosts: mob-nats
 * brings the broker connection; this file is transport-free).
 *
 * The Kingpins keep the membership: a Kingpin introduces each worker of another host to its
 * own workers with an Alias frame (our alias pid, its host and pid there, and the two tags of
 * the pair of hosts). A worker then sends its calls to a chosen worker of another host, and
 * answers, callback invocations and frees to one, straight over the broker: two hops instead
 * of four through the Kingpins. Everything else (messages, and every frame while this
 * worker has no broker connection) goes through the Kingpin as before.
 *
 * The same rules as a link hold: a window per peer with acknowledgements from the other
 * worker (they ride along with the frames going back, or leave alone within 5 to 10 ms); only the
 * answer to a call of ours that went to that peer is accepted, once; a retiring worker turns
 * calls away (y: 1) and the caller sends them elsewhere; when the Kingpin says the peer is
 * gone (its host lost, or it exited), the calls pending there fail with WorkerExitedError
 * (naming the host and why), or go elsewhere if it had retired.
 */
import { debuglog } from 'node:util';
import { PayloadError, ShutdownError, WorkerExitedError, serializeError } from './errors.js';
import { received } from './batches.js';
import { Owed, Window, type FlowLimits } from './flow.js';
import { IdSet } from './idmap.js';
import { Kind, compactFrame, expandFrame, frameBytes, isFrame, parseNumericFrames, stringifyFrames, type AliasFrame, type DownFrame, type Frame, type SerializedError } from './protocol.js';

const debug = debuglog('mob');

/** ms acknowledgements wait for frames to ride with before they go alone. */
const ACK_DELAY_MS = 5;
/** A batch to one peer leaves early once its frames pass this many bytes. */
const FLUSH_BYTES = 64 * 1024;
/** Batches from workers not introduced yet wait for their Alias frame: this many; past the bound, those older than EARLY_MS make room. */
const EARLY_MAX = 256;
const EARLY_BYTES = 4 * 1024 * 1024;
const EARLY_MS = 3_000;
/**
 * A peer that has not been heard from (no ack, no answer, nothing) for this long while frames
 * to it wait for its ack is passed by: frames for it go through the Kingpins for RETRY_MS, then
 * the direct path is tried again. (Its host may be frozen or cut off: the Kingpins tell, and
 * fail what is pending there, within their own bound.)
 */
const STALL_MS = 2_000;
const RETRY_MS = 5_000;

/** A coarse clock (ms), ticking 4 times a second while some worker has direct paths. */
let clock = Date.now();
let ticking = false;
function startClock(): void {
  if (ticking) return;
  ticking = true;
  setInterval(() => (clock = Date.now()), 250).unref();
}

/** Calls one worker of another host may have us serve at once (its window bounds it far lower). */
const MAX_SERVING = 100_000;
/** Workers of other hosts one worker knows at once. */
const MAX_PEERS = 16_384;

/**
 * The broker, as a worker's direct paths use it (mob-nats implements it): one subject per
 * worker, `mob.<app>.w.<host>.<pid>`.
 *
 * @example
 * const wire: RemoteWire = {
 *   connected: true,
 *   maxPayload: nc.info.max_payload,
 *   publish: (host, pid, body) => (nc.publish(subject(host, pid), body), true),
 *   flush: () => nc.flush(),
 * };
 */
export interface RemoteWire {
  /** false while the broker is away: frames go through the Kingpin meanwhile */
  readonly connected: boolean;
  /** the broker's largest message, in bytes */
  readonly maxPayload: number;
  /** publishes one batch to worker `pid` of `host`; false when it could not */
  publish(host: string, pid: number, body: string): boolean;
  /** resolves once what was published has left */
  flush(): Promise<void>;
}

/** What the direct paths need of their worker. */
export interface RemoteSide {
  readonly pid: number;
  readonly host: string;
  flow(): FlowLimits;
  /** handle a frame that came over the broker (its sender stamped) as a routed one */
  dispatch(frame: Frame): void;
  /** true once this worker is stopping: calls that come directly are turned away */
  stopping(): boolean;
}

/** A worker of another host, as this worker knows it. */
class Peer {
  /** frames queued for it this turn, in their wire form, and their bytes */
  frames: unknown[] = [];
  bytes = 0;
  scheduled = false;
  /** what every batch to it begins with (this worker, and the tag it knows us by) */
  head = '';
  /** what every batch from it begins with (see receive) */
  readonly inHead: string;
  ackTimer: NodeJS.Timeout | null = null;
  /** acks taken (ridden along or sent) so far: the ack timer tells whether what is owed is new */
  acksTaken = 0;
  ackMark = 0;
  /** what we sent it and it has not acknowledged */
  readonly window: Window;
  /** what it sent us and we have not acknowledged */
  readonly owed: Owed;
  /** ids of our calls that went to it directly and are not answered */
  readonly inflight = new IdSet();
  /** ids of its calls that came directly and that we have not answered: their answers go back directly */
  readonly serving = new IdSet();
  /** it retires (turns calls away, then exits): calls pending when it goes never ran there */
  retiring = false;
  /** (coarse clock) when we last heard from it, when our frames began to wait for its ack, and until when it is passed by */
  heard = clock;
  waiting = 0;
  passedUntil = 0;

  constructor(
    readonly alias: number,
    readonly host: string,
    readonly rpid: number,
    public role: string,
    readonly out: string,
    readonly tag: string,
    flow: FlowLimits,
    tally: { refused: number },
  ) {
    this.window = new Window(flow, `the path to worker ${rpid} of host "${host}"`, tally);
    this.owed = new Owed(flow);
    this.inHead = `${host} ${rpid} ${tag} `;
  }
}

/**
 * A worker's direct paths to the workers of other hosts.
 *
 * @example
 * const remotes = new Remotes(side);
 * remotes.alias(aliasFrame);          // from the Kingpin
 * remotes.attach(wire);               // once the broker connection is up
 * remotes.send(alias, callFrame, 'call back.add()'); // undefined: not taken, send it routed
 */
export class Remotes {
  readonly #side: RemoteSide;
  readonly #byAlias = new Map<number, Peer>();
  readonly #byAddr = new Map<string, Peer>();
  /** the peer the last batch came from (calls one at a time come from one): found without a key */
  #last: Peer | null = null;
  /** the peer whose batch is being handled now */
  #handling: Peer | null = null;
  readonly #early = new Map<string, { since: number; bytes: number; bodies: { tag: string; frames: unknown[] }[] }>();
  #earlyCount = 0;
  #earlyBytes = 0;
  #wire: RemoteWire | null = null;
  /** frames sent directly so far */
  sent = 0;
  /** calls and callback invocations refused at their call (a path's window full), over every path (each window counts here) */
  refused = 0;

  constructor(side: RemoteSide) {
    this.#side = side;
  }

  /** The broker connection is up: frames for other hosts' workers may go directly. */
  attach(wire: RemoteWire): void {
    this.#wire = wire;
    startClock();
  }

  /** Workers of other hosts this worker knows. */
  get size(): number {
    return this.#byAlias.size;
  }

  /** A path's window over its high-water mark, if any (what `drain()` waits for). */
  over(): Window | undefined {
    for (const peer of this.#byAlias.values()) if (peer.window.over) return peer.window;
    return undefined;
  }

  /** An Alias frame from the Kingpin: a worker of another host, and how to reach it. */
  alias(fr: AliasFrame): void {
    const { p, h, q, o, e } = fr;
    if (!isPid(p) || !isPid(q) || typeof h !== 'string' || h === '' || h.length > 64 || typeof o !== 'string' || typeof e !== 'string') return;
    if (this.#byAlias.has(p) || this.#byAlias.size >= MAX_PEERS) return;
    const addr = `${h}/${q}`;
    this.#last = null;
    const peer = new Peer(p, h, q, typeof fr.r === 'string' ? fr.r : '', o, e, this.#side.flow(), this);
    this.#byAlias.set(p, peer);
    this.#byAddr.set(addr, peer);
    const early = this.#early.get(addr);
    if (!early) return;
    this.#early.delete(addr);
    this.#earlyCount -= early.bodies.length;
    this.#earlyBytes -= early.bytes;
    // Only what carried the tag the Kingpin gave with the Alias: no forged or stale batch.
    for (const { tag, frames } of early.bodies) if (tag === peer.tag) this.#batch(peer, frames);
  }

  /**
   * Sends a frame to the worker of another host whose alias is `pid`, directly. Returns
   * undefined when not taken (no broker connection, or not a worker this one knows): send it
   * through the Kingpin. Else false above the path's high-water mark; throws QueueFullError
   * beyond its bound for a refusable frame (`where` given).
   */
  send(pid: number, frame: Frame, where: string | undefined, bytes = frameBytes(frame)): boolean | undefined {
    const wire = this.#wire;
    if (!wire) return undefined;
    const peer = this.#byAlias.get(pid);
    if (!peer) return undefined;
    // An answer goes back the way its call came: one that came through the Kingpins goes back
    // through them, one that came directly goes back directly, even while the broker is away
    // (the client holds it until it reconnects; the Kingpins would drop it, not having routed
    // the call).
    if (frame.k === Kind.Return) {
      if (!peer.serving.delete(frame.i)) return undefined;
    } else if (!wire.connected || !this.#usable(peer)) return undefined;
    if (peer.window.count === 0) peer.waiting = clock;
    const below = peer.window.take(bytes, where !== undefined, where ?? '');
    // A lone call to this peer (none other pending there, nothing queued for it), or the answer
    // to the last call it has here, leaves now rather than at the end of the turn: one call at a
    // time, the answer comes back sooner. Pipelined frames still leave together.
    const lone = peer.frames.length === 0 && this.#handling !== peer && (frame.k === Kind.Call ? peer.inflight.size === 0 : frame.k === Kind.Return && peer.serving.size === 0);
    if (frame.k === Kind.Call) peer.inflight.add(frame.i);
    this.#push(peer, compactFrame(frame), bytes, lone);
    this.sent++;
    return below;
  }

  /** False while `peer` is passed by: it has not answered or acknowledged anything for STALL_MS. */
  #usable(peer: Peer): boolean {
    if (peer.passedUntil !== 0) {
      if (clock < peer.passedUntil) return false;
      peer.passedUntil = 0;
      peer.heard = clock;
      peer.window.credit(Infinity, Infinity);
    }
    if (peer.window.count === 0 || clock - Math.max(peer.heard, peer.waiting) <= STALL_MS) return true;
    debug('remote: worker %d of host "%s" silent for %d ms: frames for it go through the Kingpins for a while', peer.rpid, peer.host, clock - peer.heard);
    peer.passedUntil = clock + RETRY_MS;
    return false;
  }

  /** Worker `pid` (an alias) retires: it turns calls away, then exits. */
  retiring(pid: number): void {
    const peer = this.#byAlias.get(pid);
    if (peer) peer.retiring = true;
  }

  /** The Kingpin's Down for an alias: its pending calls fail (or go elsewhere if it retired). */
  down(fr: DownFrame): void {
    const peer = this.#byAlias.get(fr.p);
    if (!peer) return;
    this.#last = null;
    this.#byAlias.delete(fr.p);
    const addr = `${peer.host}/${peer.rpid}`;
    if (this.#byAddr.get(addr) === peer) this.#byAddr.delete(addr);
    if (peer.ackTimer) clearTimeout(peer.ackTimer);
    peer.frames = [];
    peer.window.disable();
    if (peer.inflight.size === 0) return;
    const role = typeof fr.r === 'string' && fr.r ? fr.r : peer.role;
    const retired = fr.y === 1 || peer.retiring;
    const reason = typeof fr.w === 'string' ? fr.w : undefined;
    const e = retired
      ? serializeError(new ShutdownError(`worker ${peer.rpid} of role "${role}" on host "${peer.host}" retired; the call goes to another worker`))
      : serializeError(
          new WorkerExitedError(role, peer.rpid, typeof fr.c === 'number' ? fr.c : null, typeof fr.s === 'string' ? fr.s : null, 'the call', {
            host: peer.host,
            ...(reason ? { reason } : {}),
          }),
        );
    this.#failPending(peer, e, retired);
  }

  /**
   * This worker lost the broker: what was in flight to other hosts' workers, or back from
   * them, may be lost. The calls pending there fail with WorkerExitedError naming the host and
   * `reason` (they may have run; `retries` sends them again); the windows start afresh. What is
   * queued still leaves (the client holds it until it reconnects): answers among it are owed.
   */
  interrupt(reason: string): void {
    for (const peer of this.#byAlias.values()) {
      peer.window.credit(Infinity, Infinity);
      if (peer.inflight.size === 0) continue;
      this.#failPending(peer, serializeError(new WorkerExitedError(peer.role, peer.rpid, null, null, 'the call', { host: peer.host, reason })), false);
    }
  }

  /** The calls of ours pending on `peer` fail with `e`; `unrun` (y: 1): they never ran there, and go elsewhere. */
  #failPending(peer: Peer, e: SerializedError, unrun: boolean): void {
    const ids = peer.inflight.values();
    peer.inflight.clear();
    for (const i of ids) this.#side.dispatch(unrun ? { k: Kind.Fail, i, e, y: 1 } : { k: Kind.Fail, i, e });
  }

  /** Resolves once what is queued has been published and has left (before this worker exits). */
  async flush(): Promise<void> {
    for (const peer of this.#byAlias.values()) this.#flush(peer);
    await this.#wire?.flush().catch(() => {});
  }

  /**
   * One message on this worker's subject (any bytes: checked field by field). A batch is
   * `<host> <pid> <tag> <frames>`: the sending worker, the tag the Kingpins gave the pair of
   * hosts, and the frames as a JSON array. (Host names and tags hold no space.) The sender is
   * read off the text, so that JSON.parse reads the frames only; one call at a time, it is the
   * last one, whose head is compared whole.
   */
  receive(text: string): void {
    let peer = this.#last;
    let at: number;
    if (peer !== null && text.startsWith(peer.inHead)) at = peer.inHead.length;
    else {
      const i = text.indexOf(' ');
      const j = i > 0 && i <= 64 ? text.indexOf(' ', i + 1) : -1;
      const k = j > 0 && j - i <= 11 ? text.indexOf(' ', j + 1) : -1;
      if (k < 0 || k - j > 65) {
        debug('remote: a message that is not a batch dropped');
        return;
      }
      const h = text.slice(0, i);
      const digits = text.slice(i + 1, j);
      const p = Number(digits);
      if (!isPid(p) || String(p) !== digits) return;
      const g = text.slice(j + 1, k);
      const addr = `${h}/${p}`;
      peer = this.#byAddr.get(addr) ?? null;
      if (!peer) {
        const frames = parseFrames(text, k + 1);
        if (frames) this.#park(addr, g, frames, text.length);
        return;
      }
      if (g !== peer.tag) {
        debug('remote: a batch from %s/%d with a stale or wrong tag dropped', h, p);
        return;
      }
      this.#last = peer;
      at = k + 1;
    }
    const frames = parseFrames(text, at);
    if (frames) this.#batch(peer, frames);
  }

  // ---- sending ------------------------------------------------------------------------

  /** Queues a frame for `peer`; it leaves at the end of this turn, or `now`. */
  #push(peer: Peer, wire: unknown, bytes: number, now = false): void {
    peer.frames.push(wire);
    peer.bytes += bytes;
    if (now || peer.bytes >= FLUSH_BYTES) this.#flush(peer);
    else this.#flushSoon(peer);
  }

  /** What is queued for `peer`, and what we owe it, leave at the end of this turn. */
  #flushSoon(peer: Peer): void {
    // (While a batch from `peer` is handled, what it brings for it leaves at the batch's end.)
    if (peer.scheduled || this.#handling === peer) return;
    peer.scheduled = true;
    process.nextTick(this.#flushLater, peer);
  }

  /** (Not when what was queued has left meanwhile: what is owed since waits for its timer or a frame.) */
  readonly #flushLater = (peer: Peer): void => {
    if (peer.scheduled) this.#flush(peer);
  };

  /** Publishes what is queued for `peer`, with the acknowledgement we owe it. */
  #flush(peer: Peer): void {
    peer.scheduled = false;
    const ack = peer.owed.take();
    if (ack) {
      peer.frames.push([Kind.Ack, ack.n, ack.b]);
      peer.acksTaken++;
    }
    const frames = peer.frames;
    if (frames.length === 0) return;
    peer.frames = [];
    peer.bytes = 0;
    const wire = this.#wire;
    if (!wire || this.#byAlias.get(peer.alias) !== peer) return;
    const head = (peer.head ||= `${this.#side.host} ${this.#side.pid} ${peer.out} `);
    const body = head + stringifyFrames(frames);
    const max = wire.maxPayload;
    if (body.length <= max / 3 || Buffer.byteLength(body) <= max) {
      if (!wire.publish(peer.host, peer.rpid, body)) debug('remote: %d frame(s) to %s/%d not published', frames.length, peer.host, peer.rpid);
      return;
    }
    // Too big for the broker: frame by frame; a frame too big alone is refused.
    for (const f of frames) {
      const one = head + stringifyFrames([f]);
      if (Buffer.byteLength(one) <= max) wire.publish(peer.host, peer.rpid, one);
      else this.#tooBig(peer, f, Buffer.byteLength(one), max);
    }
  }

  /** A frame larger than the broker's max_payload: a call fails at its caller (here). */
  #tooBig(peer: Peer, raw: unknown, size: number, max: number): void {
    const fr = expandFrame(raw);
    if (!isFrame(fr)) return;
    peer.window.credit(1, frameBytes(fr));
    debug('remote: a frame of %d bytes is larger than max_payload (%d): not sent', size, max);
    if (fr.k === Kind.Return) {
      // The caller waits for this answer: it gets why it cannot have it instead (small, without
      // a stack; should even that not fit, the caller's timeout tells).
      const answer = tooBigAnswer(fr, `worker ${this.#side.pid} on host "${this.#side.host}"`, `a frame of ${size} bytes, larger than the NATS server's max_payload (${max} bytes)`, this.#side.pid, max);
      if (!answer) return;
      peer.window.take(answer.bytes, false, '');
      this.#push(peer, answer.wire, answer.bytes);
      return;
    }
    if (fr.k !== Kind.Call || !peer.inflight.delete(fr.i)) return;
    const err = new PayloadError(
      `call to host "${peer.host}": a frame of ${size} bytes is larger than the NATS server's max_payload (${max} bytes); send less per call, or raise max_payload on the server`,
    );
    this.#side.dispatch({ k: Kind.Fail, i: fr.i, e: serializeError(err) });
  }

  // ---- receiving ----------------------------------------------------------------------

  /** A batch from a worker the Kingpin has not introduced yet: it waits (bounded) for its Alias. */
  #park(addr: string, tag: string, frames: unknown[], bytes: number): void {
    const now = Date.now();
    // Batches wait for as long as there is room: a host that comes back under its old name is
    // introduced only once its old incarnation is known gone (2 to 3 s, longer on a loaded
    // machine), and the calls in them would otherwise be lost until their timeout. Only when
    // room is needed do batches older than EARLY_MS go (a flood from workers never introduced).
    const full = (): boolean => this.#earlyCount >= EARLY_MAX || this.#earlyBytes + bytes > EARLY_BYTES;
    for (const [key, e] of this.#early) {
      if (!full() || now - e.since <= EARLY_MS) break;
      this.#early.delete(key);
      this.#earlyCount -= e.bodies.length;
      this.#earlyBytes -= e.bytes;
    }
    if (full()) {
      debug('remote: a batch from %s (not introduced) dropped', addr);
      return;
    }
    let e = this.#early.get(addr);
    if (!e) this.#early.set(addr, (e = { since: now, bytes: 0, bodies: [] }));
    e.bodies.push({ tag, frames });
    e.bytes += bytes;
    this.#earlyCount++;
    this.#earlyBytes += bytes;
  }

  #batch(peer: Peer, frames: unknown[]): void {
    received.batches++;
    peer.heard = clock;
    let due = false;
    const outer = this.#handling;
    this.#handling = peer;
    try {
      for (let j = 0; j < frames.length; j++) {
        const fr = expandFrame(frames[j]);
        if (!isFrame(fr)) {
          due = peer.owed.add(1, 0) || due;
          continue;
        }
        if (fr.k === Kind.Ack) {
          peer.window.ack(fr);
          continue;
        }
        due = peer.owed.add(1, frameBytes(fr)) || due;
        // (The worker's dispatch hands what an app listener throws to the app's uncaught errors.)
        this.#frame(peer, fr);
      }
    } finally {
      // (In a finally: should a frame's handling throw, what came before it is still
      // answered and acknowledged.)
      this.#handling = outer;
      // What the batch brought for the peer (answers from synchronous exports, say) leaves
      // now, together, with what we owe it.
      if (peer.frames.length > 0) this.#flush(peer);
      else if (peer.owed.n > 0) {
        // Due: it leaves at the end of the turn, with what else the turn brings for the peer
        // (the flush takes what is owed then).
        if (due) this.#flushSoon(peer);
        // (A flush already scheduled takes what is owed with it.)
        else if (!peer.ackTimer && !peer.scheduled) this.#ackLater(peer);
      }
    }
  }

  /**
   * What is owed leaves within ACK_DELAY_MS to 2 x ACK_DELAY_MS, with the next frames to the
   * peer or alone. One timer per peer, not one per batch: when it fires and an ack left
   * meanwhile, what is owed now is newer, and the timer waits once more.
   */
  #ackLater(peer: Peer): void {
    peer.ackMark = peer.acksTaken;
    peer.ackTimer = setTimeout(() => {
      peer.ackTimer = null;
      if (peer.owed.n === 0 || this.#byAlias.get(peer.alias) !== peer) return;
      if (peer.acksTaken !== peer.ackMark) this.#ackLater(peer);
      else this.#flush(peer);
    }, ACK_DELAY_MS);
    peer.ackTimer.unref();
  }

  #frame(peer: Peer, fr: Frame): void {
    const side = this.#side;
    switch (fr.k) {
      case Kind.Call:
        if (!isId(fr.i) || typeof fr.r !== 'string' || typeof fr.m !== 'string') return;
        // The caller, in this host's pids: answers and invocations go back to it.
        fr.p = peer.alias;
        if (fr.t !== undefined) delete fr.t;
        // (An id already being served, or past any window's bound: not a caller of mob's.)
        if (peer.serving.has(fr.i) || peer.serving.size >= MAX_SERVING) return;
        if (side.stopping()) {
          // Retiring: this call never runs here; the caller sends it elsewhere.
          const e = serializeError(new ShutdownError(`worker ${side.pid} on host "${side.host}" is stopping; the call goes to another worker`));
          this.#push(peer, { k: Kind.Fail, i: fr.i, e, y: 1 }, 0);
          return;
        }
        peer.serving.add(fr.i);
        side.dispatch(fr);
        return;
      case Kind.Return:
      case Kind.Fail:
        // Only an answer to a call of ours that went to this worker, once (a worker fails a
        // call only to turn it away): late and forged answers are dropped.
        if (!isId(fr.i) || (fr.k === Kind.Fail && fr.y !== 1) || !peer.inflight.delete(fr.i)) return;
        if (fr.k === Kind.Fail) {
          peer.retiring = true;
          const e = typeof fr.e === 'object' && fr.e !== null ? fr.e : serializeError(new ShutdownError(`worker ${peer.rpid} on host "${peer.host}" turned the call away`));
          side.dispatch({ k: Kind.Fail, i: fr.i, e, y: 1 });
          return;
        }
        fr.p = side.pid;
        if (fr.w !== undefined) fr.w = peer.alias;
        if (typeof fr.e === 'object' && fr.e !== null) fr.e.at = { h: peer.host, p: peer.rpid };
        side.dispatch(fr);
        return;
      case Kind.Invoke:
      case Kind.Free:
        fr.p = side.pid;
        fr.w = peer.alias;
        side.dispatch(fr);
        return;
      default:
        debug('remote: a frame of kind %s from %s/%d ignored', String(fr.k).slice(0, 16), peer.host, peer.rpid);
    }
  }
}

/**
 * The answer a caller gets in place of one too big for the broker (`max` bytes): a
 * PayloadError naming the callee (`who`) and why (`what`), without a stack (small whatever the
 * error was), in its wire form with what it counts in a window. Undefined when even it would
 * not fit: nothing is sent, and the caller's timeout tells.
 *
 * @example
 * const answer = tooBigAnswer({ k: Kind.Return, p: 7, i: 3, v: big }, 'worker 42 on host "b"', 'a frame of 2000000 bytes, …', 42, 1048576);
 * if (answer) send(answer.wire, answer.bytes);
 */
export function tooBigAnswer(fr: { p?: unknown; i: number }, who: string, what: string, pid: number, max: number): { frame: Frame; wire: unknown; bytes: number } | undefined {
  const e = serializeError(new PayloadError(`the answer of ${who} cannot travel: ${what}; return less per call, or raise max_payload on the server`));
  delete e.stack;
  const frame: Frame = { k: Kind.Return, p: fr.p as number, i: fr.i, w: pid, e };
  const wire = compactFrame(frame);
  // (Room for the batch's envelope around it.)
  if (JSON.stringify(wire).length + 512 > max) return undefined;
  return { frame, wire, bytes: frameBytes(frame) };
}

/** The JSON array of frames at `at` in a batch's text, or undefined (dropped: not one). */
function parseFrames(text: string, at: number): unknown[] | undefined {
  const numeric = parseNumericFrames(text, at);
  if (numeric) return numeric;
  let f: unknown;
  try {
    f = JSON.parse(text.slice(at));
  } catch {
    debug('remote: a batch whose frames are not JSON dropped');
    return undefined;
  }
  return Array.isArray(f) ? f : undefined;
}

function isPid(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x > 0 && x < 2 ** 31;
}

function isId(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < 2 ** 31;
}
