import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, startApp, stopAll, waitFor, type App } from '../../mob-messaging/test/harness.js';
import { freePort } from './nats-server.js';

const fixtures = join(__dirname, 'fixtures');
// `npm run soak` runs the chaos test for a minute; CI runs it for 3 s.
const SOAK_MS = Number(process.env.MOB_SOAK_MS) || 3_000;
afterEach(stopAll);

type RoleSpec = [string, string, Record<string, unknown>?];
function mobApp(roles: RoleSpec[], env: Record<string, string> = {}, options: Record<string, unknown> = {}, group = false): App {
  return startApp(join(fixtures, 'life-main.cjs'), { env: { MOB_TEST_APP: JSON.stringify({ roles, options }), ...env }, group });
}
const ofRole = (app: App, ev: string, role: string): any[] => app.lines.filter((l) => l.ev === ev && l.role === role);

describe('graceful shutdown', () => {
  it('on SIGTERM, calls already running finish and their answers are delivered; exit 0', async () => {
    const app = mobApp([
      ['front', './inflight.mjs'],
      ['back', './sleeper.cjs', { workers: 2 }],
    ]);
    await app.waitFor(() => app.lines.filter((l) => l.sleeping).length === 20, '20 calls running');
    app.proc.kill('SIGTERM');
    const { answered, errors } = await app.waitFor((l) => l.answered !== undefined, 'the answers');
    expect(answered).toBe(20);
    expect(errors).toEqual([]);
    expect(await app.exited).toEqual({ code: 0, signal: null });
    // The Kingpin's exit may be seen before its last lines are read from the pipe.
    const exits = (): any[] => app.lines.filter((l) => l.ev === 'exit');
    await waitFor(() => exits().length >= 3 && app.lines.some((l) => l.lateListener));
    // Each listener ran once: the first in the stop's first phase, the one it added at the retirement.
    const front = ofRole(app, 'fork', 'front')[0].pid; // still loading (top-level await): it gets the first phase too
    expect(app.lines.filter((l) => l.shutdownEvent || l.lateListener)).toEqual([{ shutdownEvent: front }, { lateListener: front }]);
    expect(exits().map((e) => [e.role, e.code, e.signal, e.expected]).sort()).toEqual([
      ['back', 0, null, true],
      ['back', 0, null, true],
      ['front', 0, null, true],
    ]);
    await app.stop();
  });

  it.each([
    ['the Kingpin', false, 400],
    ['the whole process group (systemd, timeout)', true, 400],
    // Past the 1 s after which an idle keep-alive socket is closed: a request still running is not idle.
    ['the Kingpin, each request running 1.6 s', false, 1600],
  ])('on SIGTERM to %s, an HTTP request in flight that calls another role afterwards gets its answer: roles serve until every shutdown listener is done', async (_to, group, late) => {
    const port = await freePort();
    const app = mobApp(
      [
        ['front', './web.cjs', { workers: 2 }],
        ['back', './sleeper.cjs', { workers: 2 }],
      ],
      { PORT: String(port), LATE_MS: String(late) },
      {},
      group,
    );
    await app.waitFor((l) => l.ev === 'full', 'full');
    const answers = Array.from(
      { length: 8 },
      (_, id) =>
        new Promise<string>((resolve) => {
          request({ host: '127.0.0.1', port, path: `/${id}`, agent: false }, (res) => {
            let body = '';
            res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(`${res.statusCode} ${body.split(' ').slice(0, 2).join(' ')}`));
          })
            .on('error', (err) => resolve(err.message))
            .end();
        }),
    );
    // Every request has arrived; each calls back `late` ms later, after the stop began.
    await app.waitFor(() => app.lines.filter((l) => l.got !== undefined).length === 8, '8 requests in flight');
    if (group) process.kill(-app.pid, 'SIGTERM');
    else app.proc.kill('SIGTERM');
    expect((await Promise.all(answers)).sort()).toEqual(Array.from({ length: 8 }, (_, id) => `200 ok ${id}`).sort());
    expect(await app.exited).toEqual({ code: 0, signal: null });
    await waitFor(() => app.lines.filter((l) => l.ev === 'exit').length >= 4);
    expect(app.lines.filter((l) => l.ev === 'exit').map((e) => [e.code, e.signal, e.expected])).toEqual(Array(4).fill([0, null, true]));
    expect(app.descendants().filter(isAlive)).toEqual([]);
    await app.stop();
  });

  it('a reload answers the HTTP requests its old workers are still running, however long past the 1 s idle grace', async () => {
    const port = await freePort();
    const app = mobApp(
      [
        ['front', './web.cjs', { workers: 2 }],
        ['back', './sleeper.cjs'],
      ],
      { PORT: String(port), LATE_MS: '1600' },
    );
    await app.waitFor((l) => l.ev === 'full', 'full');
    const olds = ofRole(app, 'ready', 'front').map((l) => l.pid);
    const answers = Array.from(
      { length: 4 },
      (_, id) =>
        new Promise<string>((resolve) => {
          request({ host: '127.0.0.1', port, path: `/${id}`, agent: new Agent({ keepAlive: true }) }, (res) => {
            let body = '';
            res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(`${res.statusCode} ${body}`));
          })
            .on('error', (err) => resolve(err.message))
            .end();
        }),
    );
    await app.waitFor(() => app.lines.filter((l) => l.got !== undefined).length === 4, '4 requests in flight');
    app.proc.kill('SIGHUP');
    const got = await Promise.all(answers);
    // Each answered by the worker it reached, one of the two the reload replaced.
    expect(got.map((a) => a.split(' ').slice(0, 3).join(' ')).sort()).toEqual(Array.from({ length: 4 }, (_, id) => `200 ok ${id}`));
    expect(got.every((a) => olds.includes(Number(a.split(' ')[4])))).toBe(true);
    await app.waitFor((l) => l.ev === 'reload' && l.role === 'front' && l.phase === 'done', 'front reloaded', 15_000);
    await app.waitFor(() => app.lines.filter((l) => l.ev === 'exit' && olds.includes(l.pid)).length === 2, 'the old fronts exited');
    expect(app.lines.filter((l) => l.ev === 'exit' && olds.includes(l.pid)).map((e) => [e.code, e.signal])).toEqual([[0, null], [0, null]]);
    await app.stop();
  });

  it('a stop that begins while a revived HTTP worker is still loading fails no accepted request: it drains too once it listens', async () => {
    const port = await freePort();
    const app = mobApp(
      [
        ['front', './web.cjs', { workers: 2 }],
        ['back', './sleeper.cjs'],
      ],
      { PORT: String(port), LATE_MS: '300', LOAD_MS: '300' },
    );
    await app.waitFor((l) => l.ev === 'full', 'full');
    const agent = new Agent({ keepAlive: true });
    const answers: string[] = [];
    let on = true;
    const get = (): Promise<void> =>
      new Promise((resolve) => {
        request({ host: '127.0.0.1', port, path: '/1', agent }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => {
            answers.push(`${res.statusCode} ${body.split(' ')[0]}`);
            resolve();
          });
        })
          .on('error', () => setTimeout(resolve, 10)) // refused once every server closed: never accepted
          .end();
      });
    const clients = Array.from({ length: 8 }, async () => {
      while (on) await get();
    });
    await app.waitFor(() => answers.length >= 16, '16 answers');
    const [victim] = ofRole(app, 'ready', 'front').map((l) => l.pid);
    process.kill(victim, 'SIGKILL');
    await app.waitFor(() => ofRole(app, 'fork', 'front').length === 3, 'its revival forked');
    await new Promise((resolve) => setTimeout(resolve, 50)); // into its load, not past it
    app.proc.kill('SIGTERM'); // the revived worker is loading (300 ms)
    expect(await app.exited).toEqual({ code: 0, signal: null });
    on = false;
    await Promise.all(clients);
    agent.destroy();
    expect(answers.filter((a) => a !== '200 ok')).toEqual([]);
    await app.stop();
  });

  it('a SIGTERM to one worker alone replaces it gracefully: a new one is ready first, it exits 0, no restart counted', async () => {
    const app = mobApp([['back', './sleeper.cjs', { workers: 2 }]]);
    await app.waitFor((l) => l.ev === 'full', 'full');
    const [victim] = ofRole(app, 'ready', 'back').map((l) => l.pid);
    process.kill(victim, 'SIGTERM');
    await app.waitFor((l) => l.ev === 'exit' && l.pid === victim, 'its exit');
    // Its replacement was ready before it stopped (the role kept its capacity).
    const fresh = ofRole(app, 'ready', 'back').at(-1);
    expect(fresh.pid).not.toBe(victim);
    expect(fresh.t).toBeLessThanOrEqual(app.lines.find((l) => l.ev === 'exit' && l.pid === victim).t);
    expect(app.lines.find((l) => l.ev === 'exit' && l.pid === victim)).toMatchObject({ code: 0, signal: null, expected: true });
    await app.waitFor(() => ofRole(app, 'ready', 'back').length === 3, 'its replacement ready');
    expect(app.stderr()).toMatch(new RegExp(`worker ${victim} of role "back" got SIGTERM: forking a replacement, then stopping it gracefully`));
    expect(app.lines.filter((l) => l.ev === 'revive')).toEqual([]);
    expect(app.descendants().filter(isAlive)).toHaveLength(2);
    await app.stop();
  });

  it('Ctrl+C (SIGINT to the whole process group) is as graceful as SIGTERM', async () => {
    const app = mobApp(
      [
        ['front', './inflight.mjs'],
        ['back', './sleeper.cjs', { workers: 2 }],
      ],
      {},
      {},
      true,
    );
    await app.waitFor(() => app.lines.filter((l) => l.sleeping).length === 20, '20 calls running');
    // every worker past its boot (one still starting Node dies of the signal, as any process)
    await app.waitFor(() => ofRole(app, 'ready', 'back').length === 2, 'both back workers');
    process.kill(-app.pid, 'SIGINT');
    const { answered, errors } = await app.waitFor((l) => l.answered !== undefined, 'the answers');
    expect([answered, errors]).toEqual([20, []]);
    expect(await app.exited).toEqual({ code: 0, signal: null });
    const exits = (): any[] => app.lines.filter((l) => l.ev === 'exit');
    await waitFor(() => exits().length >= 3);
    expect(exits().map((e) => [e.code, e.signal, e.expected])).toEqual([[0, null, true], [0, null, true], [0, null, true]]);
    await app.stop();
  });

  it('kills what does not stop within killTimeout, and a second SIGINT stops at once', async () => {
    const app = mobApp([['stubborn', './stubborn.cjs', { workers: 2, killTimeout: 600 }]], { MOB_TEST_SCALE: JSON.stringify(['stubborn', 3]) });
    await app.waitFor((l) => l.ev === 'full', 'full');
    const t0 = Date.now();
    app.proc.kill('SIGTERM');
    await app.waitForText(/SIGTERM: stopping 2 worker/);
    app.proc.kill('SIGUSR2'); // kingpin.scale() while stopping
    expect(await app.exited).toEqual({ code: 0, signal: null });
    // killTimeout per phase: the listeners' phase, then the retirement.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1150);
    const exits = (): any[] => app.lines.filter((l) => l.ev === 'exit');
    await waitFor(() => exits().length >= 2);
    expect(exits().map((e) => e.signal)).toEqual(['SIGKILL', 'SIGKILL']);
    expect(app.stderr().match(/did not finish its shutdown listeners within 600 ms: retiring it/g)).toHaveLength(2);
    expect(app.stderr().match(/did not stop within 600 ms: killing it/g)).toHaveLength(2);
    expect(app.lines.find((l) => l.ev === 'scaled')).toMatchObject({ error: { name: 'ShutdownError', message: 'scale("stubborn", 3): the app is stopping' } });
    await app.stop();

    const again = mobApp([['stubborn', './stubborn.cjs', { workers: 2, killTimeout: 30_000 }]]);
    await again.waitFor((l) => l.ev === 'full', 'full');
    const workers = again.descendants();
    again.proc.kill('SIGINT');
    await again.waitForText(/SIGINT: stopping/);
    // A second press, as a person makes it: the same signal within 100 ms is one signal
    // delivered twice (to the Kingpin and to its group), not a second one.
    await new Promise((resolve) => setTimeout(resolve, 150));
    const t1 = Date.now();
    again.proc.kill('SIGINT');
    const exit = await again.exited;
    expect(exit.code).toBe(1);
    // at once, not after the 30 s killTimeout (the bounds leave a loaded machine its delays)
    expect(Date.now() - t1).toBeLessThan(10_000);
    await waitFor(() => !workers.some(isAlive), { timeout: 10_000 });
    expect(workers.filter(isAlive)).toEqual([]);
    await again.stop();
  });
});

