import { describe, expect, it } from 'vitest';
import { bytes, duration, listText, roleTable, table } from '../src/format.js';
import { main } from '../src/index.js';

describe('format', () => {
  it('durations, sizes and tables', () => {
    expect(duration(5100)).toBe('5.1s');
    expect(duration(3 * 60_000 + 4000)).toBe('3m 4s');
    expect(duration(26 * 3600_000)).toBe('26h 0m');
    expect(bytes(0)).toBe('-');
    expect(bytes(50 * 1024 * 1024)).toBe('50.0 MiB');
    expect(table(['A', 'NUM'], [['x', '1'], ['yy', '10']], [false, true])).toBe('A   NUM\nx     1\nyy   10');
  });

  it('a role: a header, one row per worker, and its last crash with its last lines', () => {
    const text = roleTable({
      name: 'back',
      restarts: 1,
      target: 2,
      min: 2,
      max: 4,
      ready: 2,
      held: 0,
      calls: 10,
      errors: 0,
      callsPerSec: 1,
      inflight: 0,
      exports: {},
      lastCrash: { pid: 7, time: '2026-01-01T00:00:00.000Z', code: null, signal: 'SIGKILL', origin: null, error: null, lines: [{ time: 1, role: 'back', pid: 7, stream: 'stdout', line: 'last words' }] },
      workers: [
        { pid: 8, state: 'ready', rss: 50 * 1024 * 1024, cpu: 2.5, calls: 10, host: 'a', uptime: 5000, restarts: 1, startedAt: 0, heapUsed: 0, elu: 0, errors: 0, callsPerSec: 1, p50: 0.25, p99: 3, inflight: 0, pending: 0, links: 0, reportAge: 0 },
        // stopped with SIGSTOP 13 s ago: its last figures, said to be old
        { pid: 9, state: 'ready', rss: 50 * 1024 * 1024, cpu: 2.5, calls: 10, host: 'a', uptime: 20000, restarts: 0, startedAt: 0, heapUsed: 0, elu: 0, errors: 0, callsPerSec: 1, p50: 0.25, p99: 3, inflight: 0, pending: 0, links: 0, reportAge: 13.4 },
      ],
    });
    expect(text.split('\n')[0]).toBe('role back: 2/2 ready, restarts 1, 10 calls served, held 0');
    expect(text).toMatch(/^ *8 +ready +5\.0s +1 +2\.5 +50\.0 MiB +1\.0 +250µs +3\.0ms +0 +0$/m);
    expect(text).toMatch(/^ *9 +ready, silent 13\.4s +20\.0s +0 +2\.5/m);
    expect(text).toMatch(/last crash: worker 7 at 2026-01-01T00:00:00.000Z \(signal SIGKILL\): killed by SIGKILL/);
    expect(text).toContain('  | last words');
    expect(listText([])).toBe('no mob app is running on this host');
  });
});

describe('main', () => {
  it('prints usage for no command (exit 2) and names an unknown one', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
    expect(await main([], io)).toBe(2);
    expect(out[0]).toMatch(/^usage: mob <command>/);
    expect(await main(['frobnicate'], io)).toBe(2);
    expect(err[0]).toMatch(/^mob: no command "frobnicate"/);
    expect(await main(['scale', 'x'], io)).toBe(2);
    expect(err[1]).toBe('mob scale: usage: mob scale <app> <role> <n>');
  });
});
