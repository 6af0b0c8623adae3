// Two workers of two hosts over an in-memory broker: the transport-free part of the direct
// paths (mob-nats carries the same batches over a real nats-server in the integration tests).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_FLOW } from './flow.js';
import { Kind, REMOTE_BASE, expandFrame, type Frame } from './protocol.js';
import { Remotes, type RemoteWire } from './remote.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

afterEach(() => {
  vi.useRealTimers();
});

interface Side {
  remotes: Remotes;
  got: Frame[];
  /** called with each frame dispatched (an app answering at once, say) */
  hook?: (fr: Frame) => void;
  stopping: boolean;
  published: { host: string; pid: number; body: string }[];
}

/** Worker `pid` of `host`; what it publishes goes to `deliver`. */
function worker(host: string, pid: number, deliver: (host: string, pid: number, body: string) => void, maxPayload = 1024 * 1024): Side {
  const side: Side = { remotes: null as never, got: [], stopping: false, published: [] };
  const wire: RemoteWire = {
    connected: true,
    maxPayload,
    publish(h, p, body) {
      side.published.push({ host: h, pid: p, body });
      queueMicrotask(() => deliver(h, p, body));
      return true;
    },
    flush: () => Promise.resolve(),
  };
  side.remotes = new Remotes({ pid, host, flow: () => DEFAULT_FLOW, dispatch: (fr) => (side.got.push(fr), side.hook?.(fr)), stopping: () => side.stopping });
  side.remotes.attach(wire);
  return side;
}

/** Worker 101 of host a and worker 201 of host b, introduced to each other (a's alias of 201 is A_B; b's of 101 is B_A). */
const A_B = REMOTE_BASE + 1;
const B_A = REMOTE_BASE + 7;
function pair(opts: { introduce?: boolean; maxPayload?: number } = {}): { a: Side; b: Side } {
  const sides: Record<string, Side> = {};
  const deliver = (host: string, pid: number, body: string): void => sides[`${host}/${pid}`]?.remotes.receive(body);
  const a = (sides['a/101'] = worker('a', 101, deliver, opts.maxPayload));
  const b = (sides['b/201'] = worker('b', 201, deliver, opts.maxPayload));
  a.remotes.alias({ k: Kind.Alias, p: A_B, h: 'b', q: 201, r: 'back', o: 'tag-b-for-a', e: 'tag-a-for-b' });
  if (opts.introduce !== false) b.remotes.alias({ k: Kind.Alias, p: B_A, h: 'a', q: 101, r: 'front', o: 'tag-a-for-b', e: 'tag-b-for-a' });
  return { a, b };
}

const call = (i: number, a: unknown = [1]): Frame => ({ k: Kind.Call, r: 'back', i, m: 'add', a });
/** The frames of a batch's text (after its three fields). */
const framesOf = (body: string): unknown[] => JSON.parse(body.split(' ').slice(3).join(' ')) as unknown[];
/** A batch's text as a worker of host `h` sends it: `<host> <pid> <tag> <frames>`. */
const batch = (h: string, p: number, g: string, f: unknown[]): string => `${h} ${p} ${g} ${JSON.stringify(f)}`;

