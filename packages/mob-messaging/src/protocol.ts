/**
 * The wire protocol: every message kind that mob's processes exchange, in one file.
 *
 * One IPC message carries a batch of frames: `{ $mob: PROTOCOL_VERSION, f: Frame[] }`. The
 * `$mob` key is the marker that tells mob's traffic from the app's own `process.send`
 * messages; its value is the protocol version, so that workers of two releases can talk
 * during a rolling reload. A receiver accepts any version >= 1 and ignores frame kinds and
 * fields it does not know: new fields are optional, new kinds are ignorable.
 *
 * Payloads (`d`, `a`, `v`) are *encoded*: in the default JSON serialization they are JSON
 * strings made by the sender, so the Kingpin forwards them without walking them (a number,
 * boolean or null, and a call's short list of plain arguments, travel as themselves); with
 * `serialization: 'advanced'` they are the values themselves.
 *
 * The two frames every call sends travel compact, as arrays (see `compactFrame`): shorter
 * than objects, and cheaper for every process on the way to stringify and parse. So do acks
 * on direct paths between hosts (`[Kind.Ack, n, b]`, see remote.ts).
 *
 * This file imports nothing; every package imports its types from here.
 */

/** The key that marks an IPC message as mob's. */
export const MARKER = '$mob';

/** The protocol version this build speaks. */
export const PROTOCOL_VERSION = 2;

/** The first protocol version with flow control (Ack, Members, Welcome.v / fc). */
export const FLOW_VERSION = 2;

/** Frame kinds, the `k` field of every frame: small numbers, the cheapest to send and parse. */
export const Kind = {
  /** worker → Kingpin, first frame a worker sends: its role and version. */
  Hello: 1,
  /** Kingpin → worker, answer to hello: the app's roles. Sent again when they change. */
  Welcome: 2,
  /** worker → Kingpin: the role module has loaded; the worker may receive routed frames. */
  Ready: 3,
  /** An app message: worker → Kingpin with a target, Kingpin → worker with the sender. */
  Message: 4,
  /** A remote call: caller → Kingpin (by role) → one callee (with the caller's pid). */
  Call: 5,
  /** The answer to a call: callee → Kingpin → caller. */
  Return: 6,
  /** Kingpin → caller: a call could not be served (its worker exited, the queue is full). */
  Fail: 7,
  /** A remote callback invocation: stub holder → Kingpin → the callback's owner. */
  Invoke: 8,
  /** Stub holder → owner: these callbacks can no longer be invoked (collected). */
  Free: 9,
  /** Kingpin → every worker: a worker exited. */
  Down: 10,
  /**
   * Kingpin → worker: stop gracefully. With `q` (a full stop's first phase): run the shutdown
   * listeners and close the servers while still serving calls, then worker → Kingpin `{q: 1}`.
   */
  Shutdown: 11,
  /** worker → Kingpin: an uncaught error (or a failed module load), just before exiting. */
  Crash: 12,
  /** worker → Kingpin: change the number of workers of the sender's role. */
  Scale: 13,
  /** worker → Kingpin: ask for the last crash report of the role; Kingpin → worker: the answer. */
  LastErr: 14,
  /**
   * Kingpin → worker (v2): the Kingpin is done with `n` more frames of this worker's, of `b`
   * bytes in all (forwarded and written to their target, consumed, held and then delivered,
   * or refused): the worker's path may carry that much more. See `frameBytes`.
   */
  Ack: 15,
  /** Kingpin → every worker (v2): the ready workers of a role, sent whenever they change. */
  Members: 16,
  /**
   * (v2) worker → Kingpin: open a direct link to worker `p`; Kingpin → that worker: the
   * request, from `s`; Kingpin or worker → the requester: refused (`x`). See link.ts.
   */
  Link: 17,
  /**
   * (v2) worker → Kingpin → worker: the sender's routed frames to the receiver end here; what
   * it sends the receiver from now on comes over their link. Over a link (no fields): the
   * receiver retires, and the sender's calls to it end here (it may go once all are served).
   */
  LinkMark: 18,
  /**
   * (v2) worker → Kingpin: the worker's figures (see ReportFrame), once a second and when
   * asked; Kingpin → worker: report now (a scrape or a status wants fresh figures).
   */
  Report: 19,
  /**
   * (v2, mob-nats) Kingpin → worker: worker `q` of host `h` is our alias `p`; frames to it may
   * travel directly over the broker, tagged `o`, and frames from it carry the tag `e`.
   */
  Alias: 20,
  /**
   * (v2, mob-nats) Kingpin → worker: connect to the broker (`o`: the `nats` option) as worker
   * of app `a` on host `h`, so calls to other hosts' workers go directly. Worker → Kingpin
   * (no fields): it is subscribed; other hosts' workers may now send to it directly. See remote.ts.
   */
  Remote: 21,
  /**
   * worker → Kingpin: it got SIGTERM. Sent to the whole process group (systemd, `timeout`),
   * the Kingpin's own stop handles it; sent to this worker alone, the Kingpin replaces it
   * gracefully. A worker does not die of SIGTERM on its own while its Kingpin is there.
   */
  Term: 22,
} as const;

