import nodeCluster, { type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import { strategies } from './balance.js';
import { ConfigError, NoSuchRoleError, ShutdownError, WorkerExitedError, heldQueueFull, serializeError } from './errors.js';
import { DEFAULT_FLOW, Owed, flowLimits, flowToWire, type FlowLimits } from './flow.js';
import { IdSet } from './idmap.js';
import { DEFAULT_BATCH, Outbox, type BatchLimits, type Origin } from './outbox.js';
import { HostState, type HostLink, type RemoteHost } from './hosts.js';
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
  type Locality,
  type ReportFrame,
  type FrameOf,
  type CrashReport,
  type Frame,
  type MembersFrame,
  type MessageFrame,
  type AliasFrame,
  type DownFrame,
  type SerializedError,
} from './protocol.js';

const debug = debuglog('mob');

/** A worker's state as the router sees it. */
export type WorkerState = 'starting' | 'ready' | 'stopping' | 'dead';

/** A worker, as `router.workers()` lists it. */
export interface WorkerInfo {
  /** cluster worker id */
  id: number;
  pid: number;
  role: string;
  state: WorkerState;
  /** calls routed to it and not answered yet */
  pendingCalls: number;
}

/** Bounds of what is held for a role that has no ready worker. */
export interface QueueLimits {
  /** frames (default 10,000) */
  count: number;
  /** payload characters (default 64 MiB) */
  bytes: number;
}

export const DEFAULT_QUEUE: QueueLimits = { count: 10_000, bytes: 64 * 1024 * 1024 };

/** Options of createRouter. */
export interface RouterOptions {
  /** The roles the app defines. Sends to other roles fail at once; unset, any name is accepted. */
  roles?: readonly string[];
  /** Default balancing strategy of calls (default 'round-robin'). */
  balance?: Balance;
  /** Bounds of held frames, per role. */
  queue?: Partial<QueueLimits>;
  /** Batch caps of the Kingpin's outgoing IPC messages. */
  batch?: Partial<BatchLimits>;
  /** Flow limits of every worker's path (per role with configureRole). */
  flow?: { highWater?: Partial<FlowLimits['highWater']>; max?: Partial<FlowLimits['max']> };
  /** The cluster to route for (default `node:cluster`); workers it forks are attached. */
  cluster?: typeof nodeCluster;
  /** This host's name, in the `'host/pid'` addresses of a mob over several hosts (default: none). */
  host?: string;
}

/** Events a Router emits. */
export interface RouterEvents {
  hello: [info: WorkerInfo];
  ready: [info: WorkerInfo];
  exit: [info: WorkerInfo, code: number | null, signal: string | null];
  crash: [report: CrashReport, info: WorkerInfo];
  scale: [info: WorkerInfo, n: number];
  lasterr: [info: WorkerInfo];
  /** a worker has run its shutdown listeners and closed its servers (a full stop's first phase) */
  quiet: [info: WorkerInfo];
  /** a worker got SIGTERM (see Kind.Term) */
  term: [info: WorkerInfo];
  /** a worker's figures (a Report frame, its fields still to be checked by the reader) */
  report: [info: WorkerInfo, report: ReportFrame];
  /** the ready workers of a role changed (on this host or another) */
  members: [role: string];
  /** a worker of this host is subscribed to the broker (mob-nats): other hosts may send to it directly */
  direct: [info: WorkerInfo];
}

/** What the router pushes frames into: a worker's IPC outbox, or a remote host's (hosts.ts). */
export interface PeerOutbox {
  push(frame: Frame, bytes?: number, origin?: Origin): void;
  pushHandle(frame: Frame, handle: unknown, keepOpen?: boolean, callback?: (err: Error | null) => void, origin?: Origin, bytes?: number): void;
  uncork(): void;
  clear(): void;
}

/** A worker the router routes to: a local one (a cluster worker), or a remote host's (`host` set). */
export interface Peer extends Origin {
  readonly id: number;
  readonly pid: number;
  readonly worker: Worker | undefined;
  role: string;
  state: WorkerState;
  readonly outbox: PeerOutbox;
  /** a worker of another host: its host, its pid there, and its address `'host/pid'` */
  readonly host?: HostState;
  readonly rpid?: number;
  readonly address?: string;
  /** calls routed here and not answered */
  readonly inflight: Inflight;
  /** pid-addressed messages that arrived before it was ready */
  early: Held[] | null;
  /** it said hello: frames may be sent to it */
  greeted: boolean;
  /** the protocol version it said hello with */
  version: number;
  /** it said at hello that it takes a stop's first phase (Shutdown with `q`) */
  quiets?: boolean;
  exit: { code: number | null; signal: string | null } | null;
  disconnected: boolean;
  /** frames of its that the router is done with and has not acknowledged yet, against its role's flow limits (told in Welcome) */
  readonly owed: Owed;
  /** (an alias) its host says it retired: it turns calls away, then exits */
  retiring?: boolean;
  /** it is subscribed to the broker: other hosts' workers may send to it directly (an alias: ours were told) */
  direct?: boolean;
}

interface Held {
  from: number;
  frame: CallFrame | MessageFrame;
  handle: unknown;
  bytes: number;
  /** told when the frame has left (delivered, refused, or dropped with its target) */
  origin: Origin;
}

/** One frame for many workers: its sender is told once the last copy has left. */
class FanOut implements Origin {
  constructor(
    readonly origin: Origin,
    public left: number,
  ) {}

  sent(bytes: number): void {
    if (--this.left === 0) this.origin.sent(bytes);
  }
}

interface RoleState {
  readonly name: string;
  /** its ready workers, on every host */
  readonly ready: Peer[];
  /** its ready workers on this host */
  readonly local: Peer[];
  locality: Locality;
  rr: number;
  balance: Balance;
  limits: QueueLimits;
  flow: FlowLimits;
  held: Held[];
  heldBytes: number;
  /** set once an overflow was logged, cleared when the queue drains */
  warned: boolean;
  /** set once a worker of this host's has been ready in it: other hosts' messages may wait for one */
  here?: boolean;
}

