// A stand-in for a Kingpin, for the control server's unit tests: the methods the server
// calls, with figures made up here. (The integration tests in packages/mob run real ones.)
import { EventEmitter } from 'node:events';
import type { Kingpin, KingpinStats } from 'mob-kingpin';

export function stats(app = 'stubapp'): KingpinStats {
  const buckets = new Array(17).fill(0);
  buckets[2] = 3; // three calls between 0.25 and 0.5 ms
  buckets[5] = 1; // one between 2.5 and 5 ms
  return {
    app,
    host: 'h1',
    pid: process.pid,
    startedAt: Date.now() - 5000,
    uptime: 5000,
    roles: [
      {
        name: 'back',
        target: 2,
        min: 1,
        max: 4,
        restarts: 1,
        ready: 2,
        held: 0,
        exports: { foo: { calls: 4, errors: 1, sum: 0.0042, buckets }, 'we"ird\\name': { calls: 1, errors: 0, sum: 0.001, buckets: [0, 0, 0, 1, ...new Array(13).fill(0)] } },
        calls: 5,
        errors: 1,
        callsPerSec: 2,
        inflight: 0,
        lastCrash: null,
        workers: [101, 102].map((pid) => ({
          pid,
          state: 'ready',
          startedAt: Date.now() - 5000,
          uptime: 5000,
          restarts: 0,
          rss: 50_000_000,
          heapUsed: 5_000_000,
          cpu: 1.5,
          cpuSeconds: 0.25,
          elu: 0.01,
          calls: 2,
          errors: 0,
          callsPerSec: 1,
          p50: 0.4,
          p99: 4,
          inflight: 0,
          pending: 0,
          links: 1,
          reportAge: 0.2,
          exports: {},
        })),
      },
    ],
  };
}

export interface StubKingpin extends EventEmitter {
  name: string;
  calls: string[];
}

export function stubKingpin(name = 'stubapp'): Kingpin & StubKingpin {
  const k = new EventEmitter() as EventEmitter & Record<string, unknown>;
  const calls: string[] = [];
  Object.assign(k, {
    name,
    calls,
    roles: () => ['back'],
    stats: () => stats(name),
    freshStats: () => Promise.resolve(stats(name)),
    otherHosts: () => [],
    workers: () => [{ id: 1, pid: 101, role: 'back', state: 'ready', pendingCalls: 0 }],
    logs: () => [{ time: 1, role: 'back', pid: 101, stream: 'stdout', line: 'hello' }],
    reload: (role?: string) => {
      calls.push(`reload ${role ?? '*'}`);
      return Promise.resolve();
    },
    scale: (role: string, n: number) => {
      if (!Number.isInteger(n) || n < 1 || n > 4) throw Object.assign(new Error(`scale("${role}", ${n}): out of 1..4`), { name: 'ConfigError', code: 'E_MOB_CONFIG' });
      calls.push(`scale ${role} ${n}`);
      return Promise.resolve();
    },
    stop: () => {
      calls.push('stop');
      return Promise.resolve();
    },
    shutdown: () => {
      calls.push('shutdown');
      return Promise.resolve({ stopped: 1, ms: 1 });
    },
  });
  return k as unknown as Kingpin & StubKingpin;
}