/** Any frame kind. */
export type FrameKind = (typeof Kind)[keyof typeof Kind];

/** Where an app message goes. */
export const Target = {
  /** every ready worker of every role, the sender included */
  Every: 'every',
  /** every ready worker of role `r` */
  All: 'all',
  /** one ready worker of role `r`, chosen by the role's balancing strategy */
  Any: 'any',
  /** the worker whose pid is `p` */
  Pid: 'pid',
} as const;

/** Any message target. */
export type TargetKind = (typeof Target)[keyof typeof Target];

/** How a call picks a worker of its role. */
export type Balance = 'round-robin' | 'least-pending';

/**
 * Where a call or `any()` message may go when its role has workers on several hosts:
 * `'prefer-local'` (default) picks among the workers on the caller's host when the role has
 * ready ones there; `'any'` picks among every host's.
 */
export type Locality = 'prefer-local' | 'any';

/**
 * Pids from here on are not processes of this host: the router's aliases of workers on
 * other hosts (mob-nats). Linux pids stay below 2^22; aliases are `REMOTE_BASE + n`.
 */
export const REMOTE_BASE = 2 ** 30;

/** An error as it crosses processes. */
export interface SerializedError {
  /** `name` of the error (`TypeError`, `WorkerExitedError`, ...). */
  name: string;
  message: string;
  code?: string | number;
  stack?: string;
  /** true when mob itself raised it (the receiver restores the mob error class by name). */
  mob?: boolean;
  /** Extra own properties that are JSON values (role, pid, exitCode, ...). */
  props?: Record<string, unknown>;
  /**
   * Where it was thrown, when that was on another host of the mob: the host and the worker's
   * own pid there. Set by the path that brought the answer, not by the thrower.
   */
  at?: { h: string; p: number };
}

/** The IPC envelope: one batch of frames. */
export interface Envelope {
  /** marker and protocol version */
  $mob: number;
  /** frames, in the order they were produced */
  f: Frame[];
}

export interface HelloFrame {
  k: typeof Kind.Hello;
  /** the worker's role (`MOB_ROLE`), or '' when it has none */
  r: string;
  /** protocol version of the worker */
  v: number;
  /** 1: it takes a stop's first phase (a Shutdown with `q`); an older worker does not say so */
  q?: number;
}

export interface WelcomeFrame {
  k: typeof Kind.Welcome;
  /** every role the app defines, or null when the router was not told */
  roles: string[] | null;
  /** the router's protocol version (absent before v2: no acks, no flow control) */
  v?: number;
  /** the worker's flow limits: [high-water frames, high-water bytes, max frames, max bytes] */
  fc?: number[];
}

export interface ReadyFrame {
  k: typeof Kind.Ready;
}

export interface MessageFrame {
  k: typeof Kind.Message;
  /** target kind (worker → Kingpin only) */
  t?: TargetKind;
  /** target role for `all` / `any` */
  r?: string;
  /** target pid for `pid`; `'host/pid'` for a worker on another host */
  p?: number | string;
  /** encoded payload */
  d: unknown;
  /** sender pid, stamped by the Kingpin; `'host/pid'` for a sender on another host */
  s?: number | string;
}