describe('zero-downtime rolling reload', () => {
  it('SIGHUP reloads front and back under HTTP load: 0 failed requests, 0 lost back calls', async () => {
    // A port free now (a random one could be an ephemeral port another test's connection holds).
    const port = await freePort();
    const app = mobApp(
      [
        ['front', './web.cjs', { workers: 2 }],
        ['back', './sleeper.cjs', { workers: 2 }],
      ],
      { PORT: String(port) },
    );
    await app.waitFor((l) => l.ev === 'full', 'full');
    const oldPids = new Set(app.lines.filter((l) => l.ev === 'ready').map((l) => l.pid));
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const results: { id: number; status: number; body: string }[] = [];
    const failures: string[] = [];
    let next = 0;
    let stop = false;
    const get = (id: number): Promise<void> =>
      new Promise((resolve) => {
        request({ host: '127.0.0.1', port, path: `/${id}`, agent }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => {
            results.push({ id, status: res.statusCode!, body });
            resolve();
          });
        })
          .on('error', (err) => {
            failures.push(`${id}: ${err.message}`);
            resolve();
          })
          .end();
      });
    const deadline = Date.now() + 30_000;
    const client = async (): Promise<void> => {
      while (!stop && Date.now() < deadline) await get(next++);
    };
    const clients = Array.from({ length: 8 }, client);
    await app.waitFor(() => results.length >= 100, '100 requests before the reload');
    app.proc.kill('SIGHUP');
    await app.waitFor((l) => l.ev === 'reload' && l.role === 'back' && l.phase === 'done', 'the reload', 25_000);
    const afterReload = results.length;
    await app.waitFor(() => results.length >= afterReload + 100, '100 requests after the reload');
    stop = true;
    await Promise.all(clients);
    agent.destroy();
    const reloads = app.lines.filter((l) => l.ev === 'reload' && l.phase === 'done');
    expect(reloads.map((r) => [r.role, r.ok])).toEqual([['front', true], ['back', true]]);
    expect(failures).toEqual([]);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    // every request's back call arrived, exactly once. A back worker prints its hit line on
    // the shared stdout pipe before it answers, but this process may read the HTTP answer
    // first: wait (bounded) for the lines.
    const hits = (): number[] => app.lines.filter((l) => l.hit !== undefined).map((l) => Number(l.hit));
    await waitFor(() => hits().length >= results.length, { timeout: 15_000 });
    expect(hits().sort((a, b) => a - b)).toEqual(results.map((r) => r.id).sort((a, b) => a - b));
    // the old workers are gone, new ones answered after the reload
    const now = app.descendants();
    expect(now).toHaveLength(4);
    expect(now.some((p) => oldPids.has(p))).toBe(false);
    const lastBack = Number(results.at(-1)!.body.split(' ')[2]);
    expect(oldPids.has(lastBack)).toBe(false);
    expect(app.lines.filter((l) => l.ev === 'exit').every((e) => e.expected && e.code === 0)).toBe(true);
    await app.stop();
  });

  it('an edited role module takes effect after kingpin.reload', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mob-reload-'));
    const file = join(dir, 'version.txt');
    writeFileSync(file, 'v1');
    const app = mobApp(
      [
        ['ctl', './ctl.mjs'],
        ['back', './versioned.cjs', { workers: 2 }],
      ],
      { VERSION_FILE: file, CTL: 'version' },
    );
    await app.waitFor((l) => l.ev === 'full', 'full');
    await app.waitFor((l) => l.versions, 'a first answer');
    writeFileSync(file, 'v2');
    app.proc.kill('SIGHUP');
    const start = await app.waitFor((l) => l.ev === 'reload' && l.role === 'back' && l.phase === 'start', 'the reload of back');
    const done = await app.waitFor((l) => l.ev === 'reload' && l.role === 'back' && l.phase === 'done', 'the reload');
    await app.waitFor((l) => l.versions && l.sent > done.t, 'calls after the reload');
    // Judged by events, not by guesses of how long a reload takes on a busy machine:
    // answered before back's reload began, by the workers loaded before the edit ...
    const before = app.lines.filter((l) => l.versions && l.t < start.t);
    // ... and asked once it was done (every old worker gone), by the new ones only.
    const after = app.lines.filter((l) => l.versions && l.sent > done.t);
    expect(app.lines.find((l) => l.versions).versions).toEqual(['v1', 'v1']);
    expect(before.length).toBeGreaterThan(0);
    expect(before.flatMap((l) => l.versions).every((v: string) => v === 'v1')).toBe(true);
    expect(after.flatMap((l) => l.versions)).not.toContain('v1');
    expect(after.flatMap((l) => l.versions)).toContain('v2');
    await app.stop();
    rmSync(dir, { recursive: true });
  });
});

