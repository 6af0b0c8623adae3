import cluster from 'node:cluster';
import { hostname } from 'node:os';
import { EventEmitter } from 'node:events';
import { Server as NetServer } from 'node:net';
import { debuglog } from 'node:util';
import { drainServers, trackServers } from './drain.js';
import { ConfigError, NoSuchRoleError, PayloadError, WrongProcessError, heldQueueFull } from './errors.js';
import { strategies } from './balance.js';
import { DEFAULT_FLOW, Window, flowFromWire, type Bound } from './flow.js';
import { IdMap } from './idmap.js';
import { DEFAULT_MAX_LINKS, Links, type LinkHost } from './link.js';
import { Reporter, type ReportPart } from './report.js';
import { Remotes, type RemoteWire } from './remote.js';
import { Outbox, type IpcChannel } from './outbox.js';
import { decodePayload, encodePayload, type Serialization } from './payload.js';
import {
  FLOW_VERSION,
  Kind,
  PROTOCOL_VERSION,
  REMOTE_BASE,
  Target,
  expandFrame,
  frameBytes,
  isFrame,
  isMobMessage,
  type Balance,
  type CallFrame,
  type Frame,
  type FrameOf,
  type MessageFrame,
  type RemoteFrame,
  type TargetKind,
  type Transport,
} from './protocol.js';
import { received } from './batches.js';

const debug = debuglog('mob');

/**
 * A listener of app messages: the payload, the handle that came with it, and the sender: its
 * pid (a number) on this host, or `'host/pid'` (a string) on another host of the mob.
 */
export type MessageListener = (message: any, handle: any, from: number | string) => void;
/** A listener of the shutdown event; a returned promise is awaited before the worker exits. */
export type ShutdownListener = () => unknown;

/** Events of the worker side. */
export interface WorkerEvents {
  message: MessageListener;
  shutdown: ShutdownListener;
}

/** Something that takes a message to one or more workers. */
export interface Sender {
  /**
   * Send `message` (and optionally a `net.Socket` / `net.Server` handle). Returns false when
   * this worker's path is over its high-water mark (the message is still sent: slow down,
   * `await drain()`); throws QueueFullError, sending nothing, beyond the path's hard bound.
   * @example
   * if (!mob.any('back').send({ job: 1 })) await mob.drain();
   */
  send(message: unknown, handle?: unknown): boolean;
}

/** A ready worker as this worker's calls choose it: its pid and our calls pending there. */
interface Candidate {
  readonly pid: number;
  readonly inflight: { size: number };
}

/** What a worker knows of a role from the Kingpin's Members frames. */
interface Membership {
  /** its ready workers, on every host */
  ready: Candidate[];
  /** those on this host */
  local: Candidate[];
  /** its locality is 'any': calls spread over every host's workers */
  anyHost: boolean;
  /** its held-queue bounds [frames, bytes] */
  q: number[];
  /** frames this worker sent it while it had no ready worker, and their bytes */
  heldN: number;
  heldB: number;
  /** its balancing strategy, and the round-robin cursor of our calls to it */
  balance: Balance;
  rr: number;
}

interface State {
  readonly role: string;
  roles: ReadonlySet<string> | null;
  readonly outbox: Outbox;
  readonly events: EventEmitter;
  readonly handlers: Map<number, (frame: any, handle?: unknown) => void>;
  readonly drains: (() => unknown)[];
  readonly serialization: Serialization;
  readonly transport: Transport;
  /** frames sent to the Kingpin and not yet acknowledged */
  readonly window: Window;
  readonly members: Map<string, Membership>;
  /** direct links to other workers (null: links are off) */
  readonly links: Links | null;
  /** direct paths to other hosts' workers (made when the Kingpin introduces the first) */
  remotes: Remotes | null;
  /** across hosts: the broker's largest message in bytes, which a message that may cross must fit (0: one host) */
  remoteMax: number;
  /** per worker, our calls pending there (least-pending); per call id, the counter it is in */
  readonly pendingAt: Map<number, { size: number }>;
  readonly callAt: IdMap<{ size: number }>;
  readonly reporter: Reporter;
  ready: boolean;
  stopping: boolean;
  /** a full stop's first phase: the shutdown listeners, then the servers (null until told) */
  quieting: Promise<void> | null;
  /** the shutdown listeners that have run (each runs once, in whichever phase it was there) */
  readonly ran: Set<unknown>;
}

// One state per process, even if two copies of this package are loaded.
const KEY = Symbol.for('mob-messaging.worker');
/** How long a retiring worker waits, at most, for its linked peers to say their last call has left. */
const QUIESCE_MS = 1000;
type WithState = typeof globalThis & { [KEY]?: State };