export interface CallFrame {
  k: typeof Kind.Call;
  /** the role that serves the call */
  r: string;
  /** call id, unique among the caller's pending calls (0 .. 2^31-1) */
  i: number;
  /** export name; '' calls the module itself (`module.exports = fn`, ESM default) */
  m: string;
  /** encoded argument array; callback positions hold null */
  a: unknown;
  /** callbacks among the arguments, as triples [position, callback id, 1 if kept else 0, ...] */
  f?: number[];
  /** balancing strategy for this call, when not the role's default */
  b?: Balance;
  /** caller pid, stamped by the Kingpin (or by the link it came over) */
  p?: number;
  /** the worker the caller chose (v2, routed while their link opens): the Kingpin sends it there if it is ready */
  t?: number;
  /**
   * The proxy's locality, over the role's: 1 'any' (any host's worker), 2 'prefer-local' (this
   * host's while the role has ready ones here); absent: the role's
   */
  l?: number;
}

export interface ReturnFrame {
  k: typeof Kind.Return;
  /** caller pid */
  p: number;
  /** call id */
  i: number;
  /** encoded result (absent for undefined) */
  v?: unknown;
  /** the thrown error, when the call failed */
  e?: SerializedError;
  /** callee pid: set by the callee when the caller needs it (the call had callbacks, or failed) */
  w?: number;
}

export interface FailFrame {
  k: typeof Kind.Fail;
  /** call id */
  i: number;
  /** why (a mob error: WorkerExitedError, QueueFullError, ...) */
  e: SerializedError;
  /** 1: the call did not run (its worker is retiring): the caller sends it elsewhere (v2, over links) */
  y?: number;
}

export interface InvokeFrame {
  k: typeof Kind.Invoke;
  /** pid of the process that owns the callback */
  p: number;
  /** callback id in the owner's registry */
  c: number;
  /** encoded argument array */
  a: unknown;
  /** callbacks among the arguments, as triples [position, callback id, 1 if kept else 0, ...] */
  f?: number[];
  /** invoker pid, stamped by the Kingpin */
  w?: number;
}

export interface FreeFrame {
  k: typeof Kind.Free;
  /** owner pid */
  p: number;
  /** callback ids */
  c: number[];
  /** sender pid, stamped by the Kingpin */
  w?: number;
}

export interface DownFrame {
  k: typeof Kind.Down;
  /** pid of the worker that exited */
  p: number;
  /** its role */
  r: string;
  /** exit code, or null when killed by a signal */
  c: number | null;
  /** the signal, or null */
  s: string | null;
  /** (an alias) its host, and why it is gone when its host was lost */
  h?: string;
  w?: string;
  /** 1: it retired (calls still pending there never ran: the caller sends them elsewhere) */
  y?: number;
}

export interface ShutdownFrame {
  k: typeof Kind.Shutdown;
  /** milliseconds before the Kingpin kills the worker (absent in a worker's answer) */
  t?: number;
  /**
   * 1: a full stop's first phase. Kingpin → worker: run the shutdown listeners and close the
   * servers, and go on serving calls (every role still serves); worker → Kingpin: done. The
   * Kingpin then retires every worker with a plain Shutdown.
   */
  q?: number;
}

/** What a worker reports about an uncaught error. */
export interface CrashReport {
  error: SerializedError;
  /** 'load' when the role module failed to load, else how the error escaped */
  origin: 'load' | 'uncaughtException' | 'unhandledRejection';
  role: string;
  pid: number;
  /** the role module's resolved path */
  file?: string;
  /** ISO time */
  time: string;
}

export interface CrashFrame {
  k: typeof Kind.Crash;
  report: CrashReport;
}

export interface ScaleFrame {
  k: typeof Kind.Scale;
  /** workers to add (positive) or remove (negative) */
  n: number;
}

export interface LastErrFrame {
  k: typeof Kind.LastErr;
  /** Kingpin → worker: the report, or null */
  report?: CrashReport | null;
}