describe('scaling', () => {
  it('mob.scale(+n) from a worker and kingpin.scale(role, count), within min..max', async () => {
    const app = mobApp(
      [
        ['ctl', './ctl.mjs'],
        ['jobs', './jobs.cjs', { minWorkers: 1, maxWorkers: 3 }],
      ],
      { CTL: 'scale', MOB_TEST_SCALE: JSON.stringify(['jobs', 1]) },
    );
    await app.waitFor((l) => l.grew, 'the scale request');
    await app.waitFor(() => ofRole(app, 'ready', 'jobs').length === 3, '3 jobs workers');
    expect(app.descendants()).toHaveLength(4);
    app.proc.kill('SIGUSR2');
    await app.waitFor((l) => l.ev === 'scaled', 'kingpin.scale');
    const exits = ofRole(app, 'exit', 'jobs');
    expect(exits.map((e) => [e.code, e.expected])).toEqual([[0, true], [0, true]]);
    expect(app.descendants()).toHaveLength(2);
    await app.stop();

    const bad = mobApp([['jobs', './jobs.cjs', { minWorkers: 1, maxWorkers: 3 }]], { MOB_TEST_SCALE: JSON.stringify(['jobs', 5]) });
    await bad.waitFor((l) => l.ev === 'full', 'full');
    bad.proc.kill('SIGUSR2');
    const scaled = await bad.waitFor((l) => l.ev === 'scaled', 'kingpin.scale');
    expect(scaled.error.name).toBe('ConfigError');
    expect(scaled.error.message).toBe('scale("jobs", 5): count must be an integer within the role\'s minWorkers..maxWorkers (1..3)');
    await bad.stop();
  });
});

