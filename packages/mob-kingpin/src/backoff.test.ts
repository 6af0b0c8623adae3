import { describe, expect, it } from 'vitest';
import { Backoff, DEFAULT_BACKOFF } from './backoff.js';

describe('Backoff', () => {
  it('revives at once, then doubles from 100 ms up to 15 s while workers die at start', () => {
    const b = new Backoff(DEFAULT_BACKOFF);
    const delays = Array.from({ length: 12 }, () => b.next(50, 0));
    expect(delays).toEqual([0, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 15000, 15000, 15000]);
    expect(b.early).toBe(12);
  });

  it('does not grow for a worker that was ready for minUptime, and resets after a stable worker', () => {
    const b = new Backoff(DEFAULT_BACKOFF);
    b.next(10, 0);
    b.next(10, 0);
    expect(b.next(5_000, 2_000)).toBe(0);
    expect(b.early).toBe(2);
    expect(b.next(10, 0)).toBe(200);
    b.stable();
    expect(b.next(10, 0)).toBe(0);
    expect(b.next(10, 0)).toBe(100);
    // a worker that lived past `reset` starts the count over
    expect(b.next(40_000, 0)).toBe(0);
    expect(b.early).toBe(1);
  });

  it('takes its numbers from the options', () => {
    const b = new Backoff({ ...DEFAULT_BACKOFF, initial: 10, factor: 3, max: 50 });
    expect([b.next(0, 0), b.next(0, 0), b.next(0, 0), b.next(0, 0), b.next(0, 0)]).toEqual([0, 10, 30, 50, 50]);
  });
});