function state(what: string): State {
  const existing = (globalThis as WithState)[KEY];
  if (existing) return existing;
  if (typeof process.send !== 'function' || cluster.isPrimary) {
    throw new WrongProcessError(
      `${what} runs in a worker (a Mobster), not in the primary: the Kingpin runs no application code. ` +
        `Put this call in a role module (or, with mob-messaging alone, in code that runs in a cluster worker)`,
    );
  }
  return ((globalThis as WithState)[KEY] = init());
}

function init(): State {
  // Node does not tell a child how its channel serializes; the Kingpin passes it along (with
  // mob-messaging alone, fork with MOB_SERIALIZATION=advanced next to `serialization`).
  const serialization: Serialization = process.env.MOB_SERIALIZATION === 'advanced' ? 'advanced' : 'json';
  const outbox = new Outbox(process as unknown as IpcChannel);
  const events = new EventEmitter();
  const handlers = new Map<number, (frame: any, handle?: unknown) => void>();
  const envRoles = process.env.MOB_ROLES;
  const window = new Window(DEFAULT_FLOW, 'the path to the Kingpin');
  const members = new Map<string, Membership>();
  const linkHost: LinkHost = {
    pid: process.pid,
    flow: () => window.limits,
    routed: (frame) => void enqueue(s, frame),
    dispatch: (frame) => dispatch(s, frame, undefined),
    stopping: () => s.stopping,
    gone: (pid) => forget(s, pid),
  };
  // Links carry JSON: with the advanced serialization, every frame goes through the Kingpin.
  const linkDir = serialization === 'json' ? process.env.MOB_LINK_DIR : undefined;
  const s: State = {
    role: process.env.MOB_ROLE ?? '',
    roles: envRoles ? new Set(envRoles.split(',').filter(Boolean)) : null,
    outbox,
    events,
    handlers,
    drains: [],
    serialization,
    window,
    members,
    links: linkDir ? new Links(linkHost, linkDir, Number(process.env.MOB_LINKS_MAX) || DEFAULT_MAX_LINKS) : null,
    remotes: null,
    remoteMax: 0,
    pendingAt: new Map(),
    callAt: new IdMap(),
    reporter: new Reporter(() => s.links?.size ?? 0),
    ready: false,
    stopping: false,
    quieting: null,
    ran: new Set(),
    transport: {
      pid: process.pid,
      post: (frame, bytes) => postFrame(s, frame, bytes),
      flush: () => outbox.flush(),
      handle: (kind, handler) => {
        // The Kingpin's Remote frame: mob-messaging takes the broker's bound, then the handler.
        const learning = (fr: RemoteFrame): void => {
          learnRemote(s, fr);
          handler(fr as never);
        };
        handlers.set(kind, kind === Kind.Remote ? learning : handler);
      },
      encode: (value, where, owned) => encodePayload(value, where, serialization, owned),
      decode: (payload) => decodePayload(payload, serialization),
      get batch() {
        return received.batches;
      },
    },
  };
  handlers.set(Kind.Message, (fr: MessageFrame, handle?: unknown) => {
    let data: unknown;
    try {
      data = decodePayload(fr.d, serialization);
    } catch (err) {
      debug('undecodable message from %s dropped: %s', String(fr.s), (err as Error).message);
      return;
    }
    events.emit('message', data, handle, fr.s);
  });
  handlers.set(Kind.Welcome, (fr: FrameOf<typeof Kind.Welcome>) => {
    if (Array.isArray(fr.roles)) s.roles = new Set(fr.roles.filter((r) => typeof r === 'string'));
    // A Kingpin of protocol 1 acknowledges nothing: no window, or it would only fill.
    if (typeof fr.v !== 'number' || fr.v < FLOW_VERSION) window.disable();
    const limits = flowFromWire(fr.fc);
    if (limits) window.limits = limits;
  });
  handlers.set(Kind.Ack, (fr: FrameOf<typeof Kind.Ack>) => window.ack(fr));
  handlers.set(Kind.Members, (fr: FrameOf<typeof Kind.Members>) => {
    if (typeof fr.r !== 'string' || !Array.isArray(fr.p) || !Array.isArray(fr.q)) return;
    const ready = fr.p.filter((p) => Number.isInteger(p) && p > 0).map((pid) => candidate(s, pid));
    const local = ready.filter((c) => c.pid < REMOTE_BASE);
    const anyHost = fr.l === 1;
    const q = fr.q.length === 2 && fr.q.every((n) => Number.isInteger(n) && n > 0) ? fr.q : [Infinity, Infinity];
    const balance: Balance = fr.b === 'least-pending' ? 'least-pending' : 'round-robin';
    if (Array.isArray(fr.g)) {
      for (const pid of fr.g) {
        if (typeof pid !== 'number') continue;
        s.links?.retiring(pid);
        s.remotes?.retiring(pid);
      }
    }
    const m = members.get(fr.r);
    if (m) {
      m.ready = ready;
      m.local = local;
      m.anyHost = anyHost;
      m.q = q;
      m.balance = balance;
      // What was held for the role has been delivered once it has a ready worker.
      if (ready.length > 0) m.heldN = m.heldB = 0;
    } else members.set(fr.r, { ready, local, anyHost, q, heldN: 0, heldB: 0, balance, rr: 0 });
  });
  // Workers of other hosts: with the JSON serialization, calls to them may go directly.
  if (serialization === 'json') handlers.set(Kind.Alias, (fr: FrameOf<typeof Kind.Alias>) => remotes(s).alias(fr));
  if (s.links) {
    const links = s.links;
    handlers.set(Kind.Link, (fr: FrameOf<typeof Kind.Link>) => links.onLink(fr));
    handlers.set(Kind.LinkMark, (fr: FrameOf<typeof Kind.LinkMark>) => links.onMark(fr));
  }
  handlers.set(Kind.Shutdown, (fr: FrameOf<typeof Kind.Shutdown>) => void (fr.q === 1 ? quiet(s) : shutdown(s, fr.t)));
  // The Kingpin wants fresh figures (a scrape, a status): they leave with this turn's frames.
  handlers.set(Kind.Report, () => report(s));
  handlers.set(Kind.Remote, (fr: RemoteFrame) => learnRemote(s, fr));

  // mob's frames are taken before Node emits them as 'message': the app's own
  // process.on('message') listeners never see them, and the app's messages pass untouched.
  const emit = process.emit.bind(process) as (event: string | symbol, ...args: unknown[]) => boolean;
  process.emit = function (event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'message' && isMobMessage(args[0])) {
      receive(s, args[0].f, args[1]);
      return true;
    }
    return emit(event, ...args);
  } as typeof process.emit;

  trackServers();
  // Alone (no Kingpin), a worker is ready once the code that first used mob has run. The
  // tick is queued before the outbox's (the hello's push queues one), so 'ready' leaves in
  // the same batch as the frames that code sends: nobody can answer this worker before the
  // router routes to it.
  if (!process.env.MOB_KINGPIN) process.nextTick(ready);
  // Say hello before anything else: the Kingpin sends nothing until it hears from us.
  enqueue(s, { k: Kind.Hello, r: s.role, v: PROTOCOL_VERSION, q: 1 });
  outbox.flush();
  return s;
}