// Call ids are small integers (V8 Smis: no allocation, cheap hashing).
const SPAN = 2 ** 31;

/** The calls routed to one worker and not answered yet, by caller pid then call id. */
class Inflight {
  readonly #byCaller = new Map<number, IdSet>();
  /** how many */
  size = 0;

  add(caller: number, id: number): void {
    let ids = this.#byCaller.get(caller);
    if (!ids) this.#byCaller.set(caller, (ids = new IdSet()));
    const before = ids.size;
    ids.add(id);
    this.size += ids.size - before;
  }

  /** false when no such call was routed here (a forged or late answer) */
  delete(caller: number, id: number): boolean {
    if (!this.#byCaller.get(caller)?.delete(id)) return false;
    this.size--;
    return true;
  }

  /** every (caller, id), then empty */
  drain(): [caller: number, id: number][] {
    const out: [number, number][] = [];
    for (const [caller, ids] of this.#byCaller) for (const id of ids.values()) out.push([caller, id]);
    this.#byCaller.clear();
    this.size = 0;
    return out;
  }
}
const MAX_LAZY_ROLES = 256;
/** Workers of one remote host the router knows at once (aliases). */
const MAX_ALIASES = 4096;

function isId(x: unknown): x is number {
  return typeof x === 'number' && x >= 0 && x < SPAN && Math.floor(x) === x;
}

/**
 * The primary side of mob's messaging: routes frames among the workers of `node:cluster`.
 * Workers attach when forked; each says hello with its role (from `MOB_ROLE`) and becomes
 * a target once it says ready. Works alone in a plain cluster app, and under the Kingpin.
 *
 * @example
 * import cluster from 'node:cluster';
 * import { createRouter } from 'mob-messaging';
 * if (cluster.isPrimary) {
 *   createRouter({ roles: ['a', 'b'] });
 *   cluster.fork({ MOB_ROLE: 'a' });
 *   cluster.fork({ MOB_ROLE: 'b' });
 * }
 */
export function createRouter(options: RouterOptions = {}): Router {
  return new Router(options);
}

/**
 * The router createRouter makes.
 *
 * @example
 * const router = createRouter();
 * router.on('ready', ({ role, pid }) => console.log(role, pid, 'ready'));
 */
export class Router extends EventEmitter<RouterEvents> {
  readonly #byPid = new Map<number, Peer>();
  readonly #roles = new Map<string, RoleState>();
  #declared: string[] | null = null;
  readonly #balance: Balance;
  readonly #queue: QueueLimits;
  readonly #batch: BatchLimits;
  readonly #flow: FlowLimits;
  readonly #cluster: typeof nodeCluster;
  readonly #onFork = (worker: Worker): void => {
    this.attach(worker);
  };
  #closed = false;
  #stopping = false;
  /** any() messages held beyond their role's bound (their senders had not heard it was full) */
  #overflow = 0;
  readonly #hostName: string;
  readonly #hosts = new Map<string, HostState>();
  #nextAlias = REMOTE_BASE + 1;
  /** this host's workers retired lately (pid → when), for the other hosts */
  readonly #retired = new Map<number, number>();
  /** this host's workers that exited lately (for the other hosts, whose calls there fail with how): pid → [at, code, signal] */
  readonly #exits = new Map<number, [number, number | null, string | null]>();

  constructor(options: RouterOptions = {}) {
    super();
    this.#balance = checkBalance(options.balance ?? 'round-robin', 'createRouter({ balance })');
    this.#queue = { ...DEFAULT_QUEUE, ...options.queue };
    this.#batch = { ...DEFAULT_BATCH, ...options.batch };
    this.#flow = flowLimits(DEFAULT_FLOW, options.flow, 'createRouter({ flow })');
    this.#cluster = options.cluster ?? nodeCluster;
    this.#hostName = options.host ?? '';
    if (options.roles) this.setRoles(options.roles);
    this.#cluster.on('fork', this.#onFork);
    for (const worker of Object.values(this.#cluster.workers ?? {})) if (worker) this.attach(worker);
  }

  /** Declare the app's roles; workers are told, and sends to other names fail. */
  setRoles(roles: readonly string[]): void {
    this.#declared = [...roles];
    for (const name of roles) this.#role(name);
    for (const peer of this.#byPid.values()) if (peer.state !== 'dead' && peer.greeted) this.#welcome(peer);
  }

  /** Set a role's balancing strategy, held-queue bounds and its workers' flow limits. */
  configureRole(name: string, options: { balance?: Balance; queue?: Partial<QueueLimits>; flow?: RouterOptions['flow']; locality?: Locality }): void {
    const role = this.#role(name);
    if (options.balance) role.balance = checkBalance(options.balance, `role "${name}" balance`);
    if (options.locality) role.locality = checkLocality(options.locality, `role "${name}" locality`);
    if (options.queue) role.limits = { ...role.limits, ...options.queue };
    if (options.flow) role.flow = flowLimits(this.#flow, options.flow, `role "${name}" flow`);
  }

  /** Start routing for a cluster worker (done for you for every worker forked after createRouter). */
  attach(worker: Worker): void {
    const child = worker.process;
    if (this.#closed || !child?.pid || this.#byPid.has(child.pid)) return;
    const peer: Peer = {
      id: worker.id,
      pid: child.pid,
      worker,
      role: '',
      state: 'starting',
      // Acks ride along with whatever else goes to the worker.
      outbox: new Outbox(worker, { limits: this.#batch, corked: true, extra: () => (peer.state === 'dead' ? undefined : peer.owed.take()) }),
      inflight: new Inflight(),
      early: null,
      greeted: false,
      version: 0,
      exit: null,
      disconnected: false,
      owed: new Owed(this.#flow),
      sent: (bytes) => this.#credit(peer, 1, bytes),
    };
    this.#byPid.set(peer.pid, peer);
    // mob's frames are taken before Node emits them as 'message', so they never reach the
    // app's listeners (cluster.on('message'), worker.on('message')) and skip two re-emits.
    const emit = child.emit.bind(child) as (event: string | symbol, ...args: unknown[]) => boolean;
    const receive = (msg: { f: unknown[] }, handle: unknown): void => this.#receive(peer, msg.f, handle);
    child.emit = function (event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'message' && isMobMessage(args[0])) {
        receive(args[0], args[1]);
        return true;
      }
      return emit(event, ...args);
    } as typeof child.emit;
    worker.on('exit', (code: number | null, signal: string | null) => {
      peer.exit = { code, signal };
      this.#unroute(peer);
      if (peer.disconnected || !worker.isConnected()) this.#finish(peer);
    });
    worker.on('disconnect', () => {
      peer.disconnected = true;
      this.#unroute(peer);
      if (peer.exit) this.#finish(peer);
    });
  }

  /** Every attached worker of this host (of one role). */
  workers(role?: string): WorkerInfo[] {
    const out: WorkerInfo[] = [];
    for (const peer of this.#byPid.values()) if (!peer.host && (role === undefined || peer.role === role)) out.push(info(peer));
    return out;
  }

  /** The number of ready workers of a role on this host. */
  readyCount(role: string): number {
    return this.#roles.get(role)?.local.length ?? 0;
  }

  /**
   * This host's workers retired (reload, scale down, stop) in the last 10 s: what a mob over
   * several hosts tells the others, whose calls pending on them never ran and go elsewhere.
   */
  retired(): number[] {
    this.#pruneRecent();
    return [...this.#retired.keys()];
  }

  /** Forgets the retirements and exits older than RETIRED_MS (what heartbeats tell the other hosts). */
  #pruneRecent(): void {
    const since = Date.now() - RETIRED_MS;
    for (const [pid, at] of this.#retired) if (at < since) this.#retired.delete(pid);
    for (const [pid, x] of this.#exits) if (x[0] < since) this.#exits.delete(pid);
  }

  /**
   * This host's workers that exited in the last 10 s, `[pid, exit code, signal]`: what a mob
   * over several hosts tells the others, whose calls pending there fail with how it exited.
   */
  exits(): [number, number | null, string | null][] {
    this.#pruneRecent();
    return [...this.#exits].map(([pid, x]) => [pid, x[1], x[2]]);
  }

  /** This host's workers that other hosts' workers may send to directly (subscribed to the broker). */
  direct(): number[] {
    const out: number[] = [];
    for (const peer of this.#byPid.values()) if (peer.direct && !peer.host && peer.state !== 'dead') out.push(peer.pid);
    return out;
  }

  /** The ready workers of each role on this host: what a mob over several hosts tells the others. */
  members(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const role of this.#roles.values()) out[role.name] = role.local.map((p) => p.pid);
    return out;
  }

  /**
   * Another host of the mob joins (mob-nats's bridge): its workers become targets of calls and
   * messages as its `members()` say, frames for them go to `link`, and what comes from them is
   * handed to the returned RemoteHost. A host of the same name is replaced (lost first).
   *
   * @example
   * const b = router.addHost('b', { send: (to, from, frame, tracked) => publish(...), poke: () => flushSoon() });
   * b.members('back', [4242]);
   */
  addHost(name: string, link: HostLink): RemoteHost {
    this.#hosts.get(name)?.lost('replaced');
    const h = new HostState(name, link, {
      alias: (host, rpid) => this.#alias(host, rpid),
      direct: (peer) => {
        if (peer.direct || !peer.host?.link.tags) return;
        // Our workers may now reach it directly: they learn who it is.
        peer.direct = true;
        this.#toWorkers(aliasFrame(peer));
      },
      members: (host, role, pids) => this.#remoteMembers(host, role, pids),
      gone: (peer, why, exit) => this.#aliasGone(peer, why, exit),
      interrupt: (peer, why) => this.#interrupt(peer, why),
      receive: (host, to, from, frame, tracked) => this.#remote(host, to, from, frame, tracked),
      done: (host) => {
        if (this.#hosts.get(host.name) === host) this.#hosts.delete(host.name);
      },
    });
    this.#hosts.set(name, h);
    return h;
  }

  /**
   * What the router counts: frames held per role, and any() messages it held beyond their
   * role's bound because their senders had not yet heard the role was full.
   *
   * @example
   * router.stats(); // { held: { back: 0 }, overflow: 0 }
   */
  stats(): { held: Record<string, number>; overflow: number } {
    const held: Record<string, number> = {};
    for (const role of this.#roles.values()) held[role.name] = role.held.length;
    return { held, overflow: this.#overflow };
  }

  /** Frames held for a role that has no ready worker. */
  heldCount(role: string): number {
    return this.#roles.get(role)?.held.length ?? 0;
  }

  /**
   * Stop routing new calls and role messages to a worker (it is being stopped); its answers
   * still reach their callers, and pid-addressed frames still reach it.
   */
  retire(pid: number): void {
    const peer = this.#byPid.get(pid);
    if (!peer || peer.state === 'dead') return;
    this.#unroute(peer, true);
    peer.state = 'stopping';
    if (this.#hosts.size > 0 || this.#retired.size > 0) {
      this.#pruneRecent();
      if (this.#retired.size < MAX_ALIASES) this.#retired.set(pid, Date.now());
    }
  }

  /**
   * A stop's first phase for one worker: it runs its shutdown listeners and closes its
   * servers, still serving, then says so (`quiet`). False, and nothing sent, when the worker
   * is gone, has not said hello yet, or did not say then that it takes this (an older
   * mob-messaging). A listener it adds later runs when it retires.
   */
  quiet(pid: number, t: number): boolean {
    const peer = this.#byPid.get(pid);
    if (!peer || !peer.greeted || peer.state === 'dead' || !peer.quiets) return false;
    peer.outbox.push({ k: Kind.Shutdown, t, q: 1 });
    return true;
  }

  /** Send a frame to one worker (Kingpin control frames: shutdown, lasterr). */
  post(pid: number, frame: Frame): boolean {
    const peer = this.#byPid.get(pid);
    if (!peer || peer.state === 'dead') return false;
    peer.outbox.push(frame);
    return true;
  }

  /**
   * The cluster is stopping: calls held for roles without a ready worker, and calls that
   * would be held from now on, fail at once with ShutdownError instead of waiting for a
   * worker that will not come.
   */
  stopping(): void {
    this.#stopping = true;
    for (const role of this.#roles.values()) {
      const held = role.held;
      role.held = [];
      role.heldBytes = 0;
      for (const h of held) this.#refuse(role, h);
    }
  }

  #refuse(role: RoleState, h: Held): void {
    closeHandle(h.handle);
    h.origin.sent(h.bytes);
    if (h.frame.k !== Kind.Call) return;
    const from = this.#byPid.get(h.from);
    if (from) this.#fail(from, h.frame.i, new ShutdownError(`the cluster is stopping: no worker of role "${role.name}" is left to answer`));
  }

  /** Detach from the cluster (workers already attached keep routing). */
  close(): void {
    this.#closed = true;
    this.#cluster.off('fork', this.#onFork);
  }

  // ---- receiving --------------------------------------------------------------------

  #receive(peer: Peer, frames: unknown[], handle: unknown): void {
    for (let i = 0; i < frames.length; i++) {
      const fr = expandFrame(frames[i]);
      if (!isFrame(fr)) {
        debug('worker %d: dropped a malformed frame', peer.pid);
        this.#credit(peer, 1, 0);
        continue;
      }
      // Counted as the worker counted it, before anything is stamped on it.
      let bytes = 0;
      let kept = false;
      try {
        bytes = frameBytes(fr);
        kept = this.#frame(peer, fr, i === 0 ? handle : undefined, bytes);
      } catch (err) {
        // Nothing a worker sends may crash the Kingpin.
        debug('worker %d: frame %s dropped: %s', peer.pid, String(fr.k), (err as Error).message);
      }
      // A frame the router did not pass on (consumed, refused, dropped) is done with now; one
      // it passed on or holds is acknowledged once it has left toward its target.
      if (!kept) this.#credit(peer, 1, bytes);
    }
  }

  /** Routes one frame; true when the router passed it on or holds it (`peer` is told later). */
  #frame(peer: Peer, fr: Frame, handle: unknown, bytes: number): boolean {
    switch (fr.k) {
      case Kind.Call:
        return this.#call(peer, fr, bytes);
      case Kind.Return: {
        if (!isId(fr.p) || !isId(fr.i)) return bad(peer, fr);
        // Only an answer to a call routed to this worker is forwarded: no forged answers.
        if (!peer.inflight.delete(fr.p, fr.i)) return bad(peer, fr);
        const caller = this.#byPid.get(fr.p);
        if (!caller || caller.state === 'dead') return false;
        if (caller.host) fr.w = peer.pid;
        caller.outbox.push(fr, bytes, peer);
        return true;
      }
      case Kind.Message:
        return this.#message(peer, fr, handle, bytes);
      case Kind.Invoke:
      case Kind.Free: {
        const owner = typeof fr.p === 'number' ? this.#byPid.get(fr.p) : undefined;
        if (!owner || owner.state === 'dead') return bad(peer, fr);
        fr.w = peer.pid;
        owner.outbox.push(fr, bytes, peer);
        return true;
      }
      case Kind.Link:
        return this.#link(peer, fr, bytes);
      case Kind.LinkMark: {
        const to = typeof fr.p === 'number' ? this.#byPid.get(fr.p) : undefined;
        if (!to || to.state === 'dead') return bad(peer, fr);
        to.outbox.push({ k: Kind.LinkMark, s: peer.pid }, bytes, peer);
        return true;
      }
      case Kind.Hello:
        this.#hello(peer, fr.r, fr.v, fr.q === 1);
        return false;
      case Kind.Ready:
        this.#ready(peer);
        return false;
      case Kind.Crash:
        if (typeof fr.report !== 'object' || fr.report === null) return bad(peer, fr);
        this.emit('crash', { ...fr.report, role: peer.role, pid: peer.pid }, info(peer));
        return false;
      case Kind.Scale:
        if (typeof fr.n !== 'number' || !Number.isInteger(fr.n)) return bad(peer, fr);
        this.emit('scale', info(peer), fr.n);
        return false;
      case Kind.LastErr:
        this.emit('lasterr', info(peer));
        return false;
      case Kind.Shutdown:
        if (fr.q !== 1) return bad(peer, fr);
        this.emit('quiet', info(peer));
        return false;
      case Kind.Term:
        this.emit('term', info(peer));
        return false;
      case Kind.Report:
        this.emit('report', info(peer), fr);
        return false;
      case Kind.Remote:
        if (peer.direct) return false;
        peer.direct = true;
        this.emit('direct', info(peer));
        return false;
      default:
        return bad(peer, fr);
    }
  }

  /**
   * Introduces two workers for a direct link: the request goes to the other worker with the
   * requester's pid and role stamped, behind every frame the requester routed to it before.
   * Refused (`x`) when the other worker cannot link (gone, not greeted, an older protocol).
   */
  #link(peer: Peer, fr: FrameOf<typeof Kind.Link>, bytes: number): boolean {
    const to = typeof fr.p === 'number' ? this.#byPid.get(fr.p) : undefined;
    if (fr.x === 1) {
      // The other worker's refusal, to the requester.
      if (!to || to.state === 'dead') return false;
      to.outbox.push({ k: Kind.Link, p: peer.pid, x: 1 }, bytes, peer);
      return true;
    }
    if (typeof fr.p !== 'number' || typeof fr.t !== 'string' || fr.t.length > 64) return bad(peer, fr);
    if (!to || to === peer || to.state === 'dead' || !to.greeted || to.version < FLOW_VERSION) {
      peer.outbox.push({ k: Kind.Link, p: fr.p, x: 1 });
      return false;
    }
    to.outbox.push({ k: Kind.Link, s: peer.pid, r: peer.role, t: fr.t, fc: flowToWire(peer.owed.limits) }, bytes, peer);
    return true;
  }

  /** The router is done with `n` frames of `peer`'s: acknowledge them, soon or along with other frames. */
  #credit(peer: Peer, n: number, bytes: number): void {
    if (peer.state === 'dead') return;
    if (peer.host) return peer.host.owe(peer, n, bytes);
    if (!peer.owed.add(n, bytes)) return;
    peer.outbox.push(peer.owed.take()!);
  }

  #welcome(peer: Peer): void {
    peer.outbox.push({ k: Kind.Welcome, roles: this.#declared, v: PROTOCOL_VERSION, fc: flowToWire(peer.owed.limits) });
  }

  /** Tell every worker (or `to`) which workers of `role` are ready (and which just retired). */
  #members(role: RoleState, to?: Peer, retiring?: number | number[]): void {
    const fr: MembersFrame = { k: Kind.Members, r: role.name, p: role.ready.map((p) => p.pid), q: [role.limits.count, role.limits.bytes] };
    if (role.balance !== 'round-robin') fr.b = role.balance;
    if (role.locality === 'any') fr.l = 1;
    if (typeof retiring === 'number') fr.g = [retiring];
    else if (retiring?.length) fr.g = retiring;
    if (to) return void to.outbox.push(fr);
    this.#toWorkers(fr);
    this.emit('members', role.name);
  }

  /** A frame to every live worker of this host that said hello (aliases never do). */
  #toWorkers(fr: Frame): void {
    for (const p of this.#byPid.values()) if (p.greeted && p.state !== 'dead') p.outbox.push(fr);
  }

  #hello(peer: Peer, role: unknown, version: unknown, quiets = false): void {
    // Once only; a worker retired before it said hello (stopped while starting) still says
    // it, and then gets the frames queued for it, its shutdown among them.
    if (peer.greeted || peer.state === 'dead') return;
    peer.greeted = true;
    peer.quiets = quiets;
    peer.version = typeof version === 'number' ? version : 1;
    peer.role = typeof role === 'string' ? role : '';
    if (typeof version === 'number' && version !== PROTOCOL_VERSION) {
      debug('worker %d speaks protocol %d, this Kingpin %d', peer.pid, version, PROTOCOL_VERSION);
    }
    const own = peer.role ? this.#roles.get(peer.role) : undefined;
    if (own) peer.owed.limits = own.flow;
    this.#welcome(peer);
    for (const h of this.#hosts.values()) for (const a of h.aliases.values()) if (a.direct) peer.outbox.push(aliasFrame(a));
    for (const r of this.#roles.values()) this.#members(r, peer);
    peer.outbox.uncork();
    this.emit('hello', info(peer));
  }

  #ready(peer: Peer): void {
    if (!peer.greeted) this.#hello(peer, '', PROTOCOL_VERSION);
    if (peer.state !== 'starting') return;
    peer.state = 'ready';
    const role = peer.role ? this.#role(peer.role) : undefined;
    if (role) {
      role.ready.push(peer);
      role.local.push(peer);
      role.here = true;
    }
    const early = peer.early;
    peer.early = null;
    if (early) for (const h of early) this.#deliver(peer, h.frame as MessageFrame, h.handle, h.bytes, h.origin);
    if (role && role.held.length) this.#drain(role);
    if (role) this.#members(role);
    this.emit('ready', info(peer));
  }

  #call(peer: Peer, fr: CallFrame, bytes: number): boolean {
    if (typeof fr.r !== 'string' || !isId(fr.i) || typeof fr.m !== 'string') return bad(peer, fr);
    fr.p = peer.pid;
    const role = this.#roles.get(fr.r) ?? this.#lazyRole(fr.r);
    if (!role) {
      this.#fail(peer, fr.i, new NoSuchRoleError(fr.r, this.#declared ?? []));
      return false;
    }
    const pool = this.#pool(role, peer, fr.l);
    if (pool.length === 0) return this.#hold(role, { from: peer.pid, frame: fr, handle: undefined, bytes, origin: peer });
    // The worker the caller chose (while their link opens), if it is still a ready one of the role.
    const chosen = typeof fr.t === 'number' ? this.#byPid.get(fr.t) : undefined;
    this.#send(role, pool, fr, bytes, peer, chosen?.state === 'ready' && chosen.role === role.name && (!peer.host || !chosen.host) ? chosen : undefined);
    return true;
  }

  /**
   * The workers of `role` a frame of `from`'s may go to: a remote host's frames only to this
   * host's; ours to this host's when it has ready ones ('prefer-local'), else to every host's.
   */
  #pool(role: RoleState, from: Peer | undefined, l: unknown): Peer[] {
    if (from?.host) return role.local;
    // The call's own locality (1 'any', 2 'prefer-local', from its proxy) goes over the role's.
    const anyHost = l === 1 || (l !== 2 && role.locality === 'any');
    if (anyHost || role.local.length === 0) return role.ready;
    return role.local;
  }

  #send(role: RoleState, pool: Peer[], fr: CallFrame, bytes: number, origin: Origin, chosen?: Peer): void {
    const b = fr.b === 'least-pending' || fr.b === 'round-robin' ? fr.b : role.balance;
    const target = chosen ?? strategies[b](pool, role);
    target.inflight.add(fr.p!, fr.i);
    if (target.host) target.host.calls.set(fr.p! * SPAN + fr.i, target);
    target.outbox.push(fr, bytes, origin);
  }

  #message(peer: Peer, fr: MessageFrame, handle: unknown, bytes: number): boolean {
    fr.s = peer.address ?? peer.pid;
    // Handles stay on their host; a remote host's messages go to this host's workers only.
    const localOnly = handle !== undefined || peer.host !== undefined;
    switch (fr.t) {
      case Target.Pid: {
        const target = this.#addressed(fr.p);
        if (!target || target.state === 'dead' || (localOnly && target.host)) {
          debug('message from %d to pid %s dropped: no such live worker', peer.pid, String(fr.p));
          closeHandle(handle);
          return false;
        }
        if (target.state === 'starting') {
          (target.early ??= []).push({ from: peer.pid, frame: fr, handle, bytes, origin: peer });
          return true;
        }
        this.#deliver(target, fr, handle, bytes, peer);
        return true;
      }
      case Target.Any: {
        const role = typeof fr.r === 'string' ? (this.#roles.get(fr.r) ?? this.#lazyRole(fr.r)) : undefined;
        if (!role) {
          debug('message from %d to role %s dropped: no such role', peer.pid, String(fr.r));
          closeHandle(handle);
          return false;
        }
        const pool = localOnly ? role.local : this.#pool(role, peer, undefined);
        if (pool.length === 0) return this.#hold(role, { from: peer.pid, frame: fr, handle, bytes, origin: peer });
        this.#deliver(strategies['round-robin'](pool, role), fr, handle, bytes, peer);
        return true;
      }
      case Target.All: {
        const role = typeof fr.r === 'string' ? this.#roles.get(fr.r) : undefined;
        return this.#broadcast(role ? (localOnly ? role.local : role.ready) : [], fr, handle, bytes, peer);
      }
      case Target.Every: {
        const ready: Peer[] = [];
        for (const p of this.#byPid.values()) if (p.state === 'ready' && !(localOnly && p.host)) ready.push(p);
        return this.#broadcast(ready, fr, handle, bytes, peer);
      }
      default:
        return bad(peer, fr);
    }
  }

  #deliver(target: Peer, fr: MessageFrame, handle: unknown, bytes: number, origin: Origin): void {
    if (handle === undefined) target.outbox.push(fr, bytes, origin);
    else target.outbox.pushHandle(fr, handle, false, undefined, origin, bytes);
  }

  #broadcast(targets: Peer[], fr: MessageFrame, handle: unknown, bytes: number, origin: Origin): boolean {
    if (targets.length === 0) {
      closeHandle(handle);
      return false;
    }
    // One frame, many workers: its sender is told once the last copy has left.
    const fan = targets.length === 1 ? origin : new FanOut(origin, targets.length);
    if (handle === undefined) {
      for (const t of targets) t.outbox.push(fr, bytes, fan);
      return true;
    }
    // One handle, many workers: each gets a duplicate; the Kingpin's copy closes after the last.
    let left = targets.length;
    const done = (): void => {
      if (--left === 0) closeHandle(handle);
    };
    for (const t of targets) t.outbox.pushHandle(fr, handle, true, done, fan, bytes);
    return true;
  }

  /** Holds a frame for a role with no ready worker; true when held (its origin is told later). */
  #hold(role: RoleState, held: Held): boolean {
    if (this.#stopping) {
      this.#refuse(role, held);
      return false;
    }
    if (role.held.length >= role.limits.count || role.heldBytes + held.bytes > role.limits.bytes) {
      const err = heldQueueFull(role.name, role.held.length, role.heldBytes, role.limits.count, role.limits.bytes);
      if (held.frame.k === Kind.Call) {
        const from = this.#byPid.get(held.from);
        if (from) this.#fail(from, held.frame.i, err);
        return false;
      }
      // A message was accepted at its call (its sender had not yet heard the role was full):
      // it is held beyond the bound rather than lost. Its sender's window bounds how many.
      this.#overflow++;
      if (!role.warned) {
        role.warned = true;
        debug('%s; holding an any() message beyond the bound (its sender had not heard)', err.message);
      }
    }
    role.held.push(held);
    role.heldBytes += held.bytes;
    return true;
  }

  #drain(role: RoleState): void {
    const held = role.held;
    role.held = [];
    role.heldBytes = 0;
    role.warned = false;
    for (const h of held) {
      const from = this.#byPid.get(h.from);
      // The caller is gone: nobody is waiting for the answer.
      if (h.frame.k === Kind.Call && (!from || from.state === 'dead')) continue;
      const pool = h.handle !== undefined ? role.local : this.#pool(role, from, h.frame.k === Kind.Call ? h.frame.l : undefined);
      if (pool.length === 0) {
        // Only other hosts' workers are ready, and this frame may not go there: still held.
        role.held.push(h);
        role.heldBytes += h.bytes;
      } else if (h.frame.k === Kind.Call) this.#send(role, pool, h.frame, h.bytes, h.origin);
      else this.#deliver(strategies['round-robin'](pool, role), h.frame, h.handle, h.bytes, h.origin);
    }
  }

  #fail(to: Peer, id: number, err: Error): void {
    to.outbox.push({ k: Kind.Fail, i: id, e: serializeError(err) });
  }

  // ---- other hosts (a mob over several hosts: mob-nats) ---------------------------------

  /** The worker a pid message names: a pid of this host's or an alias, or `'host/pid'`. */
  #addressed(p: unknown): Peer | undefined {
    if (typeof p === 'number') return this.#byPid.get(p);
    if (typeof p !== 'string' || p.length > 300) return undefined;
    const slash = p.lastIndexOf('/');
    const pid = Number(p.slice(slash + 1));
    if (slash <= 0 || !isId(pid)) return undefined;
    const host = p.slice(0, slash);
    if (host === this.#hostName) return this.#byPid.get(pid);
    return this.#hosts.get(host)?.aliases.get(pid);
  }

  /** Our alias of worker `rpid` of `host` (made on first sight; undefined past the bound). */
  #alias(host: HostState, rpid: number): Peer | undefined {
    const known = host.aliases.get(rpid);
    if (known) return known;
    if (host.gone || !isId(rpid) || rpid === 0 || host.aliases.size >= MAX_ALIASES) return undefined;
    const pid = this.#nextAlias++;
    if (this.#nextAlias >= SPAN) this.#nextAlias = REMOTE_BASE + 1;
    const peer: Peer = {
      id: -1,
      pid,
      worker: undefined,
      role: '',
      state: 'ready',
      outbox: host.outbox(rpid),
      host,
      rpid,
      address: `${host.name}/${rpid}`,
      inflight: new Inflight(),
      early: null,
      greeted: false,
      version: PROTOCOL_VERSION,
      exit: null,
      disconnected: false,
      owed: new Owed(this.#flow),
      sent: (bytes) => this.#credit(peer, 1, bytes),
    };
    host.aliases.set(rpid, peer);
    this.#byPid.set(pid, peer);
    return peer;
  }

  /** `host`'s ready workers of `role` are now `pids`. */
  #remoteMembers(host: HostState, name: string, pids: readonly number[]): void {
    const role = this.#roles.get(name);
    if (!role || host.gone) return;
    const now = new Set<Peer>();
    for (const rpid of pids) {
      const peer = this.#alias(host, rpid);
      if (!peer) continue;
      peer.role = name;
      now.add(peer);
    }
    let changed = false;
    const retiring: number[] = [];
    for (const peer of [...role.ready]) {
      if (peer.host !== host || now.has(peer) || !leave(role, peer)) continue;
      changed = true;
      if (peer.retiring) retiring.push(peer.pid);
    }
    for (const peer of now) {
      if (!role.ready.includes(peer)) {
        role.ready.push(peer);
        changed = true;
      }
    }
    if (!changed) return;
    if (role.held.length) this.#drain(role);
    this.#members(role, undefined, retiring);
  }

  /** A remote worker is gone (it exited, or its host is lost): its calls fail, our workers are told. */
  #aliasGone(peer: Peer, why: string | null, exit?: { code: number | null; signal: string | null }): void {
    if (peer.state === 'dead') return;
    peer.state = 'dead';
    const host = peer.host!;
    const role = this.#roles.get(peer.role);
    if (role && leave(role, peer)) this.#members(role);
    const remote = why ? { host: host.name, reason: why } : { host: host.name };
    const code = exit?.code ?? null;
    const signal = exit?.signal ?? null;
    this.#gone(peer, () => new WorkerExitedError(peer.role, peer.rpid!, code, signal, 'the call', remote), code, signal, { h: host.name, ...(why ? { w: why } : {}), ...(peer.retiring && !why ? { y: 1 } : {}) });
    host.aliases.delete(peer.rpid!);
    this.#byPid.delete(peer.pid);
  }

  /** The way to another host's worker was cut: the calls pending there fail; the worker stays. */
  #interrupt(peer: Peer, why: string): void {
    if (peer.state === 'dead') return;
    this.#failPending(peer, () => new WorkerExitedError(peer.role, peer.rpid!, null, null, 'the call', { host: peer.host!.name, reason: why }));
  }

  /** The calls pending on `peer` fail at their callers with `err()` (made only if there are some). */
  #failPending(peer: Peer, err: () => Error): void {
    if (peer.inflight.size === 0) return;
    const wire: SerializedError = serializeError(err());
    for (const [pid, id] of peer.inflight.drain()) {
      peer.host?.calls.delete(pid * SPAN + id);
      const caller = this.#byPid.get(pid);
      if (caller && caller.state !== 'dead') caller.outbox.push({ k: Kind.Fail, i: id, e: wire });
    }
  }

  /** A frame from worker `from` of `host` for our worker `to`. */
  #remote(host: HostState, to: number, from: number, raw: unknown, tracked: boolean): void {
    const fr = expandFrame(raw);
    // A failure the other router made comes from no worker (0).
    const peer = from === 0 ? undefined : this.#alias(host, from);
    let bytes = 0;
    let kept = false;
    try {
      if (isFrame(fr) && (peer || fr.k === Kind.Fail)) {
        bytes = frameBytes(fr);
        kept = this.#fromHost(host, peer, to, fr, bytes);
      } else debug('host %s: dropped a malformed frame', host.name);
    } catch (err) {
      // Nothing another host sends may crash the Kingpin.
      debug('host %s: frame dropped: %s', host.name, (err as Error).message);
    }
    if (!tracked || kept) return;
    if (peer) this.#credit(peer, 1, bytes);
  }

  /** Routes a frame from another host's worker `peer` to ours; true when passed on or held. */
  #fromHost(host: HostState, from: Peer | undefined, to: number, fr: Frame, bytes: number): boolean {
    const target = this.#byPid.get(to);
    const local = target !== undefined && !target.host && target.state !== 'dead' ? target : undefined;
    if (fr.k !== Kind.Fail && !from) return false;
    const peer = from!;
    switch (fr.k) {
      case Kind.Call: {
        if (!isId(fr.i) || typeof fr.r !== 'string') return bad(peer, fr);
        // Only the worker the other host chose serves it: that host counts the call as pending
        // there (and fails it if that worker goes). One that is retiring or gone turns it away
        // unrun, and the caller sends it again, as a retiring worker does over a link.
        if (!local || local.state !== 'ready' || local.role !== fr.r) {
          const why = new ShutdownError(`worker ${to} of role "${fr.r}" on host "${this.#hostName}" is not serving; the call goes to another worker`);
          peer.outbox.push({ k: Kind.Fail, i: fr.i, e: serializeError(why), y: 1 });
          return false;
        }
        fr.t = to;
        return this.#call(peer, fr, bytes);
      }
      case Kind.Return:
      case Kind.Fail: {
        // Only the answer to a call we sent that host, once: late or forged answers are dropped.
        // Fields naming our workers carry the other router's aliases: `to` names the caller.
        const caller = to;
        if (!isId(fr.i)) return false;
        const key = caller * SPAN + fr.i;
        const callee = host.calls.get(key);
        // Late (its host was lost meanwhile, or it timed out there) or forged.
        if (!callee) return false;
        host.calls.delete(key);
        callee.inflight.delete(caller, fr.i);
        if (!local || local.pid !== caller) return false;
        if (fr.k === Kind.Fail) {
          const e = typeof fr.e === 'object' && fr.e !== null ? fr.e : serializeError(new WorkerExitedError(callee.role, callee.rpid!, null, null, 'the call', { host: host.name }));
          local.outbox.push({ k: Kind.Fail, i: fr.i, e, ...(fr.y === 1 ? { y: 1 } : {}) });
          return false;
        }
        fr.p = caller;
        fr.w = peer.pid;
        if (typeof fr.e === 'object' && fr.e !== null) fr.e.at = { h: host.name, p: peer.rpid! };
        local.outbox.push(fr, bytes, peer);
        return true;
      }
      case Kind.Invoke:
      case Kind.Free:
        if (!local || !local.greeted) return bad(peer, fr);
        fr.p = to;
        fr.w = peer.pid;
        local.outbox.push(fr, bytes, peer);
        return true;
      case Kind.Message: {
        if (fr.t === Target.Any && local?.state === 'ready' && local.role === fr.r) {
          fr.s = peer.address;
          this.#deliver(local, fr, undefined, bytes, peer);
          return true;
        }
        if (fr.t === Target.Any) {
          // Its worker left meanwhile: another of ours takes it (or it is held for one). A role
          // this host has never served (forged, or it runs elsewhere only) has none to wait for.
          if (typeof fr.r !== 'string' || !this.#roles.get(fr.r)?.here) {
            debug('message from host %s for role %s dropped: no worker of it has been ready on this host', host.name, String(fr.r).slice(0, 64));
            return false;
          }
          return this.#message(peer, fr, undefined, bytes);
        }
        if (!local || (fr.t !== Target.Pid && local.state !== 'ready')) return false;
        fr.t = Target.Pid;
        fr.p = to;
        return this.#message(peer, fr, undefined, bytes);
      }
      default:
        return bad(peer, fr);
    }
  }