export interface AckFrame {
  k: typeof Kind.Ack;
  /** frames */
  n: number;
  /** their bytes, as frameBytes counts them */
  b: number;
}

export interface MembersFrame {
  k: typeof Kind.Members;
  /** the role */
  r: string;
  /** pids of its ready workers */
  p: number[];
  /** its held-queue bounds while it has none: [frames, bytes] */
  q: number[];
  /** its balancing strategy, when not round-robin */
  b?: Balance;
  /** workers that just left it because they are retiring (they turn calls away, then exit) */
  g?: number[];
  /** 1: the role's locality is 'any' (calls spread over every host's workers) */
  l?: number;
}

export interface LinkFrame {
  k: typeof Kind.Link;
  /** requester → Kingpin: the worker to link to; refusal: the worker that refused */
  p?: number;
  /** Kingpin → worker: the requester, stamped by the Kingpin */
  s?: number;
  /** Kingpin → worker: the requester's role, stamped by the Kingpin */
  r?: string;
  /** a token the requester made: the connecting peer shows it in its handshake (at `<MOB_LINK_DIR>/<requester pid>.sock`) */
  t?: string;
  /** 1: refused (the requester sends routed) */
  x?: number;
  /** Kingpin → worker: the requester's flow limits (flowToWire), so that its peer acknowledges in time for its window */
  fc?: number[];
}

export interface LinkMarkFrame {
  k: typeof Kind.LinkMark;
  /** sender → Kingpin: the receiver */
  p?: number;
  /** Kingpin → receiver: the sender, stamped by the Kingpin */
  s?: number;
}

/**
 * Upper bounds (seconds) of the buckets of a served call's duration, as Prometheus's
 * `le`; a last bucket counts what is above them all (`+Inf`).
 */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * The figures of one export a worker serves, since the worker started:
 * `[calls, errors, sum of durations in seconds, ...counts per LATENCY_BUCKETS bucket, +Inf]`
 * (counts per bucket, not cumulative).
 */
export type ExportFigures = number[];

export interface ReportFrame {
  k: typeof Kind.Report;
  /** (worker → Kingpin from here on) the worker's Date.now() */
  t?: number;
  /** process.cpuUsage() since start: [user µs, system µs] */
  c?: number[];
  /** resident set size, bytes */
  m?: number;
  /** V8 heap used, bytes */
  h?: number;
  /** event-loop utilization since start: [idle ms, active ms] */
  e?: number[];
  /** per export served: its figures */
  x?: Record<string, ExportFigures>;
  /** calls this worker is serving now */
  r?: number;
  /** calls this worker made and that are not settled */
  o?: number;
  /** direct links open */
  l?: number;
}

export interface AliasFrame {
  k: typeof Kind.Alias;
  /** our alias */
  p: number;
  /** the worker's host */
  h: string;
  /** its pid there */
  q: number;
  /** its role, when known */
  r?: string;
  /** the tag of frames we send that host's workers directly */
  o: string;
  /** the tag frames from that host's workers carry */
  e: string;
}

export interface RemoteFrame {
  k: typeof Kind.Remote;
  /** (Kingpin → worker) the `nats` option, as given (a URL or the client's options) */
  o?: unknown;
  /** the app's name */
  a?: string;
  /** this host's name */
  h?: string;
  /** (Kingpin → worker) the broker's max_payload in bytes: a message that may go to another host must fit it */
  x?: number;
}

export interface TermFrame {
  k: typeof Kind.Term;
}

/** Every frame. */
export type Frame =
  | HelloFrame
  | WelcomeFrame
  | ReadyFrame
  | MessageFrame
  | CallFrame
  | ReturnFrame
  | FailFrame
  | InvokeFrame
  | FreeFrame
  | DownFrame
  | ShutdownFrame
  | CrashFrame
  | ScaleFrame
  | LastErrFrame
  | AckFrame
  | MembersFrame
  | LinkFrame
  | LinkMarkFrame
  | ReportFrame
  | AliasFrame
  | RemoteFrame
  | TermFrame;