function receive(s: State, frames: unknown[], handle: unknown): void {
  received.batches++;
  for (let i = 0; i < frames.length; i++) {
    const fr = expandFrame(frames[i]);
    if (isFrame(fr)) dispatch(s, fr, i === 0 ? handle : undefined);
  }
}

/** This worker's direct paths to other hosts' workers, made on first use. */
function remotes(s: State): Remotes {
  return (s.remotes ??= new Remotes({
    pid: process.pid,
    host: hostName(),
    flow: () => s.window.limits,
    dispatch: (frame) => dispatch(s, frame, undefined),
    stopping: () => s.stopping,
  }));
}

/** One frame, from the Kingpin or over a link, to its handler. */
function dispatch(s: State, fr: Frame, handle: unknown): void {
  if (s.links || s.remotes) {
    if ((fr.k === Kind.Return || fr.k === Kind.Fail) && s.callAt.size > 0) {
      const at = s.callAt.get(fr.i);
      if (at) {
        at.size--;
        s.callAt.delete(fr.i);
      }
    } else if (fr.k === Kind.Down && typeof fr.p === 'number') {
      if (fr.p >= REMOTE_BASE) s.remotes?.down(fr);
      else s.links?.down(fr.p, typeof fr.c === 'number' ? fr.c : null, typeof fr.s === 'string' ? fr.s : null);
      forget(s, fr.p);
      s.pendingAt.delete(fr.p);
    }
  }
  const handler = s.handlers.get(fr.k);
  if (!handler) {
    debug('frame of unknown kind %s ignored', String(fr.k).slice(0, 32));
    return;
  }
  try {
    handler(fr, handle);
  } catch (err) {
    // An app listener threw: that is the app's uncaught error, not a frame problem.
    process.nextTick(() => {
      throw err;
    });
  }
}

function candidate(s: State, pid: number): Candidate {
  let inflight = s.pendingAt.get(pid);
  if (!inflight) s.pendingAt.set(pid, (inflight = { size: 0 }));
  return { pid, inflight };
}

/** Worker `pid` is gone or going: our calls choose it no more. */
function forget(s: State, pid: number): void {
  for (const m of s.members.values()) {
    for (const list of [m.ready, m.local]) {
      const at = list.findIndex((c) => c.pid === pid);
      if (at >= 0) list.splice(at, 1);
    }
  }
}

