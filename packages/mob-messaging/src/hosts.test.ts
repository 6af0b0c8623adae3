// Two routers joined as two hosts over an in-memory link (the transport-free part of a mob over
// several hosts; mob-nats carries the same calls over NATS in the integration tests).
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Kind, REMOTE_BASE, expandFrame, type Frame } from './protocol.js';
import { Router, createRouter } from './router.js';
import type { HostLink, RemoteHost } from './hosts.js';

/** A cluster worker as the router sees it: frames it is sent are kept in `got`. */
class FakeWorker extends EventEmitter {
  readonly got: Frame[] = [];
  readonly process: EventEmitter & { pid: number };
  constructor(
    readonly id: number,
    pid: number,
  ) {
    super();
    this.process = Object.assign(new EventEmitter(), { pid });
  }
  send(msg: { f: unknown[] }, _handle?: unknown, _opts?: unknown, cb?: (err: Error | null) => void): boolean {
    for (const f of msg.f) this.got.push(expandFrame(f) as Frame);
    if (cb) process.nextTick(cb, null);
    return true;
  }
  isConnected(): boolean {
    return true;
  }
  /** the worker sends frames to its router */
  post(...frames: Frame[]): void {
    this.process.emit('message', { $mob: 2, f: frames });
  }
  of<K extends Frame['k']>(k: K): Extract<Frame, { k: K }>[] {
    return this.got.filter((f) => f.k === k) as Extract<Frame, { k: K }>[];
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function host(name: string, ...workers: [FakeWorker, string][]): Router {
  const cluster = new EventEmitter() as EventEmitter & { workers: Record<string, unknown> };
  cluster.workers = {};
  const router = createRouter({ roles: ['front', 'back'], host: name, cluster: cluster as never });
  for (const [w, role] of workers) {
    router.attach(w as never);
    w.post({ k: Kind.Hello, r: role, v: 2 }, { k: Kind.Ready });
  }
  return router;
}

/** Attaches one more worker to a router (it says hello and is ready). */
function router(r: Router, w: FakeWorker, role: string): void {
  r.attach(w as never);
  w.post({ k: Kind.Hello, r: role, v: 2 }, { k: Kind.Ready });
}

/** Joins two routers both ways; what crosses is recorded, and can be held back. */
function join(a: Router, aName: string, b: Router, bName: string, direct = false): { ab: RemoteHost; ba: RemoteHost; wire: unknown[][]; cut: () => void } {
  const wire: unknown[][] = [];
  let cut = false;
  const link = (to: () => RemoteHost, from: () => RemoteHost): HostLink => ({
    ...(direct ? { tags: { out: 'out', in: 'in' } } : {}),
    send: (toPid, fromPid, frame, tracked) => {
      const copy = JSON.parse(JSON.stringify(frame)) as unknown;
      wire.push([toPid, fromPid, tracked, copy]);
      if (!cut) queueMicrotask(() => to().receive(toPid, fromPid, copy, tracked));
    },
    poke: () =>
      queueMicrotask(() => {
        if (cut) return;
        for (const [pid, n, bytes] of from().takeAcks()) to().ack(pid!, n!, bytes!);
      }),
  });
  // ab: A's view of host b; frames A sends go to B's view of a (ba).
  const ab: RemoteHost = a.addHost(bName, link(() => ba, () => ab));
  const ba: RemoteHost = b.addHost(aName, link(() => ab, () => ba));
  return { ab, ba, wire, cut: () => (cut = true) };
}

describe('two hosts', () => {
  it('a call crosses to the other host and its answer comes back to the caller; the caller is acknowledged once the other host delivered it', async () => {
    const front = new FakeWorker(1, 101);
    const back = new FakeWorker(1, 201);
    const a = host('a', [front, 'front']);
    const b = host('b', [back, 'back']);
    const { ab, ba } = join(a, 'a', b, 'b');
    ab.members('back', [201]);
    ab.live([[201, 'back']]);
    ba.live([[101, 'front']]);
    await tick();
    // The front is told the role's ready workers: an alias of b's worker.
    const members = front.of(Kind.Members).filter((m) => m.r === 'back').at(-1)!;
    expect(members.p).toHaveLength(1);
    const alias = members.p[0]!;
    expect(alias).toBeGreaterThanOrEqual(REMOTE_BASE);

    front.post({ k: Kind.Call, r: 'back', i: 7, m: 'add', a: '[1,2]' });
    await tick();
    await tick();
    const call = back.of(Kind.Call)[0]!;
    expect(call).toMatchObject({ r: 'back', i: 7, m: 'add', a: '[1,2]' });
    expect(call.p).toBeGreaterThanOrEqual(REMOTE_BASE);
    // Not acknowledged before b wrote it to its worker; acknowledged after.
    const acked = (): number => front.of(Kind.Ack).reduce((n, f) => n + f.n, 0);
    back.post({ k: Kind.Return, p: call.p!, i: 7, v: 3 });
    await tick();
    await tick();
    await tick();
    const ret = front.of(Kind.Return)[0]!;
    expect(ret).toMatchObject({ p: 101, i: 7, v: 3 });
    expect(ret.w).toBe(alias);
    // hello, ready and the call: every frame the front sent is acknowledged, the call too.
    a.post(101, { k: Kind.Shutdown, t: 0 }); // flushes the pending ack with a frame
    await tick();
    expect(acked()).toBe(3);
  });

  it('answers the other host did not ask for are dropped: forged, or late after the call settled', async () => {
    const front = new FakeWorker(1, 101);
    const back = new FakeWorker(1, 201);
    const a = host('a', [front, 'front']);
    const b = host('b', [back, 'back']);
    const { ab } = join(a, 'a', b, 'b');
    ab.members('back', [201]);
    await tick();
    // A return for a call nobody sent, and a failure of one.
    ab.receive(101, 201, { k: Kind.Return, p: 101, i: 99, v: '"forged"' }, true);
    ab.receive(101, 0, { k: Kind.Fail, i: 98, e: { name: 'Error', message: 'forged' } }, false);
    // Frames for workers that are not ours, of unknown kinds, or not frames at all.
    ab.receive(999, 201, { k: Kind.Call, r: 'back', i: 1, m: 'x', a: '[]' }, true);
    ab.receive(101, 201, { k: 99 }, true);
    ab.receive(101, 201, 'nonsense', true);
    ab.receive(101, 201, { k: Kind.Invoke, p: 101, c: 1, a: '[]' }, true);
    await tick();
    expect(front.of(Kind.Return)).toEqual([]);
    expect(front.of(Kind.Fail)).toEqual([]);
  });

  it('a lost host: its workers leave the balancing first, then calls pending there fail with WorkerExitedError naming the host and the reason', async () => {
    const front = new FakeWorker(1, 101);
    const back = new FakeWorker(1, 201);
    const a = host('a', [front, 'front']);
    const b = host('b', [back, 'back']);
    const { ab, cut } = join(a, 'a', b, 'b');
    ab.members('back', [201]);
    await tick();
    const acked = (): number => front.of(Kind.Ack).reduce((n, f) => n + f.n, 0);
    cut();
    front.post({ k: Kind.Call, r: 'back', i: 1, m: 'slow', a: '[]' });
    await tick();
    // The call left for b, which never acknowledged it: the front's window still counts it.
    a.post(101, { k: Kind.LastErr, report: null });
    await tick();
    expect(acked()).toBe(2);
    ab.lost('host lost: no heartbeat for 3000 ms');
    await tick();
    a.post(101, { k: Kind.LastErr, report: null });
    await tick();
    expect(acked()).toBe(3);
    const order = front.got.filter((f) => f.k === Kind.Members || f.k === Kind.Fail || f.k === Kind.Down).map((f) => f.k);
    expect(order.slice(-3)).toEqual([Kind.Members, Kind.Fail, Kind.Down]);
    expect(front.of(Kind.Members).at(-1)).toMatchObject({ r: 'back', p: [] });
    const fail = front.of(Kind.Fail)[0]!;
    expect(fail.i).toBe(1);
    expect(fail.e).toMatchObject({ name: 'WorkerExitedError', props: { host: 'b', reason: 'host lost: no heartbeat for 3000 ms', pid: 201 } });
    expect(ab.gone).toBe(true);
    // A late answer from b: dropped, the call settled once.
    ab.receive(101, 201, { k: Kind.Return, p: 101, i: 1, v: 1 }, true);
    await tick();
    expect(front.of(Kind.Return)).toEqual([]);
  });

  it("messages: 'host/pid' senders, pid() to another host, all() over both hosts", async () => {
    const front = new FakeWorker(1, 101);
    const back1 = new FakeWorker(2, 102);
    const back2 = new FakeWorker(1, 201);
    const a = host('a', [front, 'front'], [back1, 'back']);
    const b = host('b', [back2, 'back']);
    const { ab, ba } = join(a, 'a', b, 'b');
    ab.members('back', [201]);
    ab.live([[201, 'back']]);
    ba.members('back', [102]);
    ba.live([[101, 'front'], [102, 'back']]);
    await tick();
    front.post({ k: Kind.Message, t: 'all', r: 'back', d: '"hi"' });
    await tick();
    await tick();
    expect(back1.of(Kind.Message)).toEqual([expect.objectContaining({ d: '"hi"', s: 101 })]);
    expect(back2.of(Kind.Message)).toEqual([expect.objectContaining({ d: '"hi"', s: 'a/101' })]);
    back2.post({ k: Kind.Message, t: 'pid', p: 'a/101', d: '"back"' });
    await tick();
    await tick();
    expect(front.of(Kind.Message)).toEqual([expect.objectContaining({ d: '"back"', s: 'b/201' })]);
    front.post({ k: Kind.Message, t: 'pid', p: 'b/201', d: '"again"' });
    await tick();
    await tick();
    expect(back2.of(Kind.Message).map((m) => m.d)).toEqual(['"hi"', '"again"']);
  });

  it('a call for a worker of the other host that no longer serves (retiring) is turned away unrun (y: 1), not served by another: the caller counts it pending on the one it chose', async () => {
    const front = new FakeWorker(1, 101);
    const back1 = new FakeWorker(1, 201);
    const back2 = new FakeWorker(2, 202);
    const a = host('a', [front, 'front']);
    const b = host('b', [back1, 'back'], [back2, 'back']);
    const { ab } = join(a, 'a', b, 'b');
    // a has not heard yet that 201 retired: it still chooses it.
    ab.members('back', [201]);
    await tick();
    b.retire(201);
    front.post({ k: Kind.Call, r: 'back', i: 5, m: 'add', a: '[1,2]' });
    await tick();
    await tick();
    await tick();
    expect(back1.of(Kind.Call)).toEqual([]);
    expect(back2.of(Kind.Call)).toEqual([]);
    expect(front.of(Kind.Fail)).toEqual([expect.objectContaining({ i: 5, y: 1, e: expect.objectContaining({ name: 'ShutdownError' }) })]);
  });

  it('direct paths: a worker of the other host is introduced (Alias) once that host says it is subscribed; one that retired goes Down with y: 1', async () => {
    const front = new FakeWorker(1, 101);
    const late = new FakeWorker(3, 103);
    const a = host('a', [front, 'front']);
    const b = host('b');
    const { ab } = join(a, 'a', b, 'b', true);
    ab.live([[201, 'back'], [202, 'back']]);
    ab.members('back', [201, 202]);
    await tick();
    // Members know both, but neither is subscribed yet: no Alias, calls go through the Kingpins.
    expect(front.of(Kind.Alias)).toEqual([]);
    ab.direct([202]);
    await tick();
    const alias = front.of(Kind.Alias);
    expect(alias).toHaveLength(1);
    expect(alias[0]).toMatchObject({ h: 'b', q: 202, o: 'out', e: 'in' });
    expect(alias[0]!.p).toBeGreaterThanOrEqual(REMOTE_BASE);
    // Told once; a worker that says hello later is told at once.
    ab.direct([202]);
    router(a, late, 'front');
    await tick();
    expect(front.of(Kind.Alias)).toHaveLength(1);
    expect(late.of(Kind.Alias).map((f) => f.q)).toEqual([202]);
    // 202 retired and exited between two heartbeats; 201 crashed.
    ab.retired([202]);
    ab.members('back', []);
    ab.live([]);
    await tick();
    const downs = front.of(Kind.Down);
    expect(downs.find((d) => d.p === alias[0]!.p)).toMatchObject({ h: 'b', y: 1 });
    expect(downs.find((d) => d.p !== alias[0]!.p)).toMatchObject({ h: 'b' });
    expect(downs.find((d) => d.p !== alias[0]!.p)!.y).toBeUndefined();
    expect(front.of(Kind.Members).at(-1)).toMatchObject({ r: 'back', p: [], g: [alias[0]!.p] });
  });

  it('this host lists the workers it retired, and those subscribed to the broker', () => {
    const back = new FakeWorker(1, 201);
    const b = host('b', [back, 'back']);
    const a = host('a');
    join(a, 'a', b, 'b', true);
    expect(b.direct()).toEqual([]);
    back.post({ k: Kind.Remote });
    expect(b.direct()).toEqual([201]);
    b.retire(201);
    expect(b.retired()).toEqual([201]);
  });
});