  // ---- workers leaving ----------------------------------------------------------------

  #unroute(peer: Peer, retiring = false): void {
    if (peer.state === 'dead') return;
    const role = this.#roles.get(peer.role);
    if (peer.exit || peer.disconnected) peer.state = 'dead';
    if (role && leave(role, peer)) this.#members(role, undefined, retiring ? peer.pid : undefined);
  }

  #finish(peer: Peer): void {
    if (!this.#byPid.has(peer.pid)) return;
    peer.state = 'dead';
    this.#byPid.delete(peer.pid);
    peer.outbox.clear();
    const { code, signal } = peer.exit ?? { code: null, signal: null };
    if (this.#hosts.size > 0 && !peer.host && this.#exits.size < MAX_ALIASES) this.#exits.set(peer.pid, [Date.now(), code, signal]);
    for (const h of peer.early ?? []) {
      closeHandle(h.handle);
      h.origin.sent(h.bytes);
    }
    peer.early = null;
    this.#gone(peer, () => new WorkerExitedError(peer.role, peer.pid, code, signal), code, signal);
    this.emit('exit', info(peer), code, signal);
  }

  /**
   * `peer` (a worker of this host or an alias) has left the router: the calls routed to it and
   * not answered fail at their callers (of this host or another) with `err()`, and this host's
   * workers are told it is gone.
   */
  #gone(peer: Peer, err: () => Error, code: number | null, signal: string | null, remote?: { h: string; w?: string; y?: number }): void {
    this.#failPending(peer, err);
    const down: DownFrame = { k: Kind.Down, p: peer.pid, r: peer.role, c: code, s: signal, ...remote };
    for (const other of this.#byPid.values()) if (other.state !== 'dead' && !other.host) other.outbox.push(down);
  }

  #role(name: string): RoleState {
    let role = this.#roles.get(name);
    if (!role) {
      role = { name, ready: [], local: [], locality: 'prefer-local', rr: 0, balance: this.#balance, limits: this.#queue, flow: this.#flow, held: [], heldBytes: 0, warned: false };
      this.#roles.set(name, role);
    }
    return role;
  }

  /** Roles named by a sender before any worker of them said hello (no declared list only). */
  #lazyRole(name: string): RoleState | undefined {
    if (this.#declared || this.#roles.size >= MAX_LAZY_ROLES) return undefined;
    return this.#role(name);
  }
}

