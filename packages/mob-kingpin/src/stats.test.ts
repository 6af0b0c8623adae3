import { afterEach, describe, expect, it, vi } from 'vitest';
import { Kind, LATENCY_BUCKETS, type ReportFrame } from 'mob-messaging';
import { StatsBook, percentile } from './stats.js';

const N = LATENCY_BUCKETS.length + 1;
/** figures of an export: calls, errors, sum, then `at[i]` calls in bucket i */
function figures(calls: number, errors: number, sum: number, at: Record<number, number>): number[] {
  const b = new Array<number>(N).fill(0);
  for (const [i, n] of Object.entries(at)) b[Number(i)] = n;
  return [calls, errors, sum, ...b];
}
function report(x: Record<string, number[]>, extra: Partial<ReportFrame> = {}): ReportFrame {
  return { k: Kind.Report, c: [1000, 0], m: 50_000_000, h: 5_000_000, e: [900, 100], r: 1, o: 2, l: 1, x, ...extra };
}

describe('percentile', () => {
  it('interpolates within a bucket, in ms', () => {
    const h = new Array<number>(N).fill(0);
    h[2] = 10; // 0.25..0.5 ms
    expect(percentile(h, 0.5)).toBe(0.375);
    expect(percentile(h, 1)).toBe(0.5);
    h[N - 1] = 10; // above 10 s
    expect(percentile(h, 0.99)).toBe(10_000);
    expect(percentile(new Array<number>(N).fill(0), 0.5)).toBeNull();
  });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('StatsBook', () => {
  it('keeps the counts of a worker that exited in its role, and adds its replacement', () => {
    const book = new StatsBook();
    book.fork(1, 'back');
    book.report(1, report({ foo: figures(7, 1, 0.007, { 3: 7 }) }));
    book.exit(1);
    book.fork(2, 'back');
    book.report(2, report({ foo: figures(3, 0, 0.003, { 3: 3 }), bar: figures(1, 0, 0.001, { 3: 1 }) }));
    expect(book.roleExports('back')).toEqual({
      foo: { calls: 10, errors: 1, sum: 0.01, buckets: new Array(N).fill(0).map((_, i) => (i === 3 ? 10 : 0)) },
      bar: { calls: 1, errors: 0, sum: 0.001, buckets: new Array(N).fill(0).map((_, i) => (i === 3 ? 1 : 0)) },
    });
    expect(book.worker(1, 'dead')).toBeNull();
    const w = book.worker(2, 'ready', 1)!;
    expect(w).toMatchObject({ pid: 2, state: 'ready', restarts: 1, rss: 50_000_000, heapUsed: 5_000_000, calls: 4, errors: 0, inflight: 1, pending: 2, links: 1, cpu: 0, callsPerSec: 0 });
    expect(w.p50).toBe(0.75);
  });

  it('ignores figures that are not what they should be', () => {
    const book = new StatsBook();
    book.fork(1, 'back');
    book.report(1, { k: Kind.Report, m: -5, c: ['x'] as unknown as number[], x: { foo: [1, 2], bar: 'no' as unknown as number[], ['x'.repeat(300)]: figures(1, 0, 0, {}) } });
    const w = book.worker(1, 'ready')!;
    expect(w.rss).toBe(0);
    expect(w.cpuSeconds).toBe(0);
    expect(w.exports).toEqual({});
    book.report(99, report({}));
    expect(book.worker(99, 'ready')).toBeNull();
  });

  it('rates are taken over a second or more: a report asked for a few ms after the periodic one changes nothing', () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
    const book = new StatsBook();
    book.fork(1, 'back');
    // 200 calls/s and 50% of a core, reported once a second...
    const at = (s: number, calls: number) => report({ foo: figures(calls, 0, 0, { 3: calls }) }, { c: [s * 500_000, 0] });
    book.report(1, at(0, 0));
    vi.setSystemTime(1_001_000);
    book.report(1, at(1, 200));
    vi.setSystemTime(1_002_000);
    book.report(1, at(2, 400));
    expect(book.worker(1, 'ready')).toMatchObject({ callsPerSec: 200, cpu: 50 });
    // ...and a status asks for one 5 ms later (one more call, 2.5 ms of CPU): still about 200/s,
    // not 1 call in 5 ms (200/s by luck) or 0 (a few ms without a call).
    vi.setSystemTime(1_002_005);
    book.report(1, at(2.005, 401));
    expect(book.worker(1, 'ready')).toMatchObject({ callsPerSec: 200, cpu: 50 });
    vi.setSystemTime(1_002_010);
    book.report(1, at(2.01, 401));
    expect(book.worker(1, 'ready')!.callsPerSec).toBe(199); // 201 calls in 1.01 s
    // A worker with one report so far: 0.
    book.fork(2, 'back');
    book.report(2, at(0, 5));
    expect(book.worker(2, 'ready')).toMatchObject({ callsPerSec: 0, cpu: 0 });
  });

  it('fresh(): waits for the asked workers, not for one that has been quiet for 3 s', async () => {
    const book = new StatsBook();
    book.fork(1, 'back');
    book.report(1, report({}));
    const asked: number[] = [];
    const done = book.fresh([1, 7], (pid) => (asked.push(pid), true), 5000);
    expect(asked).toEqual([1]); // 7 is unknown
    book.report(1, report({}));
    await done;
    const t0 = Date.now();
    await book.fresh([1], () => true, 50); // nobody answers: the deadline
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
  });
});