/** The frame of a given kind. */
export type FrameOf<K extends FrameKind> = Extract<Frame, { k: K }>;

/** Bytes a frame counts for beside its payload, in a path's byte bound. */
export const FRAME_OVERHEAD = 32;

/**
 * The bytes a frame counts for in flow control: its payload's encoded length (a JSON string's
 * characters; 64 for a payload that travels as a value: a number, a short argument list, or
 * anything under `serialization: 'advanced'`) plus FRAME_OVERHEAD. Sender and Kingpin count
 * the same frame the same way, so the Kingpin's acks give back exactly what was taken.
 *
 * @example
 * frameBytes({ k: Kind.Message, t: 'any', r: 'back', d: '"hi"' }); // 36
 */
export function frameBytes(fr: Frame): number {
  const f = fr as { a?: unknown; d?: unknown; v?: unknown; z?: unknown };
  const key = payloadKey(f);
  const x = key === undefined ? undefined : f[key];
  if (typeof x === 'string') return FRAME_OVERHEAD + x.length;
  if (x === undefined) return FRAME_OVERHEAD;
  // A payload that came embedded in a line (see stringifyFrames): its sender counted `z` chars.
  const z = f.z;
  return FRAME_OVERHEAD + (typeof z === 'number' && z >= 0 && z < 2 ** 31 && Number.isInteger(z) ? z : 64);
}

/** JSON payloads at least this long go embedded in a line instead of as a JSON string of JSON. */
const RAW_MIN = 512;

/** Where a frame in object form carries its payload: a call's or invocation's `a`, a message's `d`, an answer's `v`. */
function payloadKey(f: { a?: unknown; d?: unknown; v?: unknown }): 'a' | 'd' | 'v' | undefined {
  return f.a !== undefined ? 'a' : f.d !== undefined ? 'd' : f.v !== undefined ? 'v' : undefined;
}

/** A JSON text of an object or array (what encodePayload makes), long enough to embed. */
function embeddable(x: unknown): x is string {
  if (typeof x !== 'string' || x.length < RAW_MIN) return false;
  const first = x.charCodeAt(0);
  const last = x.charCodeAt(x.length - 1);
  return (first === 0x7b || first === 0x5b) && (last === 0x7d || last === 0x5d);
}

/**
 * The JSON text of a batch of wire frames (compactFrame's output) for a line-based path (a
 * link, the broker). A large object or array payload, which travels as the JSON text
 * encodePayload made, is embedded as it is instead of as a JSON string of that text: the
 * sender skips escaping it and the receiver parses it once, with the line, and finds the
 * value where the string would be (decodePayload passes values through). Such a frame goes in
 * object form with `z`, the length of the text, so that both ends count it the same bytes
 * (frameBytes). Only for payloads this process encoded: the text is spliced in as it is.
 *
 * @example
 * stringifyFrames([[Kind.Return, 41, 7, 3]]); // '[[6,41,7,3]]'
 */
export function stringifyFrames(frames: readonly unknown[]): string {
  // Each frame is judged once: those before the first embeddable payload go as JSON.stringify writes them.
  let first = 0;
  let key: 'a' | 'd' | 'v' | undefined;
  while (first < frames.length && (key = rawAt(frames[first])) === undefined) first++;
  if (key === undefined) return numericFrames(frames) ?? JSON.stringify(frames);
  let out = first === 0 ? '[' : `${JSON.stringify(frames.slice(0, first)).slice(0, -1)},`;
  for (let j = first; j < frames.length; j++) {
    if (j > first) {
      out += ',';
      key = rawAt(frames[j]);
    }
    const w = frames[j];
    if (key === undefined) {
      out += JSON.stringify(w) ?? 'null';
      continue;
    }
    const fr = (Array.isArray(w) ? expandFrame(w) : w) as Record<string, unknown>;
    const raw = fr[key] as string;
    const rest: Record<string, unknown> = { ...fr, z: raw.length };
    delete rest[key];
    const head = JSON.stringify(rest);
    out += `${head.slice(0, -1)},"${key}":${raw}}`;
  }
  return out + ']';
}

