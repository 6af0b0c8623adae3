import type { AppStatus, RoleStatus, WorkerStatus } from 'mob-control';
import { describe, expect, it } from 'vitest';
import { PAGE, rolesOverHosts } from '../src/page.js';

const worker = (host: string, pid: number, p50: number | null, p99: number | null): WorkerStatus =>
  ({ host, pid, state: 'ready', startedAt: 0, uptime: 1000, restarts: 0, rss: 50e6, cpu: 1, calls: 5, callsPerSec: 1.5, p50, p99, inflight: 0 }) as unknown as WorkerStatus;
const role = (name: string, workers: WorkerStatus[], more: Partial<RoleStatus> = {}): RoleStatus => ({
  name,
  restarts: 0,
  workers,
  target: workers.length,
  min: workers.length,
  max: workers.length + 2,
  ready: workers.length,
  held: 0,
  calls: 5 * workers.length,
  errors: 0,
  callsPerSec: 1.5 * workers.length,
  inflight: 0,
  exports: {},
  lastCrash: null,
  ...more,
});
const host = (name: string, roles: RoleStatus[]): AppStatus => ({ name: 'shop', host: name, pid: 1, roles, startedAt: 0, uptime: 1000, socket: name === 'a' ? '/s/shop.a.sock' : '' });
const crash = (pid: number, time: string): RoleStatus['lastCrash'] => ({ pid, time, code: 1, signal: null, origin: null, error: null, lines: [] });

describe('the dashboard page', () => {
  it('sums each role over every host: back runs only on b and c, with a pid on both', () => {
    const apps = [
      host('a', [role('back', [], { held: 1 }), role('front', [worker('a', 10, 0.5, 1)])]),
      host('b', [role('back', [worker('b', 20, 2, 9), worker('b', 21, 1, 3)], { restarts: 1, lastCrash: crash(19, '2026-01-01T00:00:01.000Z') })]),
      host('c', [role('back', [worker('c', 20, null, null), worker('c', 31, 3, 4)], { lastCrash: crash(29, '2026-01-01T00:00:02.000Z') }), role('jobs', [worker('c', 40, null, null)])]),
    ];
    const roles = rolesOverHosts(apps);
    expect(roles.map((r) => r.name)).toEqual(['back', 'front', 'jobs']);
    const back = roles[0]!;
    expect(back).toMatchObject({ ready: 4, target: 4, restarts: 1, calls: 20, callsPerSec: 6, held: 1, p50: 3, p99: 9 });
    expect(back.workers.map((x) => `${x.host}/${x.worker.pid}`)).toEqual(['b/20', 'b/21', 'c/20', 'c/31']);
    expect(back.lastCrash).toMatchObject({ pid: 29, host: 'c' });
    // the buttons act on this host's role; none for a role it does not declare
    expect(back.here).toBe(apps[0]!.roles[0]);
    expect(roles[2]!.here).toBeNull();
    expect(roles[1]).toMatchObject({ ready: 1, target: 1, p50: 0.5, p99: 1 });
  });

  it('runs the same function in the page (self-contained: it uses nothing from outside itself)', () => {
    expect(PAGE).toContain(rolesOverHosts.toString());
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const inPage = new Function(`return ${rolesOverHosts.toString()}`)() as typeof rolesOverHosts;
    expect(inPage([host('b', [role('back', [worker('b', 20, 2, 9)])])])[0]).toMatchObject({ ready: 1, p50: 2 });
  });
});
