import type { Balance } from './protocol.js';

/** What a strategy needs of a worker: how many calls it is running. */
export interface Candidate {
  readonly inflight: { readonly size: number };
}

/** Picks one of `ready` (never empty); `cursor` is the role's round-robin position. */
export type Strategy = <T extends Candidate>(ready: readonly T[], cursor: { rr: number }) => T;

/**
 * Round-robin: each ready worker in turn.
 *
 * @example
 * const cursor = { rr: 0 };
 * roundRobin(workers, cursor); // workers[0], then workers[1], ...
 */
export const roundRobin: Strategy = (ready, cursor) => {
  const i = cursor.rr >= ready.length ? 0 : cursor.rr;
  cursor.rr = i + 1;
  return ready[i]!;
};

/**
 * Least-pending: the ready worker with the fewest calls in flight; ties go round-robin.
 *
 * @example
 * leastPending([{ inflight: new Set([1, 2]) }, { inflight: new Set() }], { rr: 0 }); // the second
 */
export const leastPending: Strategy = (ready, cursor) => {
  const start = cursor.rr >= ready.length ? 0 : cursor.rr;
  let best = ready[start]!;
  for (let n = 1; n < ready.length && best.inflight.size > 0; n++) {
    const c = ready[(start + n) % ready.length]!;
    if (c.inflight.size < best.inflight.size) best = c;
  }
  cursor.rr = start + 1;
  return best;
};

/** The strategy of a balance name. */
export const strategies: Record<Balance, Strategy> = {
  'round-robin': roundRobin,
  'least-pending': leastPending,
};
