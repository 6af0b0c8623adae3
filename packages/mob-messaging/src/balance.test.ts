import { describe, expect, it } from 'vitest';
import { leastPending, roundRobin, strategies, type Candidate } from './balance.js';

interface W extends Candidate {
  readonly name: string;
}

function workers(...pending: number[]): W[] {
  return pending.map((n, i) => ({ name: `w${i}`, inflight: { size: n } }));
}

function pick(strategy: typeof roundRobin, ready: W[], cursor: { rr: number }, times: number): string[] {
  return Array.from({ length: times }, () => strategy(ready, cursor).name);
}

describe('roundRobin', () => {
  it('takes each ready worker in turn, whatever they are running', () => {
    const cursor = { rr: 0 };
    expect(pick(roundRobin, workers(5, 0, 9), cursor, 7)).toEqual(['w0', 'w1', 'w2', 'w0', 'w1', 'w2', 'w0']);
    expect(cursor.rr).toBe(1);
  });

  it('starts over when the list shrank under the cursor', () => {
    const cursor = { rr: 5 };
    expect(pick(roundRobin, workers(0, 0), cursor, 3)).toEqual(['w0', 'w1', 'w0']);
  });

  it('with one worker always picks it', () => {
    expect(pick(roundRobin, workers(3), { rr: 0 }, 3)).toEqual(['w0', 'w0', 'w0']);
  });
});

describe('leastPending', () => {
  it('picks the worker with the fewest calls in flight', () => {
    expect(leastPending(workers(2, 0, 1), { rr: 0 }).name).toBe('w1');
    expect(leastPending(workers(4, 3, 1), { rr: 0 }).name).toBe('w2');
    expect(leastPending(workers(4, 3, 1), { rr: 2 }).name).toBe('w2');
  });

  it('breaks ties round-robin, from the cursor', () => {
    const ready = workers(0, 0, 0);
    const cursor = { rr: 0 };
    expect(pick(leastPending, ready, cursor, 4)).toEqual(['w0', 'w1', 'w2', 'w0']);
    expect(leastPending(workers(1, 1, 1), { rr: 2 }).name).toBe('w2');
    // w0 and w2 tie at 1: from cursor 1 the scan meets w2 first
    expect(leastPending(workers(1, 5, 1), { rr: 1 }).name).toBe('w2');
  });

  it('follows the load as it changes', () => {
    const ready = workers(0, 0);
    const cursor = { rr: 0 };
    const a = leastPending(ready, cursor);
    (a.inflight as { size: number }).size++;
    const b = leastPending(ready, cursor);
    expect([a.name, b.name]).toEqual(['w0', 'w1']);
    (b.inflight as { size: number }).size += 2;
    expect(leastPending(ready, cursor).name).toBe('w0');
  });

  it('starts over when the list shrank under the cursor', () => {
    expect(leastPending(workers(1, 1), { rr: 9 }).name).toBe('w0');
  });
});

describe('strategies', () => {
  it('maps each balance name to its strategy', () => {
    expect(strategies['round-robin']).toBe(roundRobin);
    expect(strategies['least-pending']).toBe(leastPending);
    expect(Object.keys(strategies).sort()).toEqual(['least-pending', 'round-robin']);
  });
});