/** `call role.method()`, made once per role and method (at most 1000 of each): what a refusal names. */
const callWheres = new Map<string, Map<string, string>>();
function callWhere(role: string, method: string): string {
  const byMethod = callWheres.get(role);
  let where = byMethod?.get(method);
  if (where !== undefined) return where;
  where = `call ${role}.${method || '(module)'}()`;
  if (byMethod) {
    if (byMethod.size < 1000) byMethod.set(method, where);
  } else if (callWheres.size < 1000) callWheres.set(role, new Map([[method, where]]));
  return where;
}

/**
 * A frame of mob-proxy's or mob-callbacks' (the transport's post). With links on, a call
 * goes to a ready worker this worker chooses, over their link when there is one (made on the
 * first call); answers, callback invocations and frees for a linked worker take the link too.
 * Everything else, and all of it with links off, goes through the Kingpin.
 */
function postFrame(s: State, frame: Frame, bytes = frameBytes(frame)): boolean {
  if (frame.k === Kind.Call) {
    const where = callWhere(frame.r, frame.m);
    const m = s.links || s.remotes ? s.members.get(frame.r) : undefined;
    if (m && m.ready.length > 0) return callVia(s, m, frame, where, bytes);
    return enqueue(s, frame, where, frame.r, undefined, bytes);
  }
  const where = frame.k === Kind.Invoke ? 'callback' : undefined;
  if (frame.k === Kind.Return || frame.k === Kind.Invoke || frame.k === Kind.Free) {
    const sent = frame.p >= REMOTE_BASE ? s.remotes?.send(frame.p, frame, where, bytes) : s.links?.send(frame.p, frame, where, undefined, bytes);
    if (sent !== undefined) return sent;
  }
  return enqueue(s, frame, where, undefined, undefined, bytes);
}

function callVia(s: State, m: Membership, frame: CallFrame, where: string, bytes: number): boolean {
  if (frame.t !== undefined) delete frame.t; // a call sent again chooses again
  const balance = frame.b ?? m.balance;
  // 'prefer-local': this host's workers while the role has ready ones here. The proxy's
  // locality (l: 1 'any', 2 'prefer-local') goes over the role's.
  const anyHost = frame.l === undefined ? m.anyHost : frame.l === 1;
  const pool = anyHost || m.local.length === 0 ? m.ready : m.local;
  const chosen = strategies[balance](pool, m);
  // Least-pending counts this worker's calls in flight per worker (round-robin needs no count),
  // from before the call leaves: its answer may come while it is sent (a frame too big for the
  // broker fails at once), and uncounts it.
  const counted = balance === 'least-pending';
  if (counted) {
    chosen.inflight.size++;
    s.callAt.set(frame.i, chosen.inflight);
  }
  try {
    const sent = chosen.pid >= REMOTE_BASE ? s.remotes?.send(chosen.pid, frame, where, bytes) : s.links?.send(chosen.pid, frame, where, frame.r, bytes);
    if (sent !== undefined) return sent;
    // No link to it (itself, too many links, or its link failed): through the Kingpin, to it.
    frame.t = chosen.pid;
    return enqueue(s, frame, where, frame.r, undefined, bytes);
  } catch (err) {
    // Refused at its call: it is not in flight.
    if (counted && s.callAt.get(frame.i) === chosen.inflight) {
      chosen.inflight.size--;
      s.callAt.delete(frame.i);
    }
    throw err;
  }
}

/**
 * A full stop's first phase: the shutdown listeners run and the servers close while every role
 * still serves (a request in flight may still call another role), then the Kingpin is told.
 * It retires every worker once all have said so.
 */
async function quiet(s: State): Promise<void> {
  if (s.stopping || s.quieting) return;
  // Set before the listeners run: whoami().stopping is true inside them.
  let quieted!: () => void;
  s.quieting = new Promise((resolve) => (quieted = resolve));
  await Promise.allSettled(runListeners(s));
  debug('stopping: listeners done; closing servers');
  await drainServers();
  quieted();
  debug('stopping: quiet; telling the Kingpin');
  enqueue(s, { k: Kind.Shutdown, q: 1 });
}

/** Runs the shutdown listeners that have not run yet (one added after the first phase runs at the retirement). */
function runListeners(s: State): unknown[] {
  const waits: unknown[] = [];
  for (const fn of s.events.listeners('shutdown')) {
    if (s.ran.has(fn)) continue;
    s.ran.add(fn);
    try {
      waits.push((fn as ShutdownListener)());
    } catch (err) {
      debug('shutdown listener threw: %s', (err as Error).message);
    }
  }
  return waits;
}

