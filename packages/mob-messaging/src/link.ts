import { connect, createServer, type Server, type Socket } from 'node:net';
import { rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { debuglog } from 'node:util';
import { ShutdownError, WorkerExitedError, serializeError } from './errors.js';
import { received } from './batches.js';
import { Owed, Window, flowFromWire, flowToWire, type FlowLimits } from './flow.js';
import { IdSet } from './idmap.js';
import { Outbox, type IpcChannel } from './outbox.js';
import {
  Kind,
  MARKER,
  PROTOCOL_VERSION,
  REMOTE_BASE,
  Target,
  expandFrame,
  frameBytes,
  isFrame,
  isMobMessage,
  stringifyFrames,
  type Envelope,
  type Frame,
  type FrameOf,
} from './protocol.js';

const debug = debuglog('mob');

/** Marks the link server, which shutdown's drain leaves alone (links close as the worker exits). */
export const LINK_SERVER = Symbol.for('mob-messaging.linkServer');

/** Default bound of a worker's links. */
export const DEFAULT_MAX_LINKS = 64;
/** A link not open within this long is given up (its frames go routed). */
const OPEN_TIMEOUT_MS = 5_000;
/** The handshake line: short, and soon. */
const HANDSHAKE_BYTES = 512;
const HANDSHAKE_MS = 2_000;
/** After a link closes, how long its pending calls wait for the Kingpin to tell the exit code. */
const EXIT_WAIT_MS = 1_000;
/** The same for a worker that was retiring: its calls go elsewhere only if it exited with code 0. */
const RETIRED_EXIT_WAIT_MS = 5_000;
/** Frames of a peer's that wait while what this worker writes to it piles up (see #handle): in order, behind each other. */
const DEFERRABLE: ReadonlySet<number> = new Set([Kind.Call, Kind.Invoke, Kind.Message, Kind.LinkMark]);

/**
 * True when the frames waiting to be written to the peer (it does not read them fast enough)
 * have reached the link window's hard bound. Only this worker's own outbox counts, not the
 * acks it waits for: two workers holding each other's calls back until acks come could wait
 * for each other for ever; an outbox drains as soon as its peer reads, whatever it holds back.
 */
function piled(l: Link): boolean {
  const { max } = l.window.limits;
  return l.outbox !== null && (l.outbox.size >= max.count || l.outbox.bytes >= max.bytes);
}

/** Calls of a peer's being served over one link, at most (a peer of mob's has far fewer: its window). */
const MAX_SERVING = 100_000;

/** What the link layer needs of its worker. */
export interface LinkHost {
  readonly pid: number;
  /** the worker's flow limits, for each link's window */
  flow(): FlowLimits;
  /** send a frame through the Kingpin (not refusable: the link layer's own frames, and fallbacks) */
  routed(frame: Frame): void;
  /** handle a frame that came over a link (its sender stamped) as a routed one */
  dispatch(frame: Frame): void;
  /** true once this worker is stopping: it takes no new link (see quiesce() for the calls over open ones) */
  stopping(): boolean;
  /** the peer's link closed: it is gone or going, choose it no more */
  gone(pid: number): void;
}

type LinkState = 'opening' | 'open' | 'closed';

/** One direct link to another worker. */
class Link {
  state: LinkState = 'opening';
  /** we asked for it (we listen, the peer connects) */
  requester = false;
  token = '';
  socket: Socket | null = null;
  outbox: Outbox | null = null;
  /** frames for the peer while the link opens, with their bytes */
  buffer: { frame: Frame; bytes: number }[] = [];
  /** what we sent the peer over the link (or buffered) and it has not acknowledged */
  readonly window: Window;
  /** ids of our calls that went over the link and are not answered */
  readonly inflight = new IdSet();
  /** ids of the peer's calls that came over the link and we have not answered: only their answers take it */
  readonly serving = new IdSet();
  /** we told the peer (it retires) that no more calls of ours come over the link */
  endSent = false;
  /** the peer told us (we retire) that no more calls of its come over the link */
  endSeen = false;
  /** the peer's routed frames to us are all in: its link frames may be handled */
  markSeen = false;
  /** the peer is retiring: calls still pending when its link closes never ran there */
  retiring = false;
  /** link frames that came before the peer's mark */
  early: unknown[][] = [];
  /** frames of the peer's we handled and have not acknowledged yet */
  readonly owed: Owed;
  /** the peer's calls, invocations, messages and end mark that wait while our answers to it pile up */
  deferred: Frame[] = [];
  timer: NodeJS.Timeout | null = null;

  constructor(
    readonly pid: number,
    public role: string,
    flow: FlowLimits,
    tally: { refused: number },
  ) {
    this.window = new Window(flow, `the link to worker ${pid}`, tally);
    this.owed = new Owed(flow);
  }
}


/** A socket as an IpcChannel: one JSON line per batch, so the Outbox batches links as it does IPC. */
function lineChannel(socket: Socket): IpcChannel {
  const writeFrames = (frames: unknown[], callback?: (err: Error | null) => void): boolean => {
    const line = `{"${MARKER}":${PROTOCOL_VERSION},"f":${stringifyFrames(frames)}}\n`;
    // Without a callback, a write that completes at once costs the stream no tick and no object.
    return callback ? socket.write(line, (err) => callback(err ?? null)) : socket.write(line);
  };
  return {
    writeFrames,
    send(message, _handle, _options, callback) {
      return writeFrames((message as Envelope).f, callback);
    },
    get connected() {
      return !socket.destroyed;
    },
  };
}

/**
 * A worker's direct links to other workers. The Kingpin introduces two workers: the one
 * that wants the link listens on a Unix socket in the app's private folder (0700) and asks
 * through the Kingpin, with a token it made; the other connects and shows the token. Only
 * a worker the Kingpin told can connect. Frames for a peer wait while the link opens, and
 * go routed if it cannot. Order per peer holds across the switch: the request and the
 * peer's mark travel the routed path behind every routed frame between the two, and a
 * side handles link frames only once the other's routed frames are in.
 *
 * @example
 * const links = new Links(host, process.env.MOB_LINK_DIR, 64);
 * links.send(peerPid, frame, 'call back.add()', true); // undefined: not taken, send it routed
 */
export class Links {
  readonly #links = new Map<number, Link>();
  readonly #host: LinkHost;
  readonly #dir: string;
  readonly #max: number;
  #server: Server | null = null;
  #path = '';
  /** calls, messages and callback invocations refused at their call (a link's window full), over every link (each window counts here) */
  refused = 0;
  /** this worker retires and its peers have stopped calling (or did not in time): calls are turned away */
  #closing = false;
  /** quiesce() waits: told when a peer's end mark comes or a link closes */
  #quiet: (() => void) | null = null;

  constructor(host: LinkHost, dir: string, max = DEFAULT_MAX_LINKS) {
    this.#host = host;
    this.#dir = dir;
    this.#max = max;
    // The Kingpin removes the folder when it stops; killed, it cannot: the last worker out does.
    process.once('exit', () => {
      for (const rm of [() => this.#path && unlinkSync(this.#path), () => rmdirSync(this.#dir)]) {
        try {
          rm();
        } catch {
          // already gone, or the folder is not empty (other workers are still up)
        }
      }
    });
  }

  /** Links open or opening now. */
  get size(): number {
    let n = 0;
    for (const l of this.#links.values()) if (l.state !== 'closed') n++;
    return n;
  }

  /** A link's window over its high-water mark, if any (what `drain()` waits for). */
  over(): Window | undefined {
    for (const l of this.#links.values()) if (l.state !== 'closed' && l.window.over) return l.window;
    return undefined;
  }

  /** True when frames for `pid` travel over a link (open or opening). */
  has(pid: number): boolean {
    const s = this.#links.get(pid)?.state;
    return s === 'open' || s === 'opening';
  }

  /**
   * Sends a frame to worker `pid` over its link. `open`: make the link if there is none
   * (a call, to `role`). Returns undefined when the link layer did not take the frame (no
   * link): send it routed. Else false above the link's high-water mark; throws
   * QueueFullError beyond its bound for a refusable frame (`where` given).
   */
  send(pid: number, frame: Frame, where: string | undefined, open?: string, bytes = frameBytes(frame)): boolean | undefined {
    let l = this.#links.get(pid);
    if (!l) {
      // A worker of another host (an alias, REMOTE_BASE and up) is reached through the Kingpin.
      if (open === undefined || pid === this.#host.pid || pid >= REMOTE_BASE || this.size >= this.#max) return undefined;
      l = this.#request(pid, open);
      if (!l) return undefined;
    }
    if (l.state === 'closed') return undefined;
    // An answer goes back the way its call came: a call that came routed (before the link
    // opened) is answered routed, where the Kingpin counts it and its caller expects it.
    if (frame.k === Kind.Return && !l.serving.delete(frame.i)) return undefined;
    const below = l.window.take(bytes, where !== undefined, where ?? '');
    if (frame.k === Kind.Call) l.inflight.add(frame.i);
    if (l.state === 'opening') l.buffer.push({ frame, bytes });
    else l.outbox!.push(frame, bytes);
    return below;
  }

  /** Resolves once nothing is left to write on any link (before this worker exits). */
  flush(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const l of this.#links.values()) {
      if (l.state === 'open' && l.outbox) waits.push(new Promise((resolve) => l.outbox!.flush(() => resolve())));
    }
    return Promise.all(waits).then(() => undefined);
  }

  /** A Link frame from the Kingpin: another worker's request, or a refusal of ours. */
  onLink(fr: FrameOf<typeof Kind.Link>): void {
    if (fr.x === 1) {
      const l = typeof fr.p === 'number' ? this.#links.get(fr.p) : undefined;
      if (l?.state === 'opening' && l.requester) this.#fail(l, 'refused');
      return;
    }
    const from = fr.s;
    if (typeof from !== 'number' || !Number.isInteger(from) || from <= 0 || typeof fr.t !== 'string' || fr.t.length > 64) return;
    const role = typeof fr.r === 'string' ? fr.r : '';
    let l = this.#links.get(from);
    if (l && l.state !== 'closed') {
      // Both asked at once: the lower pid's request wins; the other side connects.
      if (!(l.state === 'opening' && l.requester && from < this.#host.pid)) return;
      if (l.timer) clearTimeout(l.timer);
    } else {
      if (this.#host.stopping() || this.size >= this.#max) {
        this.#host.routed({ k: Kind.Link, p: from, x: 1 });
        return;
      }
      l = new Link(from, role, this.#host.flow(), this);
      this.#links.set(from, l);
    }
    l.requester = false;
    l.state = 'opening';
    l.token = fr.t;
    // Acknowledge at the requester's pace (its flow limits may differ from ours).
    l.owed.limits = flowFromWire(fr.fc) ?? l.owed.limits;
    // The requester's routed frames to us came before its request: all handled now. Ours to
    // it end with this mark; it handles our link frames once the mark is in.
    l.markSeen = true;
    this.#host.routed({ k: Kind.LinkMark, p: from });
    const link = l;
    // The requester's socket is where every worker's is: never a path anyone else names.
    const socket = connect(this.#socketPath(from));
    socket.on('error', (err) => {
      debug('link to %d: %s', from, err.message);
      if (link.socket === socket) this.#close(link);
      else if (link.state === 'opening') {
        this.#host.routed({ k: Kind.Link, p: from, x: 1 });
        this.#fail(link, err.message);
      }
    });
    socket.once('connect', () => {
      if (link.state !== 'opening') return socket.destroy();
      socket.write(JSON.stringify({ t: link.token, p: this.#host.pid, fc: flowToWire(this.#host.flow()) }) + '\n');
      this.#attach(link, socket);
    });
  }

  /** A LinkMark from the Kingpin: the peer's routed frames to us are all in. */
  onMark(fr: FrameOf<typeof Kind.LinkMark>): void {
    const l = typeof fr.s === 'number' ? this.#links.get(fr.s) : undefined;
    if (!l || l.markSeen) return;
    l.markSeen = true;
    const early = l.early;
    l.early = [];
    for (const frames of early) this.#handle(l, frames);
  }

  /**
   * Worker `pid` is retiring (reload, scale down, shutdown): our calls to it end here (the end
   * mark goes after them); it serves them, turns away any later one, then exits.
   */
  retiring(pid: number): void {
    const l = this.#links.get(pid);
    if (!l) return;
    l.retiring = true;
    // It serves what we sent it until it has this mark (after all of it): then it may go.
    if (l.endSent || l.state === 'closed') return;
    l.endSent = true;
    const mark: Frame = { k: Kind.LinkMark };
    const bytes = frameBytes(mark);
    l.window.take(bytes, false, '');
    if (l.state === 'opening') l.buffer.push({ frame: mark, bytes });
    else l.outbox!.push(mark, bytes);
  }

  /**
   * This worker retires: resolves once every linked peer has said that no more of its calls
   * come (it sends that mark after its last call, as soon as the Kingpin tells it that this
   * worker retires), or its link closed, or after `ms`. Calls that come over links until then
   * are served, as routed calls sent before the retirement are; after, they are turned away
   * (their callers send them elsewhere).
   *
   * @example
   * await links.quiesce(1000); // then drain running calls and exit
   */
  quiesce(ms: number): Promise<void> {
    const waiting = (): boolean => {
      for (const l of this.#links.values()) if (l.state !== 'closed' && !l.endSeen) return true;
      return false;
    };
    if (!waiting()) {
      this.#closing = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#quiet = null;
        this.#closing = true;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#quiet = () => {
        if (!waiting()) done();
      };
    });
  }

  /** Worker `pid` exited (the Kingpin's Down, with its exit code or signal): its link is gone for good. */
  down(pid: number, code: number | null = null, signal: string | null = null): void {
    const l = this.#links.get(pid);
    if (!l) return;
    if (l.state === 'opening') this.#fail(l, 'the worker exited');
    else if (l.state === 'open') this.#close(l);
    this.#settleClosed(l, code, signal);
    this.#links.delete(pid);
  }

  /** Close every link and the socket (this worker is exiting). */
  close(): void {
    for (const l of this.#links.values()) l.socket?.destroy();
    this.#server?.close();
  }

  // ---- opening ----------------------------------------------------------------------

  #request(pid: number, role: string): Link | undefined {
    if (!this.#listen()) return undefined;
    const l = new Link(pid, role, this.#host.flow(), this);
    l.requester = true;
    l.token = globalThis.crypto.randomUUID();
    this.#links.set(pid, l);
    l.timer = setTimeout(() => l.state === 'opening' && this.#fail(l, 'not opened in time'), OPEN_TIMEOUT_MS);
    l.timer.unref();
    this.#host.routed({ k: Kind.Link, p: pid, t: l.token });
    return l;
  }

  #listen(): boolean {
    if (this.#server) return this.#server.listening || this.#path !== '';
    const path = this.#socketPath(this.#host.pid);
    // A Unix socket path is short (108 bytes on Linux): too long, and there are no links.
    if (Buffer.byteLength(path) > 100) return false;
    const server = createServer((socket) => this.#accept(socket));
    server.on('error', (err) => {
      debug('link server: %s', err.message);
      this.#path = '';
    });
    // Exclusive: this worker's own socket, not one the cluster shares through the Kingpin
    // (nor one its 'listening' readiness waits for); and not an app server to drain at shutdown.
    (server as Server & { [LINK_SERVER]?: true })[LINK_SERVER] = true;
    server.listen({ path, exclusive: true });
    server.unref();
    this.#server = server;
    this.#path = path;
    return true;
  }

  #socketPath(pid: number): string {
    return join(this.#dir, `${pid}.sock`);
  }

  /** A peer connected: the first line must be its handshake with our token for it. */
  #accept(socket: Socket): void {
    let text = '';
    const timer = setTimeout(() => socket.destroy(), HANDSHAKE_MS);
    timer.unref();
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    const onData = (chunk: string): void => {
      text += chunk;
      const nl = text.indexOf('\n');
      if (nl < 0) {
        if (text.length > HANDSHAKE_BYTES) socket.destroy();
        return;
      }
      socket.off('data', onData);
      clearTimeout(timer);
      let hello: { t?: unknown; p?: unknown; fc?: unknown } | null;
      try {
        hello = nl <= HANDSHAKE_BYTES ? (JSON.parse(text.slice(0, nl)) as { t?: unknown; p?: unknown; fc?: unknown } | null) : null;
      } catch {
        hello = null;
      }
      const l = typeof hello?.p === 'number' ? this.#links.get(hello.p) : undefined;
      if (!l || !l.requester || l.state !== 'opening' || typeof hello?.t !== 'string' || hello.t !== l.token) {
        debug('link: a connection without a valid handshake was closed');
        socket.destroy();
        return;
      }
      // Acknowledge at the connecting peer's pace (its flow limits may differ from ours).
      l.owed.limits = flowFromWire(hello.fc) ?? l.owed.limits;
      this.#attach(l, socket, text.slice(nl + 1));
    };
    socket.on('data', onData);
  }

  #attach(l: Link, socket: Socket, rest = ''): void {
    if (l.timer) clearTimeout(l.timer);
    l.timer = null;
    l.socket = socket;
    l.state = 'open';
    socket.setNoDelay(true);
    socket.setEncoding('utf8');
    // Acks ride along with whatever else goes to the peer.
    // Past the socket's mark, frames wait in the outbox as they are (not as copies in its write
    // queue) until it drains: a slow peer costs this worker the window's frames, no more.
    l.outbox = new Outbox(lineChannel(socket), {
      extra: () => l.owed.take(),
      onDrain: (cb) =>
        socket.once('drain', () => {
          cb();
          this.#unpile(l);
        }),
    });
    const buffered = l.buffer;
    l.buffer = [];
    for (const { frame, bytes } of buffered) l.outbox.push(frame, bytes);
    // A line not ended yet, in pieces: joined once, when its newline comes (searching and
    // concatenating the whole of it for every chunk would take the square of its length).
    const pieces: string[] = [];
    let pending = 0;
    const max = l.window.limits.max.bytes * 2 + 1024 * 1024;
    const onData = (chunk: string): void => {
      // Most often one whole line (one call at a time): parsed as it is, without copies (JSON
      // allows the newline at its end).
      if (pending === 0 && chunk.length > 0 && chunk.indexOf('\n') === chunk.length - 1) {
        if (!this.#line(l, chunk)) socket.destroy();
        return;
      }
      let start = 0;
      let nl: number;
      while ((nl = chunk.indexOf('\n', start)) >= 0) {
        let line = chunk.slice(start, nl);
        if (pending > 0) {
          pieces.push(line);
          line = pieces.join('');
          pieces.length = 0;
          pending = 0;
        }
        start = nl + 1;
        if (!this.#line(l, line)) {
          socket.destroy();
          return;
        }
      }
      if (start === chunk.length) return;
      const rest = start === 0 ? chunk : chunk.slice(start);
      pieces.push(rest);
      pending += rest.length;
      if (pending > max) socket.destroy();
    };
    socket.on('data', onData);
    socket.on('close', () => {
      pieces.length = 0;
      this.#close(l);
    });
    socket.on('error', (err) => debug('link to %d: %s', l.pid, err.message));
    if (rest) onData(rest);
  }

  /** Gives up a link that did not open: its frames go routed, in order. */
  #fail(l: Link, why: string): void {
    debug('link to %d not opened (%s): routed', l.pid, why);
    if (l.timer) clearTimeout(l.timer);
    l.timer = null;
    l.state = 'closed';
    l.inflight.clear();
    this.#quiet?.();
    const buffered = l.buffer;
    l.buffer = [];
    l.window.disable();
    for (const { frame } of buffered) {
      if (frame.k === Kind.LinkMark) continue; // our end mark: there is no link to end
      // Calls keep the worker they were meant for; the Kingpin sends them there if it is ready.
      if (frame.k === Kind.Call) frame.t = l.pid;
      this.#host.routed(frame);
    }
  }

  /**
   * An open link closed: the peer exited (or misbehaved). Its pending calls fail when the
   * Kingpin's Down tells the exit code or signal (within a second: after that, without them).
   */
  #close(l: Link): void {
    if (l.state === 'closed') return;
    l.state = 'closed';
    l.socket?.destroy();
    l.deferred = [];
    l.window.disable();
    l.outbox?.clear();
    l.serving.clear();
    this.#host.gone(l.pid);
    this.#quiet?.();
    if (l.inflight.size === 0) return;
    // Retiring or not, how it exited decides: the Kingpin's Down tells. (A retiring one has
    // rarely anything pending here; without its Down, those calls would fail: wait longer.)
    l.timer = setTimeout(() => this.#settleClosed(l, null, null), l.retiring ? RETIRED_EXIT_WAIT_MS : EXIT_WAIT_MS);
    l.timer.unref();
  }

  /** Fails the calls still pending on a closed link. */
  #settleClosed(l: Link, code: number | null, signal: string | null): void {
    if (l.timer) clearTimeout(l.timer);
    l.timer = null;
    if (l.inflight.size === 0) return;
    // A retiring worker that exits as it should (code 0) answers every call it took before it
    // exits, and turns the others away: what is pending when its link closes never ran there,
    // and goes elsewhere. One killed while retiring (a signal, its killTimeout, a crash), or
    // whose exit is not known, may have run them: they fail, and only `retries` sends them again.
    const unrun = l.retiring && code === 0 && signal === null;
    const e = unrun
      ? serializeError(new ShutdownError(`worker ${l.pid} of role "${l.role}" retired; the call goes to another worker`))
      : serializeError(new WorkerExitedError(l.role, l.pid, code, signal));
    const y = unrun ? { y: 1 } : {};
    const ids = l.inflight.values();
    l.inflight.clear();
    for (const i of ids) this.#host.dispatch({ k: Kind.Fail, i, e, ...y });
  }

  // ---- receiving --------------------------------------------------------------------

  /** One line from a peer; false when it is not a mob envelope (the link is closed). */
  #line(l: Link, line: string): boolean {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      debug('link from %d: a line that is not JSON; closing', l.pid);
      return false;
    }
    if (!isMobMessage(msg)) return false;
    if (!l.markSeen) {
      if (l.early.length > l.window.limits.max.count) return false;
      l.early.push(msg.f);
      return true;
    }
    this.#handle(l, msg.f);
    return true;
  }

  #handle(l: Link, frames: unknown[]): void {
    if (l.state === 'closed') return;
    received.batches++;
    let due = false;
    for (let i = 0; i < frames.length; i++) {
      const fr = expandFrame(frames[i]);
      if (!isFrame(fr)) {
        due = l.owed.add(1, 0) || due;
        continue;
      }
      if (fr.k === Kind.Ack) {
        l.window.ack(fr);
        continue;
      }
      // What this worker writes to the peer piles up (the peer does not read its answers fast
      // enough): its calls, callback invocations and messages wait, in order, unacknowledged,
      // so that the peer is refused at its calls instead of this worker growing with answers.
      // Its answers, acks and frees still go on.
      if ((l.deferred.length > 0 || piled(l)) && DEFERRABLE.has(fr.k)) {
        if (l.deferred.length >= l.window.limits.max.count * 2) {
          // Not a mob peer's: a peer of mob's keeps within its window.
          debug('link from %d: %d frames wait and more come; closing', l.pid, l.deferred.length);
          this.#close(l);
          return;
        }
        // (Its outbox may empty without a drain: then the next turn takes the frames up.)
        if (l.deferred.length === 0) setImmediate(() => this.#unpile(l));
        l.deferred.push(fr);
        continue;
      }
      due = this.#one(l, fr) || due;
    }
    this.#ackIfDue(l, due);
  }

  /** Handles the frames that waited while writes to the peer piled up, while they do not. */
  #unpile(l: Link): void {
    if (l.deferred.length === 0 || l.state === 'closed') return;
    let due = false;
    let n = 0;
    while (n < l.deferred.length && !piled(l) && (l.state as LinkState) !== 'closed') due = this.#one(l, l.deferred[n++]!) || due;
    l.deferred = n === l.deferred.length ? [] : l.deferred.slice(n);
    this.#ackIfDue(l, due);
  }

  /** Sends the peer what it is owed, when an ack is due (a batch that left meanwhile may have carried it already). */
  #ackIfDue(l: Link, due: boolean): void {
    const ack = due && l.outbox ? l.owed.take() : undefined;
    if (ack) l.outbox!.push(ack);
  }

  /** Handles one frame from the peer (not an ack); true when an ack to it is due. */
  #one(l: Link, fr: Frame): boolean {
    const host = this.#host;
    const due = l.owed.add(1, frameBytes(fr));
    switch (fr.k) {
      case Kind.Call:
        if (typeof fr.i !== 'number') break;
        fr.p = l.pid;
        if (this.#closing || l.endSeen) {
          // Retiring: this call never runs here; the caller sends it elsewhere.
          const e = serializeError(new ShutdownError(`worker ${host.pid} is stopping; the call goes to another worker`));
          l.outbox?.push({ k: Kind.Fail, i: fr.i, e, y: 1 });
          break;
        }
        // (An id already being served is not a call of a mob peer's.)
        if (l.serving.has(fr.i) || l.serving.size >= MAX_SERVING) break;
        l.serving.add(fr.i);
        host.dispatch(fr);
        break;
      case Kind.LinkMark:
        // The peer heard that we retire: no more calls of its come over this link.
        l.endSeen = true;
        this.#quiet?.();
        break;
      case Kind.Return:
      case Kind.Fail:
        // Only an answer to a call of ours that went to this peer (a peer fails a call only
        // to turn it away): no forged answers.
        if (typeof fr.i !== 'number' || (fr.k === Kind.Fail && fr.y !== 1) || !l.inflight.delete(fr.i)) break;
        if (fr.k === Kind.Fail) l.retiring = true;
        host.dispatch(fr);
        break;
      case Kind.Invoke:
      case Kind.Free:
        fr.w = l.pid;
        host.dispatch(fr);
        break;
      case Kind.Message:
        if (fr.t !== Target.Pid || fr.p !== host.pid) break;
        fr.s = l.pid;
        host.dispatch(fr);
        break;
      default:
        debug('link from %d: a frame of kind %s ignored', l.pid, String(fr.k).slice(0, 16));
    }
    return due;
  }
}

