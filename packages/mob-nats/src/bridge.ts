import { randomBytes } from 'node:crypto';
import { debuglog } from 'node:util';
import type { Kingpin, KingpinStats } from 'mob-kingpin';
import { Kind, PayloadError, compactFrame, expandFrame, frameBytes, serializeError, tooBigAnswer, type Frame, type HostLink, type RemoteHost, type Router } from 'mob-messaging';
import type { NatsConnection, Msg } from '@nats-io/transport-node';
import { client } from './client.js';
import type { Resolved } from './options.js';
import { readStats, slimStats } from './stats.js';

const debug = debuglog('mob');
/** A first connection not made within this long is logged (the client keeps trying). */
const FIRST_CONNECT_SAY_MS = 2000;

/** The protocol the Kingpins of a mob speak over NATS; a host of another version is refused. */
export const HOSTS_VERSION = 2;

/** Hosts one Kingpin knows at once (forged heartbeats cannot grow it further). */
const MAX_HOSTS = 256;
/** Workers per host in a heartbeat. */
const MAX_WORKERS = 4096;
/** A batch to one host is published once its frames' payloads pass this many bytes. */
const FLUSH_BYTES = 64 * 1024;
/** ms acknowledgements wait for frames to ride with before they go alone. */
const ACK_DELAY_MS = 5;
/**
 * Heartbeats (of ours) a host's known Kingpin must have missed before a newer Kingpin of the
 * same name counts as its restart.
 */
const RESTART_SILENCE = 2;
/** heartbeats over which another host's must keep saying it lost this one before it is believed */
const DOUBT_BEATS = 2;
/** log lines about hosts of other protocol versions, at most (forged heartbeats may vary it) */
const MAX_VERSION_LINES = 16;
const HOST = /^[A-Za-z0-9_.-]{1,64}$/;
/** Nesting a heartbeat may have (it has 4 levels), and a batch of frames (an error's props are the app's). */
const HEARTBEAT_DEPTH = 16;
const FRAMES_DEPTH = 256;
/**
 * How far a heartbeat's sequence number may run ahead of the last one taken from its Kingpin
 * (heartbeats lost on the way, extra ones on membership changes): a forged one far ahead
 * would make every real one look old.
 */
const SEQ_AHEAD = 1000;

/** One subject token of a name (names match [A-Za-z0-9_.-]: a dot would split the token). */
export function token(name: string): string {
  return name.replace(/\./g, '~');
}

/**
 * The subjects of an app on the NATS server: every one under `mob.<app>.`, so that two apps
 * on one server never see each other's traffic.
 *
 * @example
 * subjects('shop').heartbeats; // 'mob.shop.hb'
 * subjects('shop').host('b');  // 'mob.shop.h.b'
 * subjects('shop').worker('b', 4242);  // 'mob.shop.w.b.4242'
 */
export function subjects(app: string): { heartbeats: string; host: (name: string) => string; worker: (host: string, pid: number) => string } {
  const prefix = `mob.${token(app)}`;
  return { heartbeats: `${prefix}.hb`, host: (name) => `${prefix}.h.${token(name)}`, worker: (host, pid) => `${prefix}.w.${token(host)}.${pid}` };
}

/** Another host, as this Kingpin knows it. */
interface Entry {
  readonly name: string;
  /** its Kingpin's incarnation (a restarted Kingpin is a new host) */
  readonly inc: string;
  /** when its Kingpin started (ms since epoch) */
  readonly t0: number;
  /** our token for it: it echoes it once it has heard us */
  readonly token: string;
  /** its token for us, as its heartbeats give it (we echo it) */
  theirs: string | undefined;
  lastSeen: number;
  /** set once both have heard each other: its workers are targets */
  remote: RemoteHost | null;
  /** roles it listed members of */
  roles: Set<string>;
  /** its figures, from its last heartbeat */
  stats: KingpinStats | null;
  /**
   * since when its heartbeats give another token for us than the one we know (0: they agree).
   * It lost us only if they keep saying so: one heartbeat may be forged.
   */
  doubt: number;
  /** frames to publish: [to, from, tracked, frame] flat */
  out: unknown[];
  outBytes: number;
  /** the sequence number of its last heartbeat taken (-1: none had one) */
  seq: number;
}

