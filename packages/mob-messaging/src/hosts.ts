/**
 * Other hosts of a mob, as the router sees them (a mob over several hosts: mob-nats's bridge
 * carries the frames; this file is transport-free).
 *
 * A worker of another host is an alias in this router: a Peer whose pid is `REMOTE_BASE + n`
 * and whose outbox hands frames to the host's link. Frames cross point to point: each names
 * the worker it is for (`to`, in the receiving host's pids) and the worker it is from
 * (`from`, in the sender's). The receiving router makes its own alias of `from`.
 *
 * Flow control holds across hosts: a frame our worker sent to another host's is acknowledged
 * to our worker only once that host is done with it (wrote it to its worker, held it, or
 * refused it), exactly as a frame between two workers of this host. So what travels between
 * hosts is bounded by the senders' windows, and a slow remote role slows its callers.
 */
import { IdMap } from './idmap.js';
import { Kind, type Frame } from './protocol.js';
import type { Origin } from './outbox.js';
import type { Peer, PeerOutbox } from './router.js';

/** Exits one heartbeat tells at most (a host's workers are bounded by mob-nats at 4096 too). */
const MAX_EXITS = 4096;

/**
 * How the router reaches one other host (mob-nats's bridge implements it).
 *
 * @example
 * const link: HostLink = {
 *   send: (to, from, frame, tracked) => batch.push([to, from, tracked ? 1 : 0, compactFrame(frame)]),
 *   poke: (urgent) => (urgent ? flushSoon() : flushWithin(5)),
 * };
 */
export interface HostLink {
  /**
   * A frame for worker `to` of that host (its pid there), from our worker `from` (0 when it
   * is from no worker: a failure the router made). `tracked`: the host acknowledges it.
   */
  send(to: number, from: number, frame: Frame, tracked: boolean): void;
  /**
   * Acknowledgements for that host are waiting (`takeAcks`). They ride along with the next
   * frames to that host; `urgent`: a sender's window is a quarter spent, send them now.
   */
  poke(urgent: boolean): void;
  /**
   * The tags of this pair of hosts, when our workers may reach that host's workers directly
   * (Alias frames): `out` marks what our workers send there, `in` what comes from there.
   */
  readonly tags?: { readonly out: string; readonly in: string };
}

/**
 * Another host of the mob, as `router.addHost()` returns it: what the bridge tells the router
 * about that host.
 *
 * @example
 * const b = router.addHost('b', link);
 * b.members('back', [4242, 4243]);
 * b.receive(1234, 4242, frame, true);
 * b.lost('host lost');
 */
export interface RemoteHost {
  readonly name: string;
  /** The host's ready workers of `role`, by their pids there. */
  members(role: string, pids: readonly number[]): void;
  /** The host's workers that retired lately (before `live`): calls pending on them never ran. */
  retired(pids: readonly number[]): void;
  /** The host's workers that are subscribed to the broker (after `live`): ours may send to them directly. */
  direct(pids: readonly number[]): void;
  /** How the host's workers that exited lately did (before `live`): `[pid, exit code, signal]`, told to the calls that fail there. */
  exited(exits: readonly unknown[]): void;
  /** The host's live workers, `[pid, role]`: a worker missing from here on has exited. */
  live(workers: readonly (readonly [number, string])[]): void;
  /** A frame from worker `from` of that host for our worker `to`. */
  receive(to: number, from: number, frame: unknown, tracked: boolean): void;
  /** The host is done with `n` frames (`b` bytes) our worker `from` sent there. */
  ack(from: number, n: number, b: number): void;
  /** What we owe the host: `[its worker, frames, bytes]` per worker; then nothing is owed. */
  takeAcks(): number[][];
  /** The host is gone (`reason`, e.g. 'host lost'): its workers leave, calls pending there fail. */
  lost(reason: string): void;
  /**
   * The way to the host was cut (this host lost the broker): what was in flight may be lost,
   * so the calls pending there fail with `reason` (they may have run; `retries` sends them
   * again). Its workers stay.
   */
  interrupted(reason: string): void;
  /** True once lost. */
  readonly gone: boolean;
}