async function shutdown(s: State, timeout: number | undefined): Promise<void> {
  if (s.stopping) return;
  s.stopping = true;
  // Calls that linked workers sent before they heard that this one retires are served, as
  // routed ones are: each says when its last has left (bounded, for a peer that never says).
  const quiesceMs = typeof timeout === 'number' && timeout > 0 ? Math.min(QUIESCE_MS, timeout / 4) : QUIESCE_MS;
  // After a full stop's first phase its listeners have run: each runs once.
  const waits: unknown[] = [s.links?.quiesce(quiesceMs), s.quieting, ...runListeners(s)];
  await Promise.allSettled(waits);
  debug('shutdown: listeners done; draining servers and calls');
  // Servers stop and answer what they have while running calls finish.
  await Promise.allSettled([drainServers(), ...s.drains.map((fn) => fn())]);
  debug('shutdown: drained; flushing');
  // The last figures (calls served since the last report count in the role's totals).
  report(s);
  // Answers must be written before the channel closes.
  await Promise.all([new Promise<void>((resolve) => s.outbox.flush(() => resolve())), s.links?.flush(), s.remotes?.flush()]);
  debug('shutdown: flushed; disconnecting');
  const worker = cluster.worker;
  // cluster's disconnect closes this worker's servers (finishing open requests) first.
  if (worker) worker.once('disconnect', () => process.exit(0)).disconnect();
  else process.exit(0);
}

function checkRole(s: State, role: unknown, where: string): string {
  if (typeof role !== 'string' || role === '') {
    throw new ConfigError(`${where}: role must be a non-empty string, got ${JSON.stringify(role)}`);
  }
  if (s.roles && !s.roles.has(role)) throw new NoSuchRoleError(role, [...s.roles]);
  return role;
}

/**
 * Every frame this worker sends goes here: it is counted in the window until the Kingpin
 * acknowledges it. `where` (calls, messages, callback invocations) makes it refusable at the
 * window's hard bound; `held`, a role: a call or any() message to a role the Kingpin says has
 * no ready worker is held there within the role's queue bounds, and refused here beyond them.
 * Returns false when the window is over its high-water mark.
 */
function enqueue(s: State, frame: Frame, where?: string, held?: string, handle?: unknown, bytes = frameBytes(frame)): boolean {
  const m = held === undefined ? undefined : s.members.get(held);
  const holding = m !== undefined && m.ready.length === 0;
  if (holding && (m.heldN + 1 > m.q[0]! || m.heldB + bytes > m.q[1]!)) {
    s.window.refused++;
    throw heldQueueFull(held!, m.heldN, m.heldB, m.q[0]!, m.q[1]!, where);
  }
  const below = s.window.take(bytes, where !== undefined, where ?? '');
  if (holding) {
    m.heldN++;
    m.heldB += bytes;
  }
  if (handle === undefined) s.outbox.push(frame, bytes);
  else s.outbox.pushHandle(frame, handle);
  return below;
}

function post(s: State, t: TargetKind, extra: { r?: string; p?: number | string }, message: unknown, handle: unknown, where: string): boolean {
  if (message === undefined) throw new PayloadError(`${where}: message is undefined; send a value`);
  if (handle instanceof NetServer) checkServer(handle, where);
  let d: unknown;
  try {
    d = encodePayload(message, 'message', s.serialization);
  } catch (err) {
    if (err instanceof PayloadError) err.message = `${where}: ${err.message}`;
    throw err;
  }
  const frame: MessageFrame = { k: Kind.Message, t, ...extra, d };
  const bytes = frameBytes(frame);
  // Across hosts, a message that may go to another host must fit the broker's bound: pid() of
  // another host's worker, send(), and any() and all() unless, as far as this worker knows,
  // the Kingpin delivers them on this host only. One with a handle never leaves it.
  const alone = handle === undefined || handle === null;
  if (s.remoteMax > 0 && alone && typeof d === 'string' && !surelyFits(s.remoteMax, d) && mayCross(s, t, extra)) tooBigToCross(s.remoteMax, d, where);
  if (t === Target.Pid && s.links && alone && typeof extra.p === 'number') {
    const sent = s.links.send(extra.p, frame, where, undefined, bytes);
    if (sent !== undefined) return sent;
  }
  // A frame for many workers is one frame here: taken or refused as a whole.
  return enqueue(s, frame, where, t === Target.Any ? extra.r : undefined, alone ? undefined : detach(handle), bytes);
}

/**
 * Whether a message may leave this host, from the membership the Kingpin last told this
 * worker: `any(role)` stays here while the role has ready workers here and prefers them
 * (prefer-local, its default), or has none elsewhere; `all(role)` while it has no ready worker
 * elsewhere. A role with no ready worker yet may get one anywhere. `send()` goes to every
 * worker of every host, whatever its role: it may always leave.
 */