type Heartbeat = {
  /** sequence number: each heartbeat of a Kingpin has a higher one (a replayed copy is dropped) */
  q?: unknown;
  s?: unknown;
  t?: unknown;
  v?: unknown;
  h?: unknown;
  i?: unknown;
  b?: unknown;
  m?: unknown;
  w?: unknown;
  r?: unknown;
  d?: unknown;
  /** workers that exited lately: [pid, exit code, signal] */
  x?: unknown;
  k?: unknown;
  e?: unknown;
};

/**
 * Joins a Kingpin to the other hosts of its app on a NATS server: what `start(name, { nats })`
 * does. The Kingpin stays the router of its workers; the bridge carries frames between
 * Kingpins, one batch per host per turn, and keeps membership with heartbeats.
 *
 * @example
 * const bridge = new Bridge(kingpin, resolveOptions('nats://127.0.0.1:4222'), console.error);
 * bridge.start();
 */
export class Bridge {
  readonly #kingpin: Kingpin;
  readonly #options: Resolved;
  readonly #log: (line: string) => void;
  readonly #subjects: ReturnType<typeof subjects>;
  readonly #inc = randomBytes(8).toString('hex');
  /** the sequence number of this Kingpin's last heartbeat */
  #seq = 0;
  readonly #hosts = new Map<string, Entry>();
  readonly #dirty = new Set<Entry>();
  readonly #logged = new Set<string>();
  /** how many hosts of another protocol version were logged */
  #versions = 0;
  /** heartbeats of other Kingpins with this host's name, per incarnation */
  readonly #dups = new Map<string, { first: number; n: number }>();
  #router: Router | null = null;
  #nc: NatsConnection | null = null;
  #timers: NodeJS.Timeout[] = [];
  #flushing = false;
  #ackTimer: NodeJS.Timeout | null = null;
  #beating = false;
  #closed = false;
  /** this host's connection to the server is down (reconnecting) */
  #away = false;
  /** when the connection last came back: frames for a host not heard from since then wait */
  #reconnectedAt = 0;
  #maxPayload = 1024 * 1024;
  /** when this Kingpin first reached the server (ms since epoch) */
  #joinedAt = 0;

  constructor(kingpin: Kingpin, options: Resolved, log: (line: string) => void) {
    this.#kingpin = kingpin;
    this.#options = options;
    this.#log = log;
    this.#subjects = subjects(kingpin.name);
  }

  /** This host's name. */
  get host(): string {
    return this.#kingpin.host;
  }

