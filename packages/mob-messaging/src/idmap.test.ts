import { describe, expect, it } from 'vitest';
import { IdMap, IdSet } from './idmap.js';

describe('IdMap', () => {
  it('behaves as a Map under random sets and deletes, through growing and shrinking', () => {
    const m = new IdMap<number>();
    const ref = new Map<number, number>();
    let seed = 7;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    // Keys in a narrow band (collisions, runs that wrap) and far apart (pid * 2^31 + id).
    const key = () => (rand(3) === 0 ? rand(5) * 2 ** 31 + rand(64) : rand(3000));
    // Plain comparisons in the loop (expect() is slow): the first mismatch is reported.
    let mismatch = '';
    for (let n = 0; n < 60_000 && !mismatch; n++) {
      const k = key();
      const op = rand(10);
      if (op < 5) {
        m.set(k, n);
        ref.set(k, n);
      } else if (op < 9) {
        if (m.delete(k) !== ref.delete(k)) mismatch = `delete(${k}) at step ${n}`;
      } else if (m.get(k) !== ref.get(k)) mismatch = `get(${k}) at step ${n}`;
      if (m.size !== ref.size) mismatch = `size at step ${n}`;
      if (n % 5_000 === 0) {
        if (JSON.stringify(m.entries()) !== JSON.stringify([...ref].sort((a, b) => a[0] - b[0]))) mismatch = `entries at step ${n}`;
        for (const [k2, v] of ref) if (m.get(k2) !== v) mismatch = `get(${k2}) after step ${n}`;
      }
    }
    expect(mismatch).toBe('');
    // Empty it in key order, then once more: it shrinks back and keeps working.
    for (const k of m.keys()) expect(m.delete(k)).toBe(true);
    expect(m.size).toBe(0);
    m.set(5, 1);
    expect(m.get(5)).toBe(1);
  });

  it('holds a pipeline of sequential ids, 1000 in flight, and frees each slot at once', () => {
    const m = new IdMap<object>();
    let lost = 0;
    for (let id = 0; id < 100_000; id++) {
      m.set(id, { id });
      if (id >= 1000 && !m.delete(id - 1000)) lost++;
    }
    expect(lost).toBe(0);
    expect(m.size).toBe(1000);
    expect(m.keys()[0]).toBe(99_000);
    expect(m.values().length).toBe(1000);
  });

  it('one id at a time, or a pipeline answered newest last, leaves no tombstones: the table is never rebuilt for them', () => {
    // One call at a time: each id set, then deleted. (Before: a tombstone each, and new
    // arrays every 12 calls, a noticeable part of a worker's CPU per call.)
    const m = new IdMap<true>();
    for (let id = 0; id < 10_000; id++) {
      m.set(id, true);
      expect(m.delete(id)).toBe(true);
    }
    expect(m.rebuilds).toBe(0);
    expect(m.longestRun).toBe(0);
    // 8 in flight, answered in order: tombstones behind the oldest until the newest goes, then
    // the whole run is free again.
    for (let id = 10_000; id < 10_008; id++) m.set(id, true);
    for (let id = 10_000; id < 10_007; id++) m.delete(id);
    expect(m.longestRun).toBe(8);
    m.delete(10_007);
    expect(m.longestRun).toBe(0);
    expect(m.size).toBe(0);
    expect(m.rebuilds).toBe(0);
    // A run that wraps past the end of the table, freed from its end.
    const w = new IdMap<true>();
    for (const id of [13, 14, 15, 16, 17]) w.set(id, true);
    for (const id of [13, 14, 15, 16]) w.delete(id);
    expect(w.longestRun).toBe(5);
    w.delete(17);
    expect(w.longestRun).toBe(0);
    w.set(29, true);
    expect(w.has(29)).toBe(true);
  });

  it('a table grown by a burst shrinks back once it empties again and again (one call at a time after it)', () => {
    const m = new IdMap<true>();
    for (let id = 0; id < 10_000; id++) m.set(id, true);
    expect(m.capacity).toBe(16_384);
    for (let id = 0; id < 10_000; id++) m.delete(id);
    for (let id = 10_000; id < 10_020; id++) {
      m.set(id, true);
      m.delete(id);
    }
    expect(m.capacity).toBe(16);
    m.clear();
    expect(m.capacity).toBe(16);
    for (let id = 0; id < 100; id++) m.set(id, true);
    m.clear();
    expect(m.capacity).toBe(16);
    expect(m.size).toBe(0);
  });

  it('keeps probes short when a burst of ids leaves a run of tombstones that later ids wrap into', () => {
    // A link's calls in flight, as a pipelining caller's first link had them: a burst of
    // 1000 calls in a row while its only link opened (every id), then every other id (round-
    // robin with a second link), 500 in flight, answered in order. The burst left 1000
    // tombstones in a row; once the ids wrapped around, each insertion walked through them to
    // their end, while the count of used slots stayed just below 3/4 (an insertion reuses a
    // tombstone), so the 3/4 rule never rebuilt the table: 122 slots per insertion for good,
    // 20% of that caller's CPU.
    const m = new IdMap<true>();
    for (let id = 0; id < 1000; id++) m.set(id, true);
    for (let id = 0; id < 1000; id++) m.delete(id);
    const inflight: number[] = [];
    let worst = 0;
    for (let id = 1001; id < 41_001; id += 2) {
      m.set(id, true);
      inflight.push(id);
      if (inflight.length > 500) m.delete(inflight.shift()!);
      // (Past the first wrap-around of the ids, once they have met the burst's tombstones.)
      if (id > 10_000 && id % 101 === 0) worst = Math.max(worst, m.longestRun);
    }
    expect(m.size).toBe(500);
    // Without the rebuild on a long probe, the burst's run of 1000 tombstones stays for good.
    expect(worst).toBeLessThan(64);
    for (const k of inflight) expect(m.has(k)).toBe(true);
  });

  it('finds no forged key (negative, NaN, fractional, huge) and refuses to store one', () => {
    const m = new IdMap<string>();
    m.set(0, 'a');
    for (const k of [-1, NaN, 0.5, Infinity, 2 ** 60, -0.5]) {
      expect(m.has(k)).toBe(false);
      expect(m.delete(k)).toBe(false);
    }
    expect(m.size).toBe(1);
    expect(() => m.set(-1, 'x')).toThrow(RangeError);
    expect(() => m.set(NaN, 'x')).toThrow(RangeError);
    m.clear();
    expect(m.size).toBe(0);
    expect(m.get(0)).toBe(undefined);
  });
});

describe('IdSet', () => {
  it('adds, deletes once, and lists ids in order', () => {
    const s = new IdSet();
    s.add(3).add(1).add(2).add(3);
    expect(s.size).toBe(3);
    expect(s.values()).toEqual([1, 2, 3]);
    expect(s.delete(2)).toBe(true);
    expect(s.delete(2)).toBe(false);
    expect(s.has(1)).toBe(true);
    s.clear();
    expect(s.size).toBe(0);
  });
});