function mayCross(s: State, t: TargetKind, extra: { r?: string; p?: number | string }): boolean {
  if (t === Target.Pid) return typeof extra.p === 'string' || (extra.p ?? 0) >= REMOTE_BASE;
  if (t !== Target.Any && t !== Target.All) return true;
  const m = typeof extra.r === 'string' ? s.members.get(extra.r) : undefined;
  if (!m || m.ready.length === 0) return true;
  let here = false;
  let away = false;
  for (const c of m.ready) {
    if (c.pid >= REMOTE_BASE) away = true;
    else here = true;
  }
  return t === Target.All ? away : away && (m.anyHost || !here);
}

/** Across hosts: the broker's bound on a message, from the Kingpin's Remote frame. */
function learnRemote(s: State, fr: RemoteFrame): void {
  if (typeof fr.x === 'number' && Number.isInteger(fr.x) && fr.x > 0) s.remoteMax = fr.x;
}

/** Room left in a broker message for what travels with a frame (the batch's envelope, the frame's fields). */
const CROSS_ENVELOPE = 1024;

/**
 * True when `payload` fits one message of the broker's (`max` bytes) whatever its characters:
 * through the Kingpins, it travels as a JSON string, its quotes and backslashes escaped, a
 * control character as \uXXXX (6 bytes), any other as its UTF-8 (at most 3 per UTF-16 unit).
 */
function surelyFits(max: number, payload: string): boolean {
  return payload.length * 6 <= max - CROSS_ENVELOPE;
}

/** Throws PayloadError at the call when `payload`, measured, cannot fit one message of the broker's (`max` bytes). */
function tooBigToCross(max: number, payload: string, where: string): void {
  const room = max - CROSS_ENVELOPE;
  const size = Buffer.byteLength(JSON.stringify(payload)) - 2;
  if (size <= room) return;
  throw new PayloadError(
    `${where}: the message takes ${size} bytes, and a message that may go to another host must fit the NATS server's max_payload ` +
      `(${max} bytes, less ${CROSS_ENVELOPE} for mob's envelope); send less, or raise max_payload on the server`,
  );
}

/**
 * A server can go to another worker only as a TCP server with a socket of its own. One that
 * listens through the cluster (the primary holds its socket) has a stand-in handle, and
 * sending it crashes Node itself (SIGSEGV); one that does not listen has none; one on a Unix
 * path cannot be listened on again in a cluster worker (EEXIST, an 'error' that ends it).
 */
function checkServer(server: NetServer, where: string): void {
  const h = (server as unknown as { _handle?: { getAsyncId?: unknown } | null })._handle;
  if (!h) throw new PayloadError(`${where}: the net.Server handle is not listening; call listen() first and send it once it listens`);
  // Node's own handles (TCP, Pipe) have getAsyncId; the cluster's stand-in does not.
  if (typeof h.getAsyncId !== 'function') {
    throw new PayloadError(
      `${where}: this net.Server listens through the cluster (the primary holds its socket), so it cannot be sent: ` +
        `Node would crash. Listen with { exclusive: true } to send it, or listen in every worker that serves (the cluster shares the port)`,
    );
  }
  const address = server.address();
  if (typeof address === 'string') {
    throw new PayloadError(
      `${where}: this net.Server listens on a Unix path (${address}); a worker cannot listen on it again (EEXIST). ` +
        `Send the sockets it accepts instead, or a TCP server listening with { exclusive: true }`,
    );
  }
}

/**
 * A socket accepted by a server of this worker leaves it for good. Sent as is, Node would
 * have the server track it through the Kingpin, which only relays it, and the server's
 * close() (as on shutdown) would then wait forever for the Kingpin to report it closed.
 */
function detach(handle: unknown): unknown {
  const socket = handle as { server?: { _connections: number; _emitCloseIfDrained?: () => void } | null; _server?: unknown };
  const server = socket.server;
  if (server && typeof server._connections === 'number') {
    socket.server = null;
    socket._server = null;
    server._connections--;
    server._emitCloseIfDrained?.();
  }
  return handle;
}

/**
 * Sends a message to every ready worker of every role, this one included.
 *
 * @example
 * import { send } from 'mob-messaging';
 * send({ type: 'config-changed' });
 */
export function send(message: unknown, handle?: unknown): boolean {
  return post(state('send()'), Target.Every, {}, message, handle, 'send()');
}

/**
 * Addresses every ready worker of `role`.
 *
 * @example
 * import { all } from 'mob-messaging';
 * all('back').send({ type: 'flush' });
 */
export function all(role: string): Sender {
  const s = state('all()');
  const r = checkRole(s, role, 'all(role)');
  return { send: (message, handle) => post(s, Target.All, { r }, message, handle, `all("${r}").send()`) };
}