describe('crash reports', () => {
  it('logs an uncaught error and gives it to the revived worker once through mob.lastErr()', async () => {
    const app = mobApp(
      [
        ['ctl', './ctl.mjs'],
        ['crashy', './crashy.mjs'],
      ],
      { CTL: 'crash' },
    );
    const line = await app.waitFor((l) => l.lastErr, 'the revived worker');
    const crashedPid = ofRole(app, 'exit', 'crashy')[0].pid;
    expect(line.lastErr).toMatchObject({
      origin: 'uncaughtException',
      role: 'crashy',
      pid: crashedPid,
      error: { name: 'TypeError', message: 'kaboom', code: 'E_KABOOM' },
    });
    expect(line.lastErr.error.stack).toContain('crashy.mjs');
    expect(Date.parse(line.lastErr.time)).toBeGreaterThan(0);
    expect(line.pid).not.toBe(crashedPid);
    // read once: the callback form then gets null
    expect(line.again).toEqual({ err: null, r: null });
    // The Kingpin logs the crash on stderr, a pipe of its own: it may be read after stdout.
    await app.waitForText(/worker \d+ of role "crashy" crashed \(uncaughtException\)/);
    expect(app.stderr()).toMatch(/worker \d+ of role "crashy" crashed \(uncaughtException\)/);
    expect(app.stderr()).toContain('TypeError: kaboom');
    await app.stop();
  });
});

