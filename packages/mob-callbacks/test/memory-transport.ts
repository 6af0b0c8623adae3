// An in-memory network of Transports for unit tests: no processes, no IPC. It routes frames
// between fake pids the way the Kingpin's router does (mob-messaging/src/router.ts), and
// delivers them a turn later, batched per turn, JSON-encoded, like a real channel.
import {
  Kind,
  compactFrame,
  expandFrame,
  WorkerExitedError,
  decodePayload,
  encodePayload,
  serializeError,
  type CallFrame,
  type Frame,
  type FrameKind,
  type FrameOf,
  type Transport,
} from 'mob-messaging';

// Taken before any test fakes timers: delivery keeps running under vi.useFakeTimers().
const nextTurn: (fn: () => void) => void = globalThis.setImmediate.bind(globalThis);

/** A Transport of one fake process, with what it posted and received. */
export interface MemoryTransport extends Transport {
  /** the role it serves calls for ('' when none) */
  readonly role: string;
  /** every frame this process posted, in order, as they left it */
  readonly posted: Frame[];
  /** every frame delivered to this process, in order */
  readonly received: Frame[];
  /** false once killed */
  readonly alive: boolean;
}

/** A set of fake processes and the router between them. */
export interface MemoryNetwork {
  /** A process `pid`; with a role, calls to that role are routed to it (round-robin). */
  connect(pid: number, role?: string): MemoryTransport;
  /** Deliver `frame` to `pid` as the Kingpin would (a 'fail', a 'down', a forged 'free'). */
  inject(pid: number, frame: Frame): void;
  /**
   * The process `pid` exits: its calls in flight fail with WorkerExitedError at their callers
   * and every other process gets a 'down' frame, as the router's #finish does.
   */
  kill(pid: number, code?: number | null, signal?: string | null): void;
  /** Resolves once no frame is waiting to be delivered (bounded: rejects after `maxTurns`). */
  settle(maxTurns?: number): Promise<void>;
  /** Calls routed to a process and not answered yet. */
  readonly inflight: number;
}

interface Endpoint {
  readonly transport: MemoryTransport;
  readonly handlers: Map<number, (frame: any) => void>;
  alive: boolean;
}

/**
 * Creates an empty network.
 *
 * @example
 * const net = createMemoryNetwork();
 * const a = net.connect(1);
 * const b = net.connect(2, 'back');
 * // a.post({ k: 'call', r: 'back', i: 0, m: 'add', a: '[1,2]' }) reaches b with p = 1
 */
export function createMemoryNetwork(): MemoryNetwork {
  const endpoints = new Map<number, Endpoint>();
  const rr = new Map<string, number>();
  const held = new Map<string, CallFrame[]>();
  // caller pid and call id -> pid of the process serving it
  const inflight = new Map<string, number>();
  let queue: { to: number; json: string }[] = [];
  let scheduled = false;

  const flush = (): void => {
    scheduled = false;
    const batch = queue;
    queue = [];
    for (const { to, json } of batch) {
      const ep = endpoints.get(to);
      if (!ep?.alive) continue;
      const frame = expandFrame(JSON.parse(json)) as Frame;
      ep.transport.received.push(frame);
      const handler = ep.handlers.get(frame.k);
      if (!handler) continue;
      try {
        handler(frame);
      } catch (err) {
        // As in a worker: a throwing handler is the process's uncaught error, not a frame problem.
        process.nextTick(() => {
          throw err;
        });
      }
    }
  };

  const deliver = (to: number, frame: Frame): void => {
    queue.push({ to, json: JSON.stringify(compactFrame(frame)) });
    if (!scheduled) {
      scheduled = true;
      nextTurn(flush);
    }
  };

  const servers = (role: string): Endpoint[] =>
    [...endpoints.values()].filter((ep) => ep.alive && ep.transport.role === role);

  const routeCall = (fr: CallFrame): void => {
    const ready = servers(fr.r);
    if (ready.length === 0) {
      // The router holds calls for a role with no ready worker until one is.
      const list = held.get(fr.r) ?? [];
      list.push(fr);
      held.set(fr.r, list);
      return;
    }
    const at = (rr.get(fr.r) ?? 0) % ready.length;
    rr.set(fr.r, at + 1);
    const target = ready[at]!;
    inflight.set(`${fr.p}:${fr.i}`, target.transport.pid);
    deliver(target.transport.pid, fr);
  };

  // What the Kingpin does with a frame a process posted.
  const route = (from: number, frame: Frame): void => {
    switch (frame.k) {
      case Kind.Call: {
        frame.p = from;
        return routeCall(frame);
      }
      case Kind.Return: {
        // Only an answer to a call routed to `from` is forwarded: no forged answers.
        const key = `${frame.p}:${frame.i}`;
        if (inflight.get(key) !== from) return;
        inflight.delete(key);
        return deliver(frame.p, frame);
      }
      case Kind.Invoke:
      case Kind.Free: {
        if (!endpoints.get(frame.p)?.alive) return;
        frame.w = from;
        return deliver(frame.p, frame);
      }
      default:
        // hello, ready, scale...: the Kingpin's business, not routed to processes.
        return;
    }
  };

  return {
    connect(pid, role = '') {
      if (endpoints.get(pid)?.alive) throw new Error(`memory network: pid ${pid} is already connected`);
      const handlers = new Map<number, (frame: any) => void>();
      const ep: Endpoint = {
        handlers,
        alive: true,
        transport: {
          pid,
          role,
          posted: [],
          received: [],
          get alive() {
            return ep.alive;
          },
          post(frame) {
            if (!ep.alive) return true;
            // A copy, as the channel serializes it: later changes to `frame` do not travel.
            // In its wire form, as the outbox sends it.
            const json = JSON.stringify(compactFrame(frame));
            ep.transport.posted.push(expandFrame(JSON.parse(json)) as Frame);
            route(pid, expandFrame(JSON.parse(json)) as Frame);
            return true;
          },
          flush() {},
          handle<K extends FrameKind>(kind: K, handler: (frame: FrameOf<K>) => void) {
            handlers.set(kind, handler);
          },
          encode: (value, where, owned) => encodePayload(value, where, 'json', owned),
          decode: (payload) => decodePayload(payload, 'json'),
        },
      };
      endpoints.set(pid, ep);
      if (role) {
        const waiting = held.get(role);
        held.delete(role);
        for (const fr of waiting ?? []) routeCall(fr);
      }
      return ep.transport;
    },

    inject(pid, frame) {
      deliver(pid, frame);
    },

    kill(pid, code = 1, signal = null) {
      const ep = endpoints.get(pid);
      if (!ep?.alive) return;
      ep.alive = false;
      const role = ep.transport.role;
      const wire = serializeError(new WorkerExitedError(role, pid, code, signal));
      for (const [key, server] of inflight) {
        if (server !== pid) continue;
        inflight.delete(key);
        const [caller, id] = key.split(':').map(Number) as [number, number];
        deliver(caller, { k: Kind.Fail, i: id, e: wire });
      }
      for (const other of endpoints.values()) {
        if (other.alive) deliver(other.transport.pid, { k: Kind.Down, p: pid, r: role, c: code, s: signal });
      }
    },

    async settle(maxTurns = 10_000) {
      for (let turn = 0; scheduled || queue.length > 0; turn++) {
        if (turn >= maxTurns) throw new Error(`memory network: frames still in flight after ${maxTurns} turns`);
        await new Promise<void>((resolve) => nextTurn(resolve));
      }
    },

    get inflight() {
      return inflight.size;
    },
  };
}