/**
 * Addresses one ready worker of `role`, round-robin. Held by the Kingpin while the role has
 * no ready worker, and delivered when one is ready.
 *
 * @example
 * import { any } from 'mob-messaging';
 * any('back').send({ job: 42 });
 */
export function any(role: string): Sender {
  const s = state('any()');
  const r = checkRole(s, role, 'any(role)');
  return { send: (message, handle) => post(s, Target.Any, { r }, message, handle, `any("${r}").send()`) };
}

/**
 * Addresses the worker whose pid is `pid` (dropped, with a debug line, if it is not alive):
 * a number on this host, or `'host/pid'` for a worker on another host of the mob (as a
 * message listener's `from` gives it). Handles cannot go to another host: such a send throws.
 *
 * @example
 * import { on, pid } from 'mob-messaging';
 * on('message', (msg, _handle, from) => pid(from).send({ echo: msg }));
 */
export function pid(target: number | string): Sender {
  const s = state('pid()');
  const where = `pid(${JSON.stringify(target)}).send()`;
  let p: number | string = target;
  if (typeof target === 'string') {
    const m = /^(.+)\/([1-9][0-9]{0,9})$/.exec(target);
    if (!m) throw new ConfigError(`pid(pid): a worker on another host is 'host/pid' (as a message's from gives it), got ${JSON.stringify(target)}`);
    if (m[1] === hostName()) p = Number(m[2]);
  } else if (!Number.isInteger(target) || target <= 0) {
    throw new ConfigError(`pid(pid): pid must be a positive integer or 'host/pid', got ${JSON.stringify(target)}`);
  }
  return {
    send: (message, handle) => {
      if (typeof p === 'string' && handle !== undefined && handle !== null) {
        throw new ConfigError(`${where}: a handle cannot go to another host (${p}); send it to a worker of this host`);
      }
      return post(s, Target.Pid, { p }, message, handle, where);
    },
  };
}

/** This worker's host: `MOB_HOST` (set by the Kingpin) or the machine's hostname. */
function hostName(): string {
  return process.env.MOB_HOST || hostname();
}

/**
 * Resolves once every path of this worker is below its high-water mark again (at once if it
 * is): the `'drain'` of a `send()` that returned false. The paths are the one to the Kingpin,
 * each direct link and each path to a worker of another host. Their other ends acknowledge
 * frames as they take them, so a slow receiver slows its senders here.
 *
 * @example
 * import { any, drain } from 'mob-messaging';
 * for (const job of jobs) if (!any('back').send(job)) await drain();
 */
export async function drain(): Promise<void> {
  const s = state('drain()');
  // One window at a time: another may have gone over meanwhile.
  for (let w = overWindow(s); w; w = overWindow(s)) await w.drain();
}

/** The first of this worker's windows (Kingpin, links, other hosts) over its high-water mark. */
function overWindow(s: State): Window | undefined {
  return s.window.over ? s.window : (s.links?.over() ?? s.remotes?.over());
}

/**
 * What this worker's path holds: frames (and bytes) sent and not yet acknowledged, the
 * bounds, and how many calls, messages and callback invocations were refused at their call;
 * the direct links open; and in a mob over several hosts, how many workers of other hosts
 * this one reaches directly over the broker and how many frames it sent them that way.
 *
 * @example
 * import { flowStats } from 'mob-messaging';
 * const { count, highWater, refused } = flowStats();
 */
export function flowStats(): { count: number; bytes: number; highWater: Bound; max: Bound; refused: number; links: number; remote: { workers: number; sent: number } } {
  const s = state('flowStats()');
  const w = s.window;
  const remote = { workers: s.remotes?.size ?? 0, sent: s.remotes?.sent ?? 0 };
  // Refused on any path: to the Kingpin, over a link, to another host's worker.
  const refused = w.refused + (s.links?.refused ?? 0) + (s.remotes?.refused ?? 0);
  return { count: w.count, bytes: w.bytes, highWater: { ...w.limits.highWater }, max: { ...w.limits.max }, refused, links: s.links?.size ?? 0, remote };
}

/**
 * Listens to app messages (`'message'`) or to the Kingpin's request to stop (`'shutdown'`;
 * return a promise to finish work first).
 *
 * @example
 * import { on } from 'mob-messaging';
 * on('message', (msg, handle, from) => console.log(msg, 'from', from));
 * on('shutdown', () => new Promise((done) => server.close(done)));
 */
export function on<E extends keyof WorkerEvents>(event: E, listener: WorkerEvents[E]): void {
  state('on()').events.on(checkEvent(event), listener);
}

/**
 * Removes a listener added with `on`.
 *
 * @example
 * import { off, on } from 'mob-messaging';
 * const fn = (msg) => console.log(msg);
 * on('message', fn);
 * off('message', fn);
 */