describe('direct paths between workers of two hosts', () => {
  it('a call goes to the other worker and its answer comes back; acks return the window', async () => {
    // A lone ack waits a few ms (a timer) for a frame to ride with. The test decides when that
    // timer fires: on a loaded machine a real one could fire between two turns of this test
    // (a turn awaited from setImmediate's phase runs after the next turn's timers).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { a, b } = pair();
    expect(a.remotes.send(A_B, call(1), 'call back.add()')).toBe(true);
    await tick();
    // The callee sees the caller as its own Kingpin's alias of it.
    expect(b.got).toEqual([{ k: Kind.Call, r: 'back', i: 1, m: 'add', a: [1], p: B_A }]);
    expect(b.remotes.send(B_A, { k: Kind.Return, p: B_A, i: 1, v: 2 }, undefined)).toBe(true);
    await tick();
    expect(a.got).toEqual([{ k: Kind.Return, p: 101, i: 1, v: 2 }]);
    // One message each way: the callee's ack of the call rode with the answer.
    expect(a.published).toHaveLength(1);
    expect(b.published).toHaveLength(1);
    expect(framesOf(b.published[0]!.body).map((f: unknown) => (expandFrame(f) as Frame).k)).toEqual([Kind.Return, Kind.Ack]);
    // The caller's ack of the answer goes alone after a few ms, not before.
    expect(a.published).toHaveLength(1);
    vi.advanceTimersByTime(100);
    expect(a.published).toHaveLength(2);
    expect(framesOf(a.published[1]!.body).map((f: unknown) => (expandFrame(f) as Frame).k)).toEqual([Kind.Ack]);
    expect(b.published).toHaveLength(1);
  });

  it('a lone call leaves at once, calls made together leave together, and answers given while a batch is handled leave with its end', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { a, b } = pair();
    // b's app answers each call at once (a synchronous export).
    b.hook = (fr) => {
      if (fr.k === Kind.Call) b.remotes.send(B_A, { k: Kind.Return, p: B_A, i: fr.i, v: 2 }, undefined);
    };
    a.remotes.send(A_B, call(1), 'c');
    // Published within send(), not at the end of the turn.
    expect(a.published).toHaveLength(1);
    a.remotes.send(A_B, call(2), 'c');
    a.remotes.send(A_B, call(3), 'c');
    // Call 1 is pending there: these wait for the end of the turn, and go together.
    expect(a.published).toHaveLength(1);
    await tick();
    expect(a.published).toHaveLength(2);
    const calls = framesOf(a.published[1]!.body).map((f) => expandFrame(f) as Frame & { i: number });
    expect(calls.filter((f) => f.k === Kind.Call).map((f) => f.i)).toEqual([2, 3]);
    // b: one message per batch it handled, its answers and its ack together.
    const kinds = (body: string): number[] => framesOf(body).map((f) => (expandFrame(f) as Frame).k);
    expect(b.published.map((m) => kinds(m.body))).toEqual([
      [Kind.Return, Kind.Ack],
      [Kind.Return, Kind.Return, Kind.Ack],
    ]);
    expect(a.got.map((f) => (f as { i: number }).i)).toEqual([1, 2, 3]);
  });

  it('an answer given later leaves at once when it is the last one its caller waits for here, else with the others at the end of the turn', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { a, b } = pair();
    a.remotes.send(A_B, call(1), 'c');
    a.remotes.send(A_B, call(2), 'c');
    await tick();
    expect(b.got).toHaveLength(2);
    const before = b.published.length;
    b.remotes.send(B_A, { k: Kind.Return, p: B_A, i: 1, v: 2 }, undefined);
    // Call 2 is still served here: the answer waits for the end of the turn.
    expect(b.published).toHaveLength(before);
    b.remotes.send(B_A, { k: Kind.Return, p: B_A, i: 2, v: 2 }, undefined);
    expect(b.published).toHaveLength(before);
    await tick();
    expect(b.published).toHaveLength(before + 1);
    expect(a.got.map((f) => (f as { i: number }).i)).toEqual([1, 2]);
    // One call, answered later: the answer leaves within send().
    a.remotes.send(A_B, call(3), 'c');
    await tick();
    b.remotes.send(B_A, { k: Kind.Return, p: B_A, i: 3, v: 2 }, undefined);
    expect(b.published).toHaveLength(before + 2);
  });

  it('calls one at a time keep one ack timer per peer, not one per answer; a lone ack still leaves within 10 ms', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const made = vi.spyOn(globalThis, 'setTimeout');
    const { a, b } = pair();
    for (let i = 1; i <= 50; i++) {
      a.remotes.send(A_B, call(i), 'call back.add()');
      await tick();
      b.remotes.send(B_A, { k: Kind.Return, p: B_A, i, v: 2 }, undefined);
      await tick();
    }
    expect(a.got).toHaveLength(50);
    // Each call carried the ack of the answer before it: one message per call, none alone.
    expect(a.published).toHaveLength(50);
    // (Before: a timer made, and cleared, for each answer.)
    expect(made.mock.calls.length).toBeLessThanOrEqual(2);
    // The last answer's ack: not yet, then alone within 10 ms.
    vi.advanceTimersByTime(4);
    expect(a.published).toHaveLength(50);
    vi.advanceTimersByTime(6);
    expect(a.published).toHaveLength(51);
    expect(framesOf(a.published[50]!.body)).toEqual([[Kind.Ack, 1, expect.any(Number)]]);
    made.mockRestore();
  });

  it('an answer is taken once, only from the worker the call went to; a wrong tag is dropped', async () => {
    const { a, b } = pair();
    a.remotes.send(A_B, call(5), 'c');
    await tick();
    // A forged batch: right sender, wrong tag.
    a.remotes.receive(batch('b', 201, 'guess', [[Kind.Return, 101, 5, 99]]));
    // An answer to a call never made.
    a.remotes.receive(batch('b', 201, 'tag-a-for-b', [[Kind.Return, 101, 6, 99]]));
    expect(a.got).toEqual([]);
    b.remotes.send(B_A, { k: Kind.Return, p: B_A, i: 5, v: 1 }, undefined);
    await tick();
    // The same answer again (a replay) is dropped.
    const replay = b.published.at(-1)!.body;
    a.remotes.receive(replay);
    expect(a.got.filter((f) => f.k === Kind.Return)).toHaveLength(1);
  });

  it('an answer to a call that came through the Kingpins is not taken (it goes back the same way)', () => {
    const { b } = pair();
    expect(b.remotes.send(B_A, { k: Kind.Return, p: B_A, i: 9, v: 1 }, undefined)).toBeUndefined();
  });

  it('a batch from a worker not introduced yet waits for its Alias frame', async () => {
    const { a, b } = pair({ introduce: false });
    a.remotes.send(A_B, call(1), 'c');
    await tick();
    expect(b.got).toEqual([]);
    b.remotes.alias({ k: Kind.Alias, p: B_A, h: 'a', q: 101, o: 'tag-a-for-b', e: 'tag-b-for-a' });
    expect(b.got).toHaveLength(1);
    expect(b.got[0]).toMatchObject({ k: Kind.Call, i: 1, p: B_A });
  });

  it('a batch waits for its Alias past 3 s while there is room (a host back under its old name is introduced late)', async () => {
    const { a, b } = pair({ introduce: false });
    a.remotes.send(A_B, call(1), 'c');
    await tick();
    const now = Date.now();
    const spy = vi.spyOn(Date, 'now').mockReturnValue(now + 10_000);
    // Another worker not introduced yet, 10 s later: the first batch still waits (it went before).
    b.remotes.receive(batch('c', 301, 'tag', [[Kind.Call, 'back', 5, 'add', '[1]']]));
    b.remotes.alias({ k: Kind.Alias, p: B_A, h: 'a', q: 101, o: 'tag-a-for-b', e: 'tag-b-for-a' });
    spy.mockRestore();
    expect(b.got.map((f) => (f as { i?: number }).i)).toEqual([1]);
  });

  it('a batch that waited for its Alias is taken only with the tag the Alias gives: forged or stale ones are dropped', async () => {
    const { a, b } = pair({ introduce: false });
    // Someone else on the server, posing as worker 101 of host a, before the Kingpin introduces it.
    b.remotes.receive(batch('a', 101, 'guessed', [[Kind.Call, 'back', 7, 'add', '[1]']]));
    b.remotes.receive(batch('a', 101, 'x'.repeat(65), [[Kind.Call, 'back', 8, 'add', '[1]']]));
    a.remotes.send(A_B, call(1), 'c');
    await tick();
    b.remotes.alias({ k: Kind.Alias, p: B_A, h: 'a', q: 101, o: 'tag-a-for-b', e: 'tag-b-for-a' });
    expect(b.got.map((f) => (f as { i?: number }).i)).toEqual([1]);
  });

  it('a stopping worker turns calls away unrun (y: 1): the caller sends them elsewhere', async () => {
    const { a, b } = pair();
    b.stopping = true;
    a.remotes.send(A_B, call(3), 'c');
    await tick();
    await tick();
    expect(b.got).toEqual([]);
    expect(a.got).toHaveLength(1);
    expect(a.got[0]).toMatchObject({ k: Kind.Fail, i: 3, y: 1, e: { name: 'ShutdownError' } });
  });

  it('when the Kingpin says the worker is gone, its pending calls fail with WorkerExitedError naming the host and why', () => {
    const { a } = pair();
    a.remotes.send(A_B, call(1), 'c');
    a.remotes.send(A_B, call(2), 'c');
    a.remotes.down({ k: Kind.Down, p: A_B, r: 'back', c: null, s: null, h: 'b', w: 'host lost: no heartbeat for 3000 ms' });
    expect(a.got.map((f) => [f.k, (f as { i: number }).i])).toEqual([
      [Kind.Fail, 1],
      [Kind.Fail, 2],
    ]);
    expect(a.got[0]).toMatchObject({ e: { name: 'WorkerExitedError', props: { host: 'b', reason: 'host lost: no heartbeat for 3000 ms', pid: 201, role: 'back' } } });
    expect((a.got[0] as { y?: number }).y).toBeUndefined();
    // Gone: frames for it go through the Kingpin now.
    expect(a.remotes.send(A_B, call(3), 'c')).toBeUndefined();
  });

  it('a worker that retired: calls pending there never ran and go elsewhere (y: 1)', () => {
    const { a } = pair();
    a.remotes.send(A_B, call(1), 'c');
    a.remotes.down({ k: Kind.Down, p: A_B, r: 'back', c: 0, s: null, h: 'b', y: 1 });
    expect(a.got[0]).toMatchObject({ k: Kind.Fail, i: 1, y: 1, e: { name: 'ShutdownError' } });
  });

  it('the window bounds what is in flight to one worker: beyond it a call is refused at its call', () => {
    const { a } = pair();
    // No answers, no acks: b is not delivered to.
    const sides = worker('a', 101, () => {});
    sides.remotes.alias({ k: Kind.Alias, p: A_B, h: 'b', q: 201, o: 'x', e: 'y' });
    let refused: Error | undefined;
    for (let i = 0; i <= DEFAULT_FLOW.max.count; i++) {
      try {
        sides.remotes.send(A_B, call(i), 'call back.add()');
      } catch (err) {
        refused = err as Error;
      }
    }
    expect(refused?.name).toBe('QueueFullError');
    expect(refused?.message).toContain('flow.max');
    expect(a.got).toEqual([]);
  });

  it('a frame larger than the broker takes fails its call with PayloadError', async () => {
    const { a } = pair({ maxPayload: 1000 });
    a.remotes.send(A_B, call(1, JSON.stringify('x'.repeat(5000))), 'c');
    await tick();
    expect(a.got).toHaveLength(1);
    expect(a.got[0]).toMatchObject({ k: Kind.Fail, i: 1, e: { name: 'PayloadError' } });
    expect(a.published).toHaveLength(0);
  });

  it('an answer larger than the broker takes reaches its caller as a PayloadError; one whose replacement would not fit either is not sent, once', async () => {
    const { a, b } = pair({ maxPayload: 1000 });
    a.remotes.send(A_B, call(1), 'c');
    await tick();
    expect(b.got).toHaveLength(1);
    b.remotes.send(B_A, { k: Kind.Return, p: B_A, i: 1, v: JSON.stringify('x'.repeat(5000)) }, undefined);
    await tick();
    expect(a.got).toHaveLength(1);
    expect(a.got[0]).toMatchObject({ k: Kind.Return, i: 1, e: { name: 'PayloadError', code: 'E_MOB_PAYLOAD' } });
    expect((a.got[0] as { e: { message: string; stack?: string } }).e.message).toMatch(/^the answer of worker 201 on host "b" cannot travel: a frame of \d+ bytes, larger than the NATS server's max_payload \(1000 bytes\)/);
    expect((a.got[0] as { e: { stack?: string } }).e.stack).toBeUndefined();

    // A broker too small even for the replacement: nothing more is published, and no loop.
    const tiny = pair({ maxPayload: 300 });
    tiny.a.remotes.send(A_B, call(1), 'c');
    await tick();
    expect(tiny.b.got).toHaveLength(1);
    const before = tiny.b.published.length;
    tiny.b.remotes.send(B_A, { k: Kind.Return, p: B_A, i: 1, v: JSON.stringify('x'.repeat(5000)) }, undefined);
    await tick();
    await tick();
    expect(tiny.b.published.length - before).toBeLessThanOrEqual(1);
    expect(tiny.a.got.filter((f) => f.k === Kind.Return)).toEqual([]);
  });

  it('hostile bytes on a worker subject are dropped without a throw, and nothing reaches an inherited property', async () => {
    const { a, b } = pair();
    const junk = ['', 'null', '[]', '{', '{"h":1}', '{"__proto__":{"x":1}}', '{"h":"a","p":101,"g":"tag-b-for-a","f":[]}', 'a', 'a 101', 'a 101 tag-b-for-a', 'a 101 tag-b-for-a {"length":3}', 'a 101 tag-b-for-a [', 'a 0101 tag-b-for-a []', 'a 1e2 tag-b-for-a []', 'a -1 tag-b-for-a []', ' 101 tag-b-for-a []', `${'a'.repeat(65)} 101 x []`, `a 101 ${'x'.repeat(65)} []`, 'a  101 tag-b-for-a []'];
    junk.push(batch('a', 101, 'tag-b-for-a', [null, 7, 'x', { k: 'toString' }, { k: Kind.Call, i: -1 }, { k: Kind.Ack, n: -5, b: 1 }, [Kind.Call, {}, 'x']]));
    junk.push(batch('constructor', 1, '', []), batch('a', 2 ** 40, '', []));
    for (let i = 0; i < 1000; i++) junk.push(batch(`h${i}`, i + 1, 'x', [[Kind.Call, 'back', i, 'add', []]]));
    for (const j of junk) expect(() => b.remotes.receive(j)).not.toThrow();
    expect(b.got).toEqual([]);
    // Calls still work.
    a.remotes.send(A_B, call(1), 'c');
    await tick();
    expect(b.got).toHaveLength(1);
  });
});