describe('bounded queues', () => {
  it('rejects calls beyond the held-queue bound at once with QueueFullError', async () => {
    const app = mobApp(
      [
        ['ctl', './ctl.mjs'],
        ['never', './never-ready.mjs', { queue: { count: 100 }, killTimeout: 500 }],
      ],
      { CTL: 'queue' },
    );
    const { queue } = await app.waitFor((l) => l.queue, 'the queue report');
    expect(queue.held).toBe(100);
    expect(queue.rejected).toBe(50);
    expect(queue.first).toMatchObject({ name: 'QueueFullError', code: 'E_MOB_QUEUE_FULL' });
    expect(queue.first.message).toContain('role "never" has no ready worker');
    await app.stop();
  });
});

describe('faults', () => {
  it(`chaos: a victim worker killed every 200 ms under 200 calls in flight; every call settles, with retries every call resolves`, { timeout: SOAK_MS + 60_000 }, async () => {
    const app = mobApp(
      [
        ['ctl', './ctl.mjs'],
        ['victim', './sleeper.cjs', { workers: 4, backoff: { initial: 20, max: 200 } }],
      ],
      { CTL: 'chaos', CHAOS_MS: String(SOAK_MS) },
    );
    const { chaosStarted: ctl } = await app.waitFor((l) => l.chaosStarted, 'the chaos start');
    // The calls run for SOAK_MS, and on until this many workers died under them: how fast the
    // victims come back up depends on the machine's load, not on mob.
    const enough = Math.floor(SOAK_MS / 400);
    const t0 = Date.now();
    let stopped = false;
    const killed = new Set<number>();
    const killer = setInterval(() => {
      const live = ofRole(app, 'ready', 'victim')
        .map((l) => l.pid as number)
        .filter((p) => !killed.has(p) && isAlive(p));
      const victim = live[Math.floor(Math.random() * live.length)];
      if (victim) {
        killed.add(victim);
        process.kill(victim, 'SIGKILL');
      }
      if (!stopped && killed.size >= enough && Date.now() - t0 >= SOAK_MS) {
        stopped = true;
        try {
          process.kill(ctl, 'SIGUSR2');
        } catch {
          // gone: the report never comes, and the wait below says so
        }
      }
    }, 200);
    const { chaos, stats } = await app.waitFor((l) => l.chaos, 'the chaos report', SOAK_MS + 40_000).finally(() => clearInterval(killer));
    expect(killed.size).toBeGreaterThanOrEqual(enough);
    expect(chaos.plain.other).toEqual([]);
    expect(chaos.retry.other).toEqual([]);
    expect(chaos.plain.ok).toBeGreaterThan(100);
    expect(chaos.plain.exited).toBeGreaterThan(0);
    expect(chaos.retry.exited).toBe(0);
    expect(chaos.retry.ok).toBeGreaterThan(100);
    expect(stats).toMatchObject({ pendingCalls: 0, pendingCallbacks: 0 });
    expect(isAlive(app.pid)).toBe(true);
    await app.stop();
  });

  it('a hostile worker sending 10,000+ malformed frames crashes nothing; routing and calls still work', async () => {
    const app = mobApp([
      ['ctl', './ctl.mjs'],
      ['back', './sleeper.cjs', { workers: 2 }],
      ['hostile', './hostile.cjs'],
    ], { CTL: 'fuzz' });
    const { fuzzSent } = await app.waitFor((l) => l.fuzzSent, 'the fuzz');
    expect(fuzzSent).toBeGreaterThanOrEqual(10_000);
    const { afterFuzz } = await app.waitFor((l) => l.afterFuzz, 'calls after the fuzz');
    expect(afterFuzz).toMatchObject({ ok: true, count: 50, stats: { pendingCalls: 0, pendingCallbacks: 0 } });
    expect(isAlive(app.pid)).toBe(true);
    // nobody died: only the first forks, no crash
    expect(app.lines.filter((l) => l.ev === 'exit')).toEqual([]);
    expect(app.lines.filter((l) => l.ev === 'fork')).toHaveLength(4);
    await app.stop();
  });
});