/**
 * The JSON text of frames that are all arrays of finite numbers (answers with a number, acks:
 * what goes back one call at a time), written by hand, which costs a fraction of
 * JSON.stringify for so few characters; undefined for any other frames.
 */
function numericFrames(frames: readonly unknown[]): string | undefined {
  // Judged whole before anything is written, from the last: a link's batch of answers ends
  // with its ack, an object, and is given to JSON.stringify at once.
  for (let j = frames.length - 1; j >= 0; j--) {
    const w = frames[j];
    if (!Array.isArray(w)) return undefined;
    for (let k = 0; k < w.length; k++) {
      const x: unknown = w[k];
      if (typeof x !== 'number' || !Number.isFinite(x)) return undefined;
    }
  }
  let out = '[';
  for (let j = 0; j < frames.length; j++) {
    const w = frames[j] as number[];
    out += j === 0 ? '[' : ',[';
    // (A finite number's JSON is its string.)
    for (let k = 0; k < w.length; k++) out += k === 0 ? `${w[k]}` : `,${w[k]}`;
    out += ']';
  }
  return out + ']';
}

/**
 * The frames of a batch, from `text` at `at`, when they are all arrays of integers of at most
 * 15 digits, in JSON's own form (no space, no leading zero): read by hand, which costs a
 * fraction of JSON.parse for so few characters. Undefined for anything else, which JSON.parse
 * then reads (and judges) as before.
 *
 * @example
 * parseNumericFrames('[[6,41,7,3],[15,1,96]]', 0); // [[6, 41, 7, 3], [15, 1, 96]]
 * parseNumericFrames('[[5,"back",1,"add",[1]]]', 0); // undefined
 */
export function parseNumericFrames(text: string, at: number): number[][] | undefined {
  const n = text.length;
  if (text.charCodeAt(at) !== 0x5b) return undefined;
  const out: number[][] = [];
  let i = at + 1;
  if (text.charCodeAt(i) === 0x5d) return i === n - 1 ? out : undefined;
  for (;;) {
    if (text.charCodeAt(i) !== 0x5b) return undefined;
    i++;
    const frame: number[] = [];
    for (;;) {
      let c = text.charCodeAt(i);
      const negative = c === 0x2d;
      if (negative) c = text.charCodeAt(++i);
      const start = i;
      let v = 0;
      while (c >= 0x30 && c <= 0x39) {
        v = v * 10 + (c - 0x30);
        c = text.charCodeAt(++i);
      }
      const digits = i - start;
      if (digits === 0 || digits > 15 || (digits > 1 && text.charCodeAt(start) === 0x30)) return undefined;
      frame.push(negative ? -v : v);
      i++;
      if (c === 0x2c) continue;
      if (c === 0x5d) break;
      return undefined;
    }
    out.push(frame);
    const c = text.charCodeAt(i++);
    if (c === 0x2c) continue;
    return c === 0x5d && i === n ? out : undefined;
  }
}

/** Where a wire frame's embeddable payload is, if it has one. */
function rawAt(w: unknown): 'a' | 'd' | 'v' | undefined {
  if (Array.isArray(w)) {
    if (w[0] === Kind.Call) return embeddable(w[4]) ? 'a' : undefined;
    if (w[0] === Kind.Return) return embeddable(w[3]) ? 'v' : undefined;
    return undefined;
  }
  if (typeof w !== 'object' || w === null) return undefined;
  const key = payloadKey(w);
  return key !== undefined && embeddable((w as Record<string, unknown>)[key]) ? key : undefined;
}

/**
 * How the packages above mob-messaging reach other processes: a worker's channel to the
 * Kingpin, or an in-memory pair in unit tests.
 */