export function off<E extends keyof WorkerEvents>(event: E, listener: WorkerEvents[E]): void {
  state('off()').events.off(checkEvent(event), listener);
}

function checkEvent(event: unknown): string {
  if (event !== 'message' && event !== 'shutdown') {
    throw new ConfigError(`on(event): unknown event ${JSON.stringify(event)}; use 'message' or 'shutdown'`);
  }
  return event;
}

/**
 * Tells the Kingpin this worker is ready to receive routed messages and calls. Called for
 * you: by the Kingpin's worker once the role module has loaded (top-level `await`
 * included), or, with mob-messaging alone, once the code that first used it has run.
 * Calling it again does nothing.
 *
 * @example
 * import { ready } from 'mob-messaging';
 * ready(); // e.g. from a custom worker entry that loads its module itself
 */
export function ready(): void {
  const s = state('ready()');
  if (s.ready) return;
  s.ready = true;
  enqueue(s, { k: Kind.Ready });
  // Under a Kingpin, the worker's figures from its first listing on, then once a second.
  if (process.env.MOB_KINGPIN && process.env.MOB_STATS !== '0') {
    report(s);
    setInterval(() => report(s), REPORT_MS).unref();
  }
}

/** How often a worker reports its figures to the Kingpin. */
const REPORT_MS = 1000;

/** This worker's figures, to the Kingpin with this turn's frames (see Reporter). */
function report(s: State): void {
  enqueue(s, s.reporter.frame());
}

/**
 * Adds figures to this worker's reports to the Kingpin (once a second, and when it asks):
 * mob's dispatcher adds the calls it served per export.
 *
 * @example
 * import { onReport } from 'mob-messaging';
 * onReport(() => ({ running: dispatcher.running, exports: dispatcher.figures() }));
 */
export function onReport(part: () => ReportPart): void {
  state('onReport()').reporter.add(part);
}

/**
 * This worker's transport: what mob-proxy and mob-callbacks use to reach other processes.
 *
 * @example
 * import { transport } from 'mob-messaging';
 * const t = transport();
 * t.post({ k: Kind.Scale, n: 1 });
 */
export function transport(): Transport {
  return state('transport()').transport;
}

/**
 * Registers work to finish before the worker exits on shutdown (after the app's
 * 'shutdown' listeners): the proxy's dispatcher waits here for running calls.
 *
 * @example
 * import { beforeExit } from 'mob-messaging';
 * beforeExit(() => dispatcher.idle());
 */
export function beforeExit(fn: () => unknown): void {
  state('beforeExit()').drains.push(fn);
}

/**
 * Gives this worker a broker connection to other hosts' workers (mob-nats calls it in each
 * worker when the Kingpin sends the Remote frame): calls to a worker of another host, and
 * answers and callback invocations to one, go over it directly instead of through the
 * Kingpins. Call it once subscribed to this worker's subject: it tells the Kingpin, and the
 * other hosts' workers send here directly from then on. Returns what to call with each
 * message that arrives on that subject.
 *
 * @example
 * import { connectRemote } from 'mob-messaging';
 * const receive = connectRemote(wire);
 * nc.subscribe(mySubject, { callback: (_err, msg) => receive(msg.string()) });
 */
export function connectRemote(wire: RemoteWire): (text: string) => void {
  const s = state('connectRemote()');
  if (s.serialization !== 'json') throw new ConfigError('connectRemote(): frames cross hosts as JSON; this worker uses the advanced serialization');
  const r = remotes(s);
  r.attach(wire);
  // Subscribed: the Kingpin tells the other hosts, whose workers then send here directly.
  enqueue(s, { k: Kind.Remote });
  return (text) => {
    try {
      r.receive(text);
    } catch (err) {
      // Nothing the broker brings may crash the worker.
      debug('remote: a message dropped: %s', (err as Error).message);
    }
  };
}

/**
 * This worker lost its broker connection (mob-nats calls it): the calls pending on other
 * hosts' workers over its direct paths fail with WorkerExitedError naming the host and
 * `reason`, since their frames or answers may be lost.
 *
 * @example
 * import { interruptRemote } from 'mob-messaging';
 * interruptRemote('this worker lost the NATS server');
 */
export function interruptRemote(reason: string): void {
  state('interruptRemote()').remotes?.interrupt(reason);
}

/**
 * This worker's role, pid and host (`MOB_HOST`, else the machine's hostname), and whether the
 * Kingpin is stopping it.
 *
 * @example
 * import { whoami } from 'mob-messaging';
 * console.log(whoami().role, whoami().host);
 */
export function whoami(): { role: string; pid: number; host: string; stopping: boolean } {
  const s = state('whoami()');
  return { role: s.role, pid: process.pid, host: hostName(), stopping: s.stopping || s.quieting !== null };
}