/** What a HostState needs of its router. */
export interface RouterSide {
  alias(host: HostState, rpid: number): Peer | undefined;
  direct(peer: Peer): void;
  members(host: HostState, role: string, pids: readonly number[]): void;
  gone(peer: Peer, why: string | null, exit?: { code: number | null; signal: string | null }): void;
  interrupt(peer: Peer, why: string): void;
  receive(host: HostState, to: number, from: number, frame: unknown, tracked: boolean): void;
  done(host: HostState): void;
}

/** Frames one of our workers sent a host, not yet acknowledged, in order. */
class Unacked {
  origins: (Origin | undefined)[] = [];
  bytes: number[] = [];
  head = 0;

  push(origin: Origin, bytes: number): void {
    this.origins.push(origin);
    this.bytes.push(bytes);
  }

  /** Settles up to `n`, oldest first. */
  settle(n: number): void {
    for (let i = 0; i < n && this.head < this.origins.length; i++, this.head++) {
      const origin = this.origins[this.head]!;
      this.origins[this.head] = undefined;
      origin.sent(this.bytes[this.head]!);
    }
    if (this.head === this.origins.length) {
      this.origins = [];
      this.bytes = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.origins.length) {
      this.origins = this.origins.slice(this.head);
      this.bytes = this.bytes.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * One remote host in the router: its workers' aliases, the calls we sent there, and the
 * acknowledgements both ways.
 *
 * @example
 * const h = new HostState('b', link, routerSide); // made by router.addHost('b', link)
 */
export class HostState implements RemoteHost {
  /** our aliases of its workers, by their pids there */
  readonly aliases = new Map<number, Peer>();
  /** calls we sent there and that are not answered: caller pid * 2^31 + call id → the alias */
  readonly calls = new IdMap<Peer>();
  readonly #unacked = new Map<number, Unacked>();
  readonly #owing = new Set<Peer>();
  /** exit code and signal of its workers that exited lately, by their pids there (from its heartbeat) */
  readonly #exits = new Map<number, { code: number | null; signal: string | null }>();
  #gone = false;

  constructor(
    readonly name: string,
    readonly link: HostLink,
    private readonly router: RouterSide,
  ) {}

  get gone(): boolean {
    return this.#gone;
  }

  /** The outbox of our alias of its worker `rpid`. */
  outbox(rpid: number): PeerOutbox {
    return new RemoteOutbox(this, rpid);
  }

  members(role: string, pids: readonly number[]): void {
    if (!this.#gone && typeof role === 'string' && Array.isArray(pids)) this.router.members(this, role, pids);
  }

  exited(exits: readonly unknown[]): void {
    if (this.#gone || !Array.isArray(exits)) return;
    for (const x of exits.slice(0, MAX_EXITS)) {
      if (!Array.isArray(x) || !Number.isInteger(x[0]) || !this.aliases.has(x[0] as number)) continue;
      const code = Number.isInteger(x[1]) && (x[1] as number) >= 0 && (x[1] as number) < 256 ? (x[1] as number) : null;
      const signal = typeof x[2] === 'string' && /^SIG[A-Z0-9]{2,10}$/.test(x[2]) ? x[2] : null;
      this.#exits.set(x[0] as number, { code, signal });
    }
  }

  retired(pids: readonly number[]): void {
    for (const peer of this.#known(pids)) peer.retiring = true;
  }

  direct(pids: readonly number[]): void {
    for (const peer of this.#known(pids)) this.router.direct(peer);
  }

  /** Our aliases of those of `pids` we know (none once the host is gone). */
  #known(pids: readonly number[]): Peer[] {
    if (this.#gone || !Array.isArray(pids)) return [];
    const out: Peer[] = [];
    for (const rpid of pids) {
      const peer = this.aliases.get(rpid);
      if (peer) out.push(peer);
    }
    return out;
  }

  live(workers: readonly (readonly [number, string])[]): void {
    if (this.#gone || !Array.isArray(workers)) return;
    const seen = new Set<number>();
    for (const w of workers) {
      if (!Array.isArray(w)) continue;
      const peer = this.router.alias(this, w[0]);
      if (!peer) continue;
      if (!peer.role && typeof w[1] === 'string') peer.role = w[1];
      seen.add(w[0]);
    }
    for (const [rpid, peer] of [...this.aliases]) if (!seen.has(rpid)) this.router.gone(peer, null, this.#exits.get(rpid));
    this.#exits.clear();
  }

  receive(to: number, from: number, frame: unknown, tracked: boolean): void {
    if (!this.#gone) this.router.receive(this, to, from, frame, tracked);
  }

  ack(from: number, n: number, _b: number): void {
    if (!Number.isInteger(n) || n <= 0) return;
    const q = this.#unacked.get(from);
    if (!q) return;
    q.settle(n);
    if (q.head === q.origins.length) this.#unacked.delete(from);
  }

  takeAcks(): number[][] {
    const out: number[][] = [];
    for (const peer of this.#owing) {
      const ack = peer.owed.take();
      if (ack) out.push([peer.rpid!, ack.n, ack.b]);
    }
    this.#owing.clear();
    return out;
  }

  /** We are done with `n` frames of its worker `peer`'s: they are acknowledged with the next batch. */
  owe(peer: Peer, n: number, bytes: number): void {
    const urgent = peer.owed.add(n, bytes);
    if (this.#owing.size === 0 || urgent) this.link.poke(urgent);
    this.#owing.add(peer);
  }

  /** A frame of our worker `from` went there: its origin is told when the host acknowledges it. */
  track(from: number, origin: Origin, bytes: number): void {
    let q = this.#unacked.get(from);
    if (!q) this.#unacked.set(from, (q = new Unacked()));
    q.push(origin, bytes);
  }

  interrupted(reason: string): void {
    if (this.#gone) return;
    for (const peer of [...this.aliases.values()]) this.router.interrupt(peer, reason);
  }

  lost(reason: string): void {
    if (this.#gone) return;
    for (const peer of [...this.aliases.values()]) this.router.gone(peer, reason);
    this.#gone = true;
    this.calls.clear();
    // What our workers sent there is done with: their windows get it back.
    const unacked = [...this.#unacked.values()];
    this.#unacked.clear();
    for (const q of unacked) q.settle(Infinity);
    this.#owing.clear();
    this.router.done(this);
  }
}

/** The outbox of an alias: app frames go to the host's link; control frames stay on this host. */
class RemoteOutbox implements PeerOutbox {
  constructor(
    private readonly host: HostState,
    private readonly rpid: number,
  ) {}

  push(fr: Frame, bytes = 0, origin?: Origin): void {
    let from: number;
    switch (fr.k) {
      case Kind.Call:
        from = fr.p ?? 0;
        break;
      case Kind.Return:
      case Kind.Invoke:
      case Kind.Free:
        from = fr.w ?? 0;
        break;
      case Kind.Message:
        from = typeof fr.s === 'number' ? fr.s : 0;
        break;
      case Kind.Fail:
        from = 0;
        break;
      default:
        // Down, Members, acks, links: each host tells its own workers.
        origin?.sent(bytes);
        return;
    }
    if (this.host.gone) return origin?.sent(bytes);
    if (origin) this.host.track(from, origin, bytes);
    this.host.link.send(this.rpid, from, fr, origin !== undefined);
  }

  pushHandle(_fr: Frame, _handle: unknown, _keepOpen?: boolean, callback?: (err: Error | null) => void, origin?: Origin, bytes = 0): void {
    // Handles stay on their host: the router never sends one here.
    callback?.(new Error('a handle cannot go to another host'));
    origin?.sent(bytes);
  }

  uncork(): void {}

  clear(): void {}
}