  /** The other hosts this one is joined with. */
  hosts(): string[] {
    return [...this.#hosts.values()].filter((e) => e.remote).map((e) => e.name);
  }

  /** The other hosts' figures, as their last heartbeats gave them. */
  stats(): KingpinStats[] {
    const out: KingpinStats[] = [];
    for (const e of this.#hosts.values()) if (e.remote && e.stats) out.push(e.stats);
    return out;
  }

  /** Connects (retrying until a server answers) and joins once the Kingpin's router exists. */
  start(): void {
    this.#kingpin.once('boot', (router) => {
      this.#router = router;
      router.on('members', () => this.#beatSoon());
      router.on('direct', () => this.#beatSoon());
      // Each worker learns the broker's bound on a message (a message that may cross must
      // fit it), and with direct paths connects too, and calls other hosts' workers directly.
      const direct = this.#options.direct ? { o: this.#options.given, a: this.#kingpin.name, h: this.host } : {};
      router.on('hello', (w) => router.post(w.pid, { k: Kind.Remote, ...direct, x: this.#maxPayload }));
      this.#kingpin.on('exit', () => this.#beatSoon());
      this.#beatSoon();
    });
    this.#kingpin.onStop(() => this.close());
    this.#kingpin.setOtherHosts(() => this.stats());
    const { connect } = client();
    // The client waits for a server that is not up yet, without a word: say so once.
    const waiting = setTimeout(() => {
      if (!this.#closed) this.#log(`mob: waiting for the NATS server at ${this.#options.where} (not reachable yet); local roles run meanwhile, and this host joins the others once it answers`);
    }, FIRST_CONNECT_SAY_MS);
    waiting.unref();
    connect({ name: `mob ${this.#kingpin.name} ${this.host}`, ...this.#options.connect }).then(
      (nc) => {
        clearTimeout(waiting);
        this.#connected(nc);
      },
      (err: Error) => {
        clearTimeout(waiting);
        this.#log(`mob: cannot connect to NATS at ${this.#options.where} (${err.message}); this host runs alone`);
      },
    );
    const beat = setInterval(() => this.#beat(), this.#options.heartbeat);
    const check = setInterval(() => this.#check(), Math.min(250, this.#options.lostAfter / 4));
    beat.unref();
    check.unref();
    this.#timers.push(beat, check);
  }

  /** Says goodbye to the other hosts and closes the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    for (const e of [...this.#hosts.values()]) this.#forget(e, 'this host is stopping', false);
    const nc = this.#nc;
    if (!nc || nc.isClosed()) return;
    try {
      nc.publish(this.#subjects.heartbeats, JSON.stringify({ v: HOSTS_VERSION, h: this.host, i: this.#inc, q: ++this.#seq, b: 1 }));
      await nc.flush();
    } catch {
      // the server is gone: the others notice by the missing heartbeats
    }
    await nc.close().catch(() => {});
  }

  #connected(nc: NatsConnection): void {
    if (this.#closed) return void nc.close().catch(() => {});
    this.#nc = nc;
    this.#joinedAt = Date.now();
    this.#learnMaxPayload(nc);
    this.#log(`mob: host "${this.host}" of "${this.#kingpin.name}" joined NATS at ${this.#options.where}`);
    nc.subscribe(this.#subjects.heartbeats, { callback: (_err, msg) => this.#onHeartbeat(msg) });
    nc.subscribe(this.#subjects.host(this.host), { callback: (_err, msg) => this.#onFrames(msg) });
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') {
          this.#away = true;
          this.#log(`mob: lost the NATS server (${this.#options.where}); local roles go on, reconnecting`);
          // What was in flight to the other hosts, or on its way back, may be lost: the calls
          // pending there fail now (the hosts stay, unless their heartbeats stop).
          for (const e of this.#hosts.values()) e.remote?.interrupted('this host lost the NATS server; the call may have run');
        } else if (s.type === 'reconnect') {
          // (Perhaps to another server of the cluster, with a bound of its own.)
          this.#learnMaxPayload(nc);
          this.#back();
        }
      }
    })().catch(() => {});
    this.#beat();
  }

  /** The server's bound on a message, when it differs from what the workers were told: they learn it. */
  #learnMaxPayload(nc: NatsConnection): void {
    const max = nc.info?.max_payload;
    if (typeof max !== 'number' || !(max > 0) || max === this.#maxPayload) return;
    this.#maxPayload = max;
    for (const w of this.#router?.workers() ?? []) this.#router!.post(w.pid, { k: Kind.Remote, x: max });
  }

  /** The connection is back (its reconnect event, or a heartbeat heard while away). */
  #back(): void {
    if (!this.#away) return;
    this.#away = false;
    // The other Kingpins reconnect on their own schedule: frames for one wait until its
    // heartbeat is heard again (it resubscribed before it published that), or they would be
    // published before it has subscribed again, and lost.
    this.#reconnectedAt = Date.now();
    this.#log(`mob: NATS server back (${this.#options.where}); joining the other hosts again`);
    this.#beat();
  }

  // ---- heartbeats and membership ------------------------------------------------------

  #beatSoon(): void {
    if (this.#beating) return;
    this.#beating = true;
    setImmediate(() => {
      this.#beating = false;
      this.#beat();
    });
  }

  /** Publishes this host's heartbeat: its ready workers per role, its live workers, its tokens. */
  #beat(): void {
    const nc = this.#nc;
    const router = this.#router;
    if (!nc || !router || this.#closed || nc.isClosed()) return;
    const k: Record<string, string> = {};
    const e: Record<string, string> = {};
    for (const entry of this.#hosts.values()) {
      k[entry.name] = entry.token;
      if (entry.theirs !== undefined) e[entry.name] = entry.theirs;
    }
    // Every worker until its exit is known (a worker that closed its channel is 'dead' a few
    // ms before): the heartbeat that first leaves it out tells how it exited (`x`).
    const w = router.workers().map((x) => [x.pid, x.role]);
    try {
      const stats = this.#kingpin.stats();
      const s = slimStats(stats);
      const r = router.retired();
      const d = router.direct();
      const x = router.exits();
      nc.publish(this.#subjects.heartbeats, JSON.stringify({ v: HOSTS_VERSION, h: this.host, i: this.#inc, q: ++this.#seq, t: stats.startedAt, m: router.members(), w, k, e, s, ...(r.length ? { r } : {}), ...(d.length ? { d } : {}), ...(x.length ? { x } : {}) }));
    } catch (err) {
      debug('heartbeat not published: %s', (err as Error).message);
    }
  }

  #onHeartbeat(msg: Msg): void {
    // (Heard, so connected: should the reconnect event not come, frames must not wait forever.)
    if (this.#away) this.#back();
    try {
      this.#heartbeat(parse(msg, HEARTBEAT_DEPTH) as Heartbeat);
    } catch (err) {
      // Nothing the broker brings may crash the Kingpin.
      debug('heartbeat dropped: %s', (err as Error).message);
    }
  }

  #heartbeat(hb: Heartbeat): void {
    if (!isObject(hb) || typeof hb.h !== 'string' || !HOST.test(hb.h) || typeof hb.i !== 'string' || hb.i.length > 64) return;
    const name = hb.h;
    if (hb.v !== HOSTS_VERSION) {
      // What a heartbeat says is shown short: a forged one may carry megabytes.
      const v = clip(JSON.stringify(hb.v) ?? String(hb.v));
      // A line per host and version, for the first few (forged ones may come by thousands).
      const key = `v:${name}:${v}`;
      if (this.#logged.has(key) || this.#versions > MAX_VERSION_LINES) return;
      if (++this.#versions > MAX_VERSION_LINES) {
        this.#log(`mob: more hosts of other mob-nats protocol versions are heard; they are not logged further`);
        return;
      }
      this.#once(
        key,
        name === this.host
          ? `mob: a heartbeat in the name of this host ("${name}") says mob-nats protocol ${v}: ignored (another client publishes in its name on the server)`
          : this.#hosts.get(name)?.remote
          ? `mob: a heartbeat in the name of host "${name}", which is joined and speaks mob-nats protocol ${HOSTS_VERSION}, says protocol ${v}: ignored (another client publishes in its name on the server)`
          : `mob: host "${name}" speaks mob-nats protocol ${v}, this host ${HOSTS_VERSION}: it is not joined (run one mob version on every host)`,
      );
      return;
    }
    if (name === this.host) {
      if (hb.i !== this.#inc) this.#duplicate(hb);
      return;
    }
    let e = this.#hosts.get(name);
    // A copy of an earlier heartbeat of the Kingpin we know (replayed by anyone who can publish
    // on the server, perhaps changed) is not taken.
    if (e && e.inc === hb.i && !this.#inSequence(e, hb.q)) return;
    if (hb.b === 1) {
      // A goodbye counts from the Kingpin that joined, not from another of the same name.
      if (e && e.inc === hb.i) this.#forget(e, 'its Kingpin stopped');
      return;
    }
    // A real heartbeat says when its Kingpin started (a restarted Kingpin started later), and
    // is well-formed in every field: one that is not is dropped whole, never taken in part.
    if (typeof hb.t !== 'number' || !Number.isFinite(hb.t) || !wellFormed(hb)) return;
    if (e && e.inc !== hb.i) {
      // A restarted Kingpin started later, and the one it replaces has stopped beating. One
      // that started later while the known one still beats is a second Kingpin with a taken
      // name: it is ignored (it sees the clash itself and leaves the mob).
      if (hb.t <= e.t0 || Date.now() - e.lastSeen < this.#options.heartbeat * RESTART_SILENCE) return;
      this.#forget(e, 'its Kingpin restarted');
      e = undefined;
    }
    let tell = false;
    if (!e) {
      if (this.#hosts.size >= MAX_HOSTS) return;
      e = this.#entry(name, hb.i, hb.t);
      tell = true;
    }
    const theirs = ownString(hb.k, this.host);
    if (e.remote && theirs !== e.theirs) {
      // It lost us (and may have heard us again): what we had with it is gone on both sides.
      // Only when its heartbeats say so for DOUBT_BEATS heartbeats, none of them saying
      // otherwise: anyone who can publish on the server can send one heartbeat in its name.
      // Until then, what they say is not taken.
      const now = Date.now();
      if (e.doubt === 0) e.doubt = now;
      if (now - e.doubt < this.#options.heartbeat * DOUBT_BEATS) return;
      this.#forget(e, 'host lost (it had lost this host)');
      e = this.#entry(name, hb.i, hb.t);
      tell = true;
    }
    e.doubt = 0;
    if (typeof hb.q === 'number') e.seq = hb.q;
    if (theirs !== undefined && e.theirs === undefined) tell = true;
    e.theirs = theirs;
    e.lastSeen = Date.now();
    // Frames held for it since our reconnection may go now.
    if (this.#dirty.has(e)) this.#flushSoon();
    if (!e.remote && theirs !== undefined && ownString(hb.e, this.host) === e.token && this.#router) {
      // Both have heard each other: tell it at once (before any frame), then route to it.
      this.#beat();
      tell = false;
      e.remote = this.#router.addHost(name, this.#link(e));
      this.#log(`mob: host "${name}" joined`);
    }
    if (e.remote) {
      this.#apply(e, hb);
      e.stats = readStats(hb.s, name, this.#kingpin.name);
    }
    if (tell) this.#beat();
  }

  /**
   * Another Kingpin of this app uses this host's name. The newcomer leaves the mob (it runs its
   * roles alone) and says why; the one that was there first stays. Which one is new is decided
   * by what this Kingpin saw, not by what a heartbeat claims (anyone who can publish on the
   * server can forge one). A Kingpin joined with another host is the one the mob knows: the
   * others ignore a second Kingpin of a name they know while it beats. One that heard the
   * other only after its first `lostAfter` ms on the server was there first. Either keeps its
   * name, whatever the other claims. Only a Kingpin that is alone and new compares start times
   * with the other one (the later one leaves).
   */
  #duplicate(hb: Heartbeat): void {
    // Only a Kingpin that keeps beating counts (not a burst of forged heartbeats): 3 over 2 s.
    if (typeof hb.t !== 'number' || !Array.isArray(hb.w) || !isObject(hb.m)) return;
    const key = String(hb.i);
    const now = Date.now();
    const seen = this.#dups.get(key) ?? { first: now, n: 0 };
    seen.n++;
    if (this.#dups.size < 16) this.#dups.set(key, seen);
    if (seen.n < 3 || now - seen.first < 2000) return;
    const theirs = hb.t;
    const mine = this.#kingpin.stats().startedAt;
    const newcomer = seen.first - this.#joinedAt <= this.#options.lostAfter && ![...this.#hosts.values()].some((e) => e.remote);
    const later = newcomer && (mine > theirs || (mine === theirs && this.#inc > String(hb.i)));
    if (!later) {
      this.#once(
        `dup:${String(hb.i)}`,
        `mob: another Kingpin of "${this.#kingpin.name}" calls itself host "${this.host}"; this one ${newcomer ? 'started first' : 'was here first'} and keeps the name`,
      );
      return;
    }
    this.#log(
      `mob: host name "${this.host}" is taken by another Kingpin of "${this.#kingpin.name}" (started ${new Date(theirs).toISOString()}): ` +
        `this Kingpin leaves the mob and runs its roles alone; give each host its own name (MOB_HOST or the host option)`,
    );
    void this.close();
  }

  /**
   * True when `q` may follow the last heartbeat taken from `e`'s Kingpin: higher, and not far
   * ahead. Once its heartbeats have had numbers, one without is not its own.
   */
  #inSequence(e: Entry, q: unknown): boolean {
    if (q === undefined) return e.seq < 0;
    if (typeof q !== 'number' || !Number.isSafeInteger(q) || q <= 0) return false;
    return e.seq < 0 || (q > e.seq && q <= e.seq + SEQ_AHEAD);
  }

  #entry(name: string, inc: string, t0: number): Entry {
    const e: Entry = { name, inc, t0, token: randomBytes(6).toString('hex'), theirs: undefined, doubt: 0, lastSeen: Date.now(), remote: null, roles: new Set(), stats: null, out: [], outBytes: 0, seq: -1 };
    this.#hosts.set(name, e);
    return e;
  }

  /** A heartbeat's membership, to the router. */
  #apply(e: Entry, hb: Heartbeat): void {
    const remote = e.remote!;
    // Retired first: a worker that retired and exited between two heartbeats is gone as retired.
    if (Array.isArray(hb.r)) remote.retired(hb.r.slice(0, MAX_WORKERS).filter(isPid));
    // How the workers that exited lately did: the calls that fail there say so.
    if (Array.isArray(hb.x)) remote.exited(hb.x.slice(0, MAX_WORKERS));
    const live: [number, string][] = [];
    if (Array.isArray(hb.w)) {
      for (const x of hb.w.slice(0, MAX_WORKERS)) if (Array.isArray(x) && isPid(x[0]) && typeof x[1] === 'string') live.push([x[0], x[1]]);
    }
    remote.live(live);
    if (Array.isArray(hb.d)) remote.direct(hb.d.slice(0, MAX_WORKERS).filter(isPid));
    const seen = new Set<string>();
    if (isObject(hb.m)) {
      for (const role of Object.keys(hb.m)) {
        const pids = hb.m[role];
        if (!Array.isArray(pids) || seen.size >= 256) continue;
        seen.add(role);
        remote.members(role, pids.slice(0, MAX_WORKERS).filter(isPid));
      }
    }
    for (const role of e.roles) if (!seen.has(role)) remote.members(role, []);
    e.roles = seen;
  }

  /** Hosts silent for `lostAfter` are lost. */
  #check(): void {
    const now = Date.now();
    for (const e of [...this.#hosts.values()]) {
      if (now - e.lastSeen <= this.#options.lostAfter) continue;
      // Cut off from the server, this host hears nobody: say so, the other host may be fine.
      const why = this.#away ? ' (this host has lost the NATS server)' : '';
      this.#forget(e, `host lost: no heartbeat for ${this.#options.lostAfter} ms${why}`);
    }
  }

  #forget(e: Entry, reason: string, log = true): void {
    if (this.#hosts.get(e.name) !== e) return;
    this.#hosts.delete(e.name);
    this.#dirty.delete(e);
    if (!e.remote) return;
    if (log) this.#log(`mob: host "${e.name}" left (${reason}); its workers leave the balancing`);
    e.remote.lost(reason);
  }

  // ---- frames --------------------------------------------------------------------------

  #link(e: Entry): HostLink {
    return {
      // Our workers tag what they send that host's with its token for us, and expect ours.
      ...(this.#options.direct && e.theirs !== undefined ? { tags: { out: e.theirs, in: e.token } } : {}),
      send: (to, from, frame, tracked) => {
        e.out.push(to, from, tracked ? 1 : 0, compactFrame(frame));
        e.outBytes += frameBytes(frame);
        this.#dirty.add(e);
        if (e.outBytes >= FLUSH_BYTES) this.#flush(e);
        else this.#flushSoon();
      },
      // Acknowledgements alone wait a little for frames to ride with (an answer, the next call):
      // one NATS message per call instead of two; a quarter-spent window sends them at once.
      poke: (urgent) => {
        this.#dirty.add(e);
        if (urgent) this.#flushSoon();
        else this.#ackSoon();
      },
    };
  }

  #ackSoon(): void {
    if (this.#ackTimer || this.#flushing) return;
    this.#ackTimer = setTimeout(() => {
      this.#ackTimer = null;
      this.#flushSoon();
    }, ACK_DELAY_MS);
    this.#ackTimer.unref();
  }

  #flushSoon(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    setImmediate(() => {
      this.#flushing = false;
      if (this.#ackTimer) {
        clearTimeout(this.#ackTimer);
        this.#ackTimer = null;
      }
      // (A host whose frames must wait is marked dirty again.)
      const dirty = [...this.#dirty];
      this.#dirty.clear();
      for (const e of dirty) this.#flush(e);
    });
  }

  /** Publishes what is queued for host `e`: its frames and the acknowledgements we owe it. */
  #flush(e: Entry): void {
    // Away from the server, or back and not heard from that host since: what is queued waits
    // (its next heartbeat flushes it).
    if (this.#away || e.lastSeen < this.#reconnectedAt) return void this.#dirty.add(e);
    const acks = e.remote?.takeAcks() ?? [];
    const out = e.out;
    if (out.length === 0 && acks.length === 0) return;
    e.out = [];
    e.outBytes = 0;
    const nc = this.#nc;
    // Not connected: the host will be lost, and what was sent there fails then.
    if (!nc || nc.isClosed() || !e.remote || e.remote.gone) return;
    const subject = this.#subjects.host(e.name);
    const body = JSON.stringify({ v: HOSTS_VERSION, h: this.host, i: this.#inc, f: out, a: acks });
    // max_payload counts bytes: a non-ASCII character is several.
    if (body.length <= this.#maxPayload / 3 || Buffer.byteLength(body) <= this.#maxPayload) return this.#publish(nc, subject, body);
    // Too big for the server: frame by frame; one frame too big is refused.
    if (acks.length) this.#publish(nc, subject, JSON.stringify({ v: HOSTS_VERSION, h: this.host, i: this.#inc, f: [], a: acks }));
    for (let j = 0; j + 3 < out.length; j += 4) {
      const one = JSON.stringify({ v: HOSTS_VERSION, h: this.host, i: this.#inc, f: out.slice(j, j + 4), a: [] });
      const size = Buffer.byteLength(one);
      if (size <= this.#maxPayload) this.#publish(nc, subject, one);
      else this.#tooBig(e, out[j] as number, out[j + 1] as number, out[j + 2] === 1, out[j + 3], size);
    }
  }

  #publish(nc: NatsConnection, subject: string, body: string): void {
    try {
      nc.publish(subject, body);
    } catch (err) {
      debug('batch to %s not published: %s', subject, (err as Error).message);
    }
  }

  /**
   * A frame larger than the server's max_payload: a call fails at its caller, an answer is
   * replaced by why it cannot travel; the sender's window gets it back.
   */
  #tooBig(e: Entry, to: number, from: number, tracked: boolean, raw: unknown, size: number): void {
    const remote = e.remote!;
    const fr = expandFrame(raw) as Frame;
    const what = `a frame of ${size} bytes is larger than the NATS server's max_payload (${this.#maxPayload} bytes)`;
    this.#once(`big:${size}`, `mob: ${what}: not sent to host "${e.name}"`);
    if (fr.k === Kind.Return && typeof fr.i === 'number') {
      // The caller gets why it cannot have its answer instead (small, without a stack), in the
      // answer's place: tracked as it was, so the other host's ack of it settles the answer.
      const answer = tooBigAnswer(fr, `worker ${from} on host "${this.host}"`, what, from, this.#maxPayload);
      if (answer) {
        e.out.push(to, from, tracked ? 1 : 0, answer.wire);
        e.outBytes += answer.bytes;
        this.#dirty.add(e);
        this.#flushSoon();
        return;
      }
    }
    if (tracked) remote.ack(from, 1, 0);
    if (fr.k === Kind.Call) {
      const err = new PayloadError(`call to host "${e.name}": ${what}; send less per call, or raise max_payload on the server`);
      remote.receive(from, 0, { k: Kind.Fail, i: fr.i, e: serializeError(err) }, false);
    }
  }

  #onFrames(msg: Msg): void {
    try {
      const b = parse(msg, FRAMES_DEPTH) as { v?: unknown; h?: unknown; i?: unknown; f?: unknown; a?: unknown };
      if (!isObject(b) || b.v !== HOSTS_VERSION || typeof b.h !== 'string') return;
      const e = this.#hosts.get(b.h);
      // Only from a host joined with us, in its current incarnation.
      if (!e || !e.remote || e.inc !== b.i) return;
      const remote = e.remote;
      if (Array.isArray(b.f)) {
        const f = b.f;
        for (let j = 0; j + 3 < f.length && !remote.gone; j += 4) {
          const to = f[j];
          const from = f[j + 1];
          if (!isPid(to) || !(isPid(from) || from === 0)) continue;
          remote.receive(to, from, f[j + 3], f[j + 2] === 1);
        }
      }
      if (Array.isArray(b.a)) {
        for (const a of b.a) if (Array.isArray(a) && isPid(a[0])) remote.ack(a[0], a[1], a[2]);
      }
    } catch (err) {
      debug('frames dropped: %s', (err as Error).message);
    }
  }

  #once(key: string, line: string): void {
    if (this.#logged.has(key) || this.#logged.size > 1000) return;
    this.#logged.add(key);
    this.#log(line);
  }
}

/** At most 32 characters of `text`, for a log line. */
function clip(text: string): string {
  return text.length > 32 ? `${text.slice(0, 32)}…` : text;
}

/**
 * A message's JSON, refused (throws) when it nests deeper than `maxDepth`: JSON.parse takes
 * about 45 ms for 200 KB of `[[[…]]]` on these machines, and a flood of those kept a Kingpin
 * from its heartbeats. What mob publishes nests a few levels; the scan stops at the limit.
 */
function parse(msg: Msg, maxDepth: number): unknown {
  const d = msg.data;
  if (tooDeep(d, maxDepth)) throw new Error(`nested deeper than ${maxDepth} levels`);
  return JSON.parse(Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('utf8'));
}

/** Whether the JSON in `d` opens more than `max` arrays or objects at once (strings skipped). */
export function tooDeep(d: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < d.length; i++) {
    const c = d[i]!;
    if (inString) {
      if (c === 0x5c) i++; // a backslash: the next byte is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isPid(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x > 0 && x < 2 ** 31;
}

function pids(x: unknown): boolean {
  return Array.isArray(x) && x.length <= MAX_WORKERS && x.every(isPid);
}

/**
 * True when a heartbeat's membership fields have the shapes a Kingpin publishes: `w` an array
 * of [pid, role], `m` an object of pid arrays, `r` and `d` pid arrays, `x` [pid, ...] entries.
 * Taken in part, a malformed one would drop a host's live workers (and fail their calls).
 */
function wellFormed(hb: Heartbeat): boolean {
  const { w, m, r, d, x } = hb;
  if (!Array.isArray(w) || w.length > MAX_WORKERS || !w.every((e) => Array.isArray(e) && isPid(e[0]) && typeof e[1] === 'string')) return false;
  if (!isObject(m) || !Object.values(m).every(pids)) return false;
  if ((r !== undefined && !pids(r)) || (d !== undefined && !pids(d))) return false;
  return x === undefined || (Array.isArray(x) && x.length <= MAX_WORKERS && x.every((e) => Array.isArray(e) && isPid(e[0])));
}

/** `obj[key]` when it is an own string property (a heartbeat's token of a host). */
function ownString(obj: unknown, key: string): string | undefined {
  if (!isObject(obj) || !Object.hasOwn(obj, key)) return undefined;
  const v = obj[key];
  return typeof v === 'string' && v.length <= 64 ? v : undefined;
}