describe('the broker lost (interrupt)', () => {
  it('fails the calls pending on other hosts, saying they may have run; an answer queued this turn still leaves', async () => {
    const { a, b } = pair();
    a.remotes.send(A_B, call(1), 'c');
    a.remotes.send(A_B, call(2), 'c');
    await tick();
    expect(b.got.map((f) => (f as { i: number }).i)).toEqual([1, 2]);
    // b answers call 1, and loses the broker in the same turn: the answer is not lost with it
    // (the client holds it until it reconnects).
    b.remotes.send(B_A, { k: Kind.Return, p: B_A, i: 1, v: 2 }, undefined);
    b.remotes.interrupt('this worker lost the NATS server; the call may have run');
    // a loses it too: call 2 fails, and call 1's answer, already on its way, settles call 1 first.
    await tick();
    expect(a.got).toEqual([{ k: Kind.Return, p: 101, i: 1, v: 2 }]);
    a.remotes.interrupt('this worker lost the NATS server; the call may have run');
    expect(a.got).toHaveLength(2);
    const fail = a.got[1] as { k: number; i: number; e: { name: string; props?: { host?: string; reason?: string } }; y?: number };
    expect(fail).toMatchObject({ k: Kind.Fail, i: 2, e: { name: 'WorkerExitedError' } });
    expect(fail.y).toBeUndefined();
    expect(fail.e.props).toMatchObject({ host: 'b', reason: 'this worker lost the NATS server; the call may have run' });
    // Its window starts afresh: the path takes calls again.
    expect(a.remotes.send(A_B, call(3), 'c')).toBe(true);
  });
});