export interface Transport {
  /** this process's pid, as other processes address it */
  readonly pid: number;
  /**
   * Queue a frame for the Kingpin (sent with the other frames of this turn). Returns false
   * when the path is over its high-water mark (the frame is still sent). A call, message or
   * callback invocation beyond the path's hard bound throws QueueFullError and is not sent;
   * answers and other control frames always go. `bytes`: its `frameBytes`, when the poster
   * has counted it already.
   */
  post(frame: Frame, bytes?: number): boolean;
  /** write what is queued now (before the process exits) */
  flush(): void;
  /** handle incoming frames of one kind (one handler per kind) */
  handle<K extends FrameKind>(kind: K, handler: (frame: FrameOf<K>) => void): void;
  /**
   * encode a payload for the wire; throws a PayloadError naming `where` if it cannot travel.
   * `owned`: the value is an array only mob holds (a call's argument list), so a short one of
   * plain values may travel as it is, without a copy.
   */
  encode(value: unknown, where: string, owned?: boolean): unknown;
  /** decode a payload from the wire */
  decode(payload: unknown): unknown;
  /**
   * Batches of frames received so far: frames handled while it stays the same came in one
   * batch (pipelined calls, say). Absent where a transport does not count them.
   */
  readonly batch?: number;
}

/**
 * True when `msg` is a mob envelope: `{ $mob: version >= 1, f: [...] }`. Frames inside are
 * checked one by one by their receiver, field by field, before use.
 *
 * @example
 * process.on('message', (msg) => { if (!isMobMessage(msg)) handleAppMessage(msg); });
 */
export function isMobMessage(msg: unknown): msg is Envelope {
  return (
    typeof msg === 'object' &&
    msg !== null &&
    typeof (msg as Envelope).$mob === 'number' &&
    (msg as Envelope).$mob >= 1 &&
    Array.isArray((msg as Envelope).f)
  );
}

/**
 * The wire form of a frame. A call without callbacks or balance option becomes
 * `[Kind.Call, r, i, m, a]` (then `[..., p]` once the Kingpin has stamped the caller's pid);
 * an answer without error or callee pid becomes `[Kind.Return, p, i]` (then `[..., v]` when
 * there is a value). Every other frame travels as it is.
 *
 * @example
 * compactFrame({ k: Kind.Return, p: 41, i: 7, v: 3 }); // [6, 41, 7, 3]
 */
export function compactFrame(fr: Frame): Frame | unknown[] {
  if (fr.k === Kind.Call) {
    if (fr.f !== undefined || fr.b !== undefined || fr.t !== undefined || fr.l !== undefined) return fr;
    return fr.p === undefined ? [Kind.Call, fr.r, fr.i, fr.m, fr.a] : [Kind.Call, fr.r, fr.i, fr.m, fr.a, fr.p];
  }
  if (fr.k === Kind.Return) {
    if (fr.e !== undefined || fr.w !== undefined) return fr;
    return fr.v === undefined ? [Kind.Return, fr.p, fr.i] : [Kind.Return, fr.p, fr.i, fr.v];
  }
  return fr;
}

/**
 * The inverse of compactFrame, for anything a peer sent: an array of a compact kind becomes
 * its frame object (its fields still unchecked, as any frame's), and so does an ack as a
 * direct path between hosts sends it, `[Kind.Ack, n, b]`; anything else is returned as it
 * is, for isFrame to judge.
 *
 * @example
 * expandFrame([6, 41, 7, 3]); // { k: Kind.Return, p: 41, i: 7, v: 3 }
 */
export function expandFrame(x: unknown): unknown {
  if (!Array.isArray(x)) return x;
  if (x[0] === Kind.Call) {
    const fr: Record<string, unknown> = { k: Kind.Call, r: x[1], i: x[2], m: x[3], a: x[4] };
    if (x.length > 5) fr.p = x[5];
    return fr;
  }
  if (x[0] === Kind.Return) {
    return x.length > 3 ? { k: Kind.Return, p: x[1], i: x[2], v: x[3] } : { k: Kind.Return, p: x[1], i: x[2] };
  }
  if (x[0] === Kind.Ack) return { k: Kind.Ack, n: x[1], b: x[2] };
  return x;
}

/**
 * True when `x` is an object with a number `k`: the least a frame must be.
 *
 * @example
 * for (const fr of envelope.f) if (isFrame(fr)) route(fr);
 */
export function isFrame(x: unknown): x is Frame {
  return typeof x === 'object' && x !== null && typeof (x as Frame).k === 'number';
}