/** How long a retired worker of this host stays in `retired()`. */
const RETIRED_MS = 10_000;

/** The Alias frame that introduces another host's worker to ours (its host gives the tags). */
function aliasFrame(peer: Peer): AliasFrame {
  const host = peer.host!;
  const tags = host.link.tags!;
  const fr: AliasFrame = { k: Kind.Alias, p: peer.pid, h: host.name, q: peer.rpid!, o: tags.out, e: tags.in };
  if (peer.role) fr.r = peer.role;
  return fr;
}

/** Takes `peer` out of its role's ready workers; true if it was one. */
function leave(role: RoleState, peer: Peer): boolean {
  const at = role.ready.indexOf(peer);
  if (at < 0) return false;
  role.ready.splice(at, 1);
  const l = role.local.indexOf(peer);
  if (l >= 0) role.local.splice(l, 1);
  return true;
}

function info(peer: Peer): WorkerInfo {
  return { id: peer.id, pid: peer.pid, role: peer.role, state: peer.state, pendingCalls: peer.inflight.size };
}

function bad(peer: Peer, fr: Frame): false {
  debug('worker %d: dropped a %s frame with bad fields', peer.pid, String(fr.k).slice(0, 32));
  return false;
}


function closeHandle(handle: unknown): void {
  const h = handle as { destroy?: () => void; close?: () => void } | undefined;
  try {
    if (typeof h?.destroy === 'function') h.destroy();
    else if (typeof h?.close === 'function') h.close();
  } catch {
    // already closed
  }
}

function checkLocality(l: unknown, where: string): Locality {
  if (l === 'prefer-local' || l === 'any') return l;
  throw new ConfigError(`${where}: unknown locality ${JSON.stringify(l)}; use 'prefer-local' or 'any'`);
}

function checkBalance(b: unknown, where: string): Balance {
  if (b === 'round-robin' || b === 'least-pending') return b;
  throw new ConfigError(`${where}: unknown balance ${JSON.stringify(b)}; use 'round-robin' or 'least-pending'`);
}
