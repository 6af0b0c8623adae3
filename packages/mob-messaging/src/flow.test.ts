import { describe, expect, it } from 'vitest';
import { ConfigError, QueueFullError } from './errors.js';
import { DEFAULT_FLOW, Window, flowFromWire, flowLimits, flowToWire } from './flow.js';
import { Kind } from './protocol.js';

const small = { highWater: { count: 2, bytes: 100 }, max: { count: 4, bytes: 1000 } };

describe('Window', () => {
  it('says false from the high-water mark on, refuses refusable frames beyond the hard bound, and counts them', () => {
    const w = new Window(small, 'the path');
    expect(w.take(10, true, 'a')).toBe(true);
    expect(w.take(10, true, 'b')).toBe(false); // 2 frames: at the mark
    expect(w.take(10, true, 'c')).toBe(false);
    expect(w.take(10, true, 'd')).toBe(false);
    expect(() => w.take(10, true, 'any("slow").send()')).toThrow(QueueFullError);
    try {
      w.take(10, true, 'any("slow").send()');
    } catch (err) {
      expect((err as QueueFullError).code).toBe('E_MOB_QUEUE_FULL');
      expect((err as Error).message).toContain('any("slow").send(): the path is full (4 frames, 40 bytes');
      expect((err as Error).message).toContain('flow.max');
    }
    expect(w.refused).toBe(2);
    expect(w.count).toBe(4);
    // answers and control frames are never refused
    expect(w.take(10, false, '')).toBe(false);
    expect(w.count).toBe(5);
  });

  it('counts its refusals in a tally shared with other windows (a worker over all its links)', () => {
    const tally = { refused: 0 };
    const [a, b] = [new Window(small, 'the link to worker 1', tally), new Window(small, 'the link to worker 2', tally)];
    for (const w of [a, b]) for (let i = 0; i < 4; i++) w.take(10, true, 'x');
    expect(() => a.take(10, true, 'x')).toThrow(QueueFullError);
    expect(() => b.take(10, true, 'x')).toThrow(QueueFullError);
    expect([a.refused, b.refused, tally.refused]).toEqual([1, 1, 2]);
  });

  it('refuses a loop that keeps sending past the bound with one error per call site, made anew once credits come', () => {
    const w = new Window(small, 'the path');
    for (let i = 0; i < 4; i++) w.take(10, true, 'x');
    const refusal = (where: string): unknown => {
      try {
        w.take(10, true, where);
      } catch (err) {
        return err;
      }
      throw new Error('not refused');
    };
    const first = refusal('slow.work()');
    expect(first).toBeInstanceOf(QueueFullError);
    expect(refusal('slow.work()')).toBe(first);
    const other = refusal('any("slow").send()');
    expect(other).not.toBe(first);
    expect((other as Error).message).toMatch(/^any\("slow"\)\.send\(\): the path is full/);
    w.credit(1, 10);
    w.take(10, true, 'x');
    expect(refusal('any("slow").send()')).not.toBe(other);
    expect(w.refused).toBe(4);
  });

  it('bounds bytes as well as frames', () => {
    const w = new Window(small, 'the path');
    expect(w.take(99, true, 'a')).toBe(true);
    expect(w.take(1, true, 'b')).toBe(false); // 100 bytes: at the mark
    expect(() => w.take(901, true, 'c')).toThrow(/bound 4 frames \/ 1000 bytes/);
    expect(w.take(900, true, 'd')).toBe(false);
  });

  it('drain() resolves once credits bring it below the high-water mark, not before', async () => {
    const w = new Window(small, 'the path');
    w.take(10, true, 'a');
    w.take(10, true, 'b');
    w.take(10, true, 'c');
    let drained = false;
    const p = w.drain().then(() => (drained = true));
    w.credit(1, 10); // 2 left: still at the mark
    await Promise.resolve();
    expect(drained).toBe(false);
    w.credit(1, 10);
    await p;
    expect(drained).toBe(true);
    expect(w.count).toBe(1);
    expect(w.bytes).toBe(10);
    await w.drain(); // below: at once
  });

  it('never goes negative on excess credit, and a disabled window bounds nothing', async () => {
    const w = new Window(small, 'the path');
    w.credit(5, 500);
    expect([w.count, w.bytes]).toEqual([0, 0]);
    for (let i = 0; i < 4; i++) w.take(10, true, 'x');
    const p = w.drain();
    w.disable();
    await p;
    for (let i = 0; i < 100; i++) expect(w.take(10_000, true, 'x')).toBe(true);
    expect(w.over).toBe(false);
  });

  it('ack() credits a well-formed ack and nothing for a malformed one', () => {
    const w = new Window(small, 'the test path');
    for (let i = 0; i < 3; i++) w.take(40, false, '');
    for (const bad of [{ n: 0, b: 40 }, { n: 1.5, b: 40 }, { n: 1, b: -1 }, { n: '1', b: 40 }, { n: 1 }]) w.ack({ k: Kind.Ack, ...bad } as never);
    expect([w.count, w.bytes]).toEqual([3, 120]);
    w.ack({ k: Kind.Ack, n: 2, b: 80 });
    expect([w.count, w.bytes]).toEqual([1, 40]);
  });
});

describe('flow limits', () => {
  it('merges options over the defaults and checks them where they were given', () => {
    expect(flowLimits(DEFAULT_FLOW, undefined, 'x')).toBe(DEFAULT_FLOW);
    expect(flowLimits(DEFAULT_FLOW, { max: { count: 50_000 } }, 'x')).toEqual({
      highWater: DEFAULT_FLOW.highWater,
      max: { count: 50_000, bytes: DEFAULT_FLOW.max.bytes },
    });
    expect(() => flowLimits(DEFAULT_FLOW, { max: { count: 0 } }, 'start(name, { flow })')).toThrow(ConfigError);
    expect(() => flowLimits(DEFAULT_FLOW, { max: { count: 0 } }, 'start(name, { flow })')).toThrow(
      'start(name, { flow }).max.count must be an integer >= 1, got 0',
    );
    expect(() => flowLimits(DEFAULT_FLOW, { highWater: { count: 20_000 } }, 'f')).toThrow(/must not exceed max/);
    expect(() => flowLimits(DEFAULT_FLOW, 'big', 'f')).toThrow(ConfigError);
    expect(() => flowLimits(DEFAULT_FLOW, { hi: 1 }, 'f')).toThrow('f: unknown option "hi"; it takes highWater, max');
    expect(() => flowLimits(DEFAULT_FLOW, { max: { count: 5, n: 1 } }, 'f')).toThrow('f.max: unknown option "n"; it takes count, bytes');
    expect(() => flowLimits(DEFAULT_FLOW, { max: { count: Number.NaN } }, 'f')).toThrow('f.max.count must be an integer >= 1, got NaN');
  });

  it('travels in Welcome as four numbers, and anything else there is ignored', () => {
    expect(flowFromWire(flowToWire(small))).toEqual(small);
    expect(flowFromWire([1, 2, 3])).toBeUndefined();
    expect(flowFromWire([1, 2, 3, -4])).toBeUndefined();
    expect(flowFromWire({ __proto__: [1, 2, 3, 4] })).toBeUndefined();
    expect(flowFromWire('1,2,3,4')).toBeUndefined();
  });
});
