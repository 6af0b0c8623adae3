import { expect } from 'vitest';
// @ts-expect-error: a plain ESM fixture without types
import { UNICODE } from './fixtures/scenario.mjs';

interface Result {
  pid: number;
  got: { kind: string; i?: number; payload?: unknown }[];
  appSawMob: number;
}

/** The delivery counts and targets of fixtures/scenario.mjs, for B = 3 b workers. */
export function checkScenario(report: { driver: number; bpids: number[]; pidTarget: number; results: Result[] }): void {
  const { bpids, pidTarget, results } = report;
  expect(new Set(results.map((r) => r.pid))).toEqual(new Set(bpids));
  expect(results).toHaveLength(3);
  const anyIndexes: number[] = [];
  let workersWithAny = 0;
  for (const r of results) {
    const kinds = r.got.map((m) => m.kind);
    // all('b') reaches each b worker once; send() reaches every worker (each b once)
    expect(kinds.filter((k) => k === 'all')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'every')).toHaveLength(1);
    // pid(x) reaches only x
    expect(kinds.filter((k) => k === 'pid')).toHaveLength(r.pid === pidTarget ? 1 : 0);
    const anys = r.got.filter((m) => m.kind === 'any').map((m) => m.i!);
    if (anys.length) workersWithAny++;
    anyIndexes.push(...anys);
    // mob's frames never reach the app's own process.on('message') listeners
    expect(r.appSawMob).toBe(0);
  }
  // 30 any('b') sends: each delivered exactly once, spread over at least 2 workers
  expect(anyIndexes.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
  expect(workersWithAny).toBeGreaterThanOrEqual(2);
  // a nested JSON payload with unicode arrives unchanged, exactly once
  const unicode = results.flatMap((r) => r.got.filter((m) => m.kind === 'unicode'));
  expect(unicode).toHaveLength(1);
  expect(unicode[0]!.payload).toEqual(UNICODE);
}
