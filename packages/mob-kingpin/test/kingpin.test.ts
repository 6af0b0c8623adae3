import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cmdline, isAlive, startApp, stopAll, waitFor, type App } from '../../mob-messaging/test/harness.js';
import { checkScenario } from '../../mob-messaging/test/scenario-check.js';

const fixtures = join(__dirname, 'fixtures');
afterEach(stopAll);

type RoleSpec = [string, string, Record<string, unknown>?];
function kingpinApp(roles: RoleSpec[], name = 'testapp', options: Record<string, unknown> = {}): App {
  return startApp(join(fixtures, 'app.cjs'), { env: { MOB_TEST_APP: JSON.stringify({ name, roles, options }) } });
}

describe('the Kingpin', () => {
  it('runs the delivery scenario: all/any/pid/send, unicode payloads, errors at the call', async () => {
    const app = startApp(join(fixtures, 'scenario-main.cjs'));
    const { report } = await app.waitFor((l) => l.report, 'the driver report');
    checkScenario(report);
    const { errors } = await app.waitFor((l) => l.errors, 'the error report');
    expect(errors.unknown).toMatchObject({ name: 'NoSuchRoleError', code: 'E_MOB_NO_ROLE' });
    expect(errors.payload).toMatchObject({ name: 'PayloadError', code: 'E_MOB_PAYLOAD' });
    await app.stop();
  });

  it('titles every process and forks all workers in parallel', async () => {
    const app = kingpinApp([['back', './idle.cjs', { workers: 4 }], ['front', './idle.cjs', { workers: 2 }]], 'myapp');
    await app.waitFor((l) => l.ev === 'full', 'full');
    const forks = app.lines.filter((l) => l.ev === 'fork');
    const readies = app.lines.filter((l) => l.ev === 'ready');
    expect(forks).toHaveLength(6);
    expect(readies).toHaveLength(6);
    // in parallel: every worker was forked before the first one was ready
    expect(Math.max(...forks.map((f) => f.t))).toBeLessThanOrEqual(Math.min(...readies.map((r) => r.t)));
    expect(cmdline(app.pid)).toBe('myapp (kingpin)');
    const titles = app.descendants().map(cmdline).sort();
    expect(titles).toEqual([
      ...Array(4).fill('myapp - back (mobster)'),
      ...Array(2).fill('myapp - front (mobster)'),
    ]);
    await app.stop();
    const exit = await app.exited;
    expect(exit.code).toBe(0);
  });

  it('shows the whole Kingpin title when started as `node app.cjs`, and keeps every environment variable', async () => {
    // argv is "node\0app.cjs\0": 13 bytes, too short for "myapp (kingpin)".
    const config = { name: 'myapp', roles: [['env', './env-probe.cjs']] };
    const app = startApp('app.cjs', { cwd: fixtures, argv0: 'node', env: { MOB_TEST_APP: JSON.stringify(config), MOB_ENV_PROBE: 'kept, ünïcode ✓' } });
    const { probe } = await app.waitFor((l) => l.probe, 'the worker env probe');
    expect(cmdline(app.pid)).toBe('myapp (kingpin)');
    // The worker's environment is the Kingpin's, copied at fork after the title was written.
    expect(probe).toEqual({ value: 'kept, ünïcode ✓', path: process.env.PATH, title: 'myapp - env (mobster)' });
    await app.stop();
  });

  it('removes the link folder a SIGKILLed Kingpin left (its pid gone, nothing but sockets inside) once it has forked', async () => {
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    const stale = join(tmpdir(), `mob-links-${gone}-Stale1`);
    mkdirSync(stale, { recursive: true });
    try {
      const app = kingpinApp([['back', './idle.cjs', { workers: 1 }]]);
      await app.waitFor((l) => l.ev === 'full', 'full');
      await waitFor(() => !existsSync(stale));
      expect(existsSync(stale)).toBe(false);
      await app.stop();
    } finally {
      rmSync(stale, { recursive: true, force: true });
    }
  });

  it('revives a worker killed with SIGKILL and logs role, pid and signal', async () => {
    const app = kingpinApp([['back', './idle.cjs', { workers: 2 }]]);
    await app.waitFor((l) => l.ev === 'full', 'full');
    const victim = app.lines.find((l) => l.ev === 'ready').pid as number;
    process.kill(victim, 'SIGKILL');
    const exit = await app.waitFor((l) => l.ev === 'exit' && l.pid === victim, 'the exit event');
    expect(exit).toMatchObject({ role: 'back', signal: 'SIGKILL', code: null, expected: false });
    const ready = await app.waitFor((l) => l.ev === 'ready' && l.t >= exit.t, 'the replacement');
    expect(ready.role).toBe('back');
    expect(ready.pid).not.toBe(victim);
    // The log line goes to stderr, a pipe of its own: it may be read after the stdout lines.
    const logged = new RegExp(`worker ${victim} of role "back" exited \\(signal SIGKILL\\)`);
    await app.waitForText(logged);
    expect(app.stderr()).toMatch(logged);
    expect(app.descendants()).toHaveLength(2);
    await app.stop();
  });

  it('backs off a role that dies at start, reports the load error, and keeps the others running', async () => {
    const app = kingpinApp([
      ['broken', './throws-at-load.cjs'],
      ['ok', './idle.cjs'],
    ]);
    // Wait for 6 forks of the broken role (bounded), then read the delays between them.
    await app.waitFor((l) => l.ev === 'fork' && l.role === 'broken' && app.lines.filter((x) => x.ev === 'fork' && x.role === 'broken').length >= 6, '6 forks', 20_000);
    const forks = app.lines.filter((l) => l.ev === 'fork' && l.role === 'broken').map((l) => l.t as number);
    const exits = app.lines.filter((l) => l.ev === 'exit' && l.role === 'broken').map((l) => l.t as number);
    // the first revive is immediate, then 100, 200, 400, 800 ms after each exit
    const backoffs = app.lines.filter((l) => l.ev === 'backoff').map((l) => l.delay as number);
    expect(backoffs.slice(0, 4)).toEqual([100, 200, 400, 800]);
    // (Date.now() against the timer's cached loop clock: a timer can look up to 1 ms early.)
    for (const [i, wait] of [0, 100, 200, 400, 800].entries()) {
      expect(forks[i + 1]! - exits[i]!).toBeGreaterThanOrEqual(wait - 2);
    }
    // not a spinning CPU: at most a handful of forks in the first two seconds
    expect(forks.filter((t) => t - forks[0]! < 2_000).length).toBeLessThanOrEqual(6);
    // the load error is reported with the role, the resolved path and the error
    const crash = app.lines.find((l) => l.ev === 'crash');
    expect(crash).toMatchObject({ role: 'broken', origin: 'load', error: { name: 'Error', message: 'broken role: cannot start' } });
    expect(crash.file).toBe(join(fixtures, 'throws-at-load.cjs'));
    // stderr is a pipe of its own: its lines may be read after stdout's
    await app.waitForText(/failed to load .* again with the same error .* ×2/);
    expect(app.stderr()).toContain(`role "broken" failed to load ${join(fixtures, 'throws-at-load.cjs')}`);
    expect(app.stderr()).toContain('broken role: cannot start');
    // the repeated identical error is summarised: one full report, then short lines
    expect(app.stderr().match(/failed to load .*\(restarts so far: \d+\):\n/g)).toHaveLength(1);
    expect(app.stderr()).toMatch(/failed to load .* again with the same error \(Error: broken role: cannot start\) ×2/);
    // the healthy role forked once and is still up; the Kingpin is alive
    expect(app.lines.filter((l) => l.ev === 'fork' && l.role === 'ok')).toHaveLength(1);
    expect(isAlive(app.pid)).toBe(true);
    await app.stop();
  });

  it('a reload asked during another waits for it and replaces only what predates it: the role keeps its count', async () => {
    const app = kingpinApp([['r', './idle.cjs', { workers: 2 }]], 'twice');
    await app.waitFor((l) => l.ev === 'full', 'full');
    app.proc.kill('SIGHUP');
    // The first reload's first new worker is forked: ask again.
    await app.waitFor((l) => l.ev === 'fork' && app.lines.filter((f) => f.ev === 'fork').length === 3, 'the first replacement');
    const second = Date.now();
    app.proc.kill('SIGHUP');
    const done = await app.waitForText(/reload of role "r" done: replaced (\d+) worker/, 2, 20_000);
    expect(done.map((l) => /replaced (\d+)/.exec(l)![1])).toEqual(['2', '1']);
    // The log line is on stderr, the events on stdout: pipes of their own, read in either
    // order. The three replaced workers' exits are on their way, if not read yet.
    await app.waitFor(() => app.lines.filter((l) => l.ev === 'exit').length >= 3, 'the 3 replaced workers exit');
    const forks = app.lines.filter((l) => l.ev === 'fork');
    const exited = new Set(app.lines.filter((l) => l.ev === 'exit').map((l) => l.pid));
    // 2, then 2 for the first reload, then 1 for the worker the first had forked before the second ask.
    expect(forks).toHaveLength(5);
    const live = forks.filter((f) => !exited.has(f.pid));
    expect(live).toHaveLength(2);
    expect(app.descendants()).toHaveLength(2);
    for (const f of live) expect(f.t).toBeGreaterThanOrEqual(second);
    await app.stop();
  });

  it('rejects a reload whose new worker crashes at load, and a scale-up whose does; neither counts as a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mob-reload-'));
    try {
      const app = startApp(join(fixtures, 'reload-broken.cjs'), { env: { MOB_TEST_DIR: dir } });
      const r = await app.waitFor((l) => l.reloads, 'the reload results', 20_000);
      expect(r.reloads).toHaveLength(2);
      for (const f of r.reloads) {
        expect(f).toMatchObject({ name: 'ReloadFailedError', code: 'E_MOB_RELOAD_FAILED', role: 'r', lastError: { name: 'Error', message: 'broken on purpose' } });
        expect(f.message).toMatch(/^reload of role "r" stopped: the new worker \d+ exited \(code 1\) before it was ready: Error: broken on purpose \(0 of 2 workers replaced\); the old workers keep running$/);
        expect(r.old).not.toContain(f.pid);
      }
      expect(r.afterReloads).toBe(0);
      expect(r.scaled).toMatchObject({ name: 'ScaleFailedError', code: 'E_MOB_SCALE_FAILED', role: 'r', lastError: { message: 'broken on purpose' } });
      expect(r.scaled.message).toMatch(/^scaling role "r" to 3 failed: the new worker \d+ exited \(code 1\) before it was ready: Error: broken on purpose; 2 of 3 workers are ready/);
      expect(r.afterScale).toBe(0);
      // the old workers keep running
      expect(r.pids).toEqual(r.old);
      // no revive event for a reload's new worker
      expect(app.lines.filter((l) => l.ev === 'revive' && r.reloads.some((f: any) => f.pid === l.pid))).toEqual([]);
      await app.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('holds any() sends for a role until one of its workers is ready', async () => {
    // The slow role loads 600 ms after the sender has sent, not 600 ms after its own start:
    // two workers forked together may start some hundreds of ms apart on a busy machine.
    const dir = mkdtempSync(join(tmpdir(), 'mob-held-'));
    const env = { SENT_FLAG: join(dir, 'sent') };
    const app = kingpinApp([
      ['sender', './early-sender.mjs', { env }],
      ['slow', './slow-ready.mjs', { env }],
    ]);
    const { held } = await app.waitFor((l) => l.held, 'the held messages');
    expect(held.got).toEqual([0, 1, 2, 3, 4]);
    expect(held.loadedAt).toBeGreaterThanOrEqual(held.sentAt + 500);
    await app.stop();
    rmSync(dir, { recursive: true });
  });

  it('passes a TCP socket from one role to a worker of another, which answers on it', async () => {
    const app = kingpinApp([
      ['acceptor', './acceptor.cjs'],
      ['writer', './writer.cjs', { workers: 2 }],
    ]);
    const { port, acceptor, servers } = await app.waitFor((l) => l.port, 'the port');
    // Sending a server that listens through the cluster crashed the worker in Node (SIGSEGV).
    expect(servers).toEqual([
      expect.stringMatching(/^PayloadError: any\("writer"\)\.send\(\): this net\.Server listens through the cluster .* Listen with \{ exclusive: true \}/),
      expect.stringMatching(/^PayloadError: any\("writer"\)\.send\(\): the net\.Server handle is not listening; call listen\(\) first/),
      expect.stringMatching(/^PayloadError: any\("writer"\)\.send\(\): this net\.Server listens on a Unix path \(.*mob-acceptor-\d+\.sock\); a worker cannot listen on it again/),
    ]);
    const got = await app.waitFor((l) => l.gotServer !== undefined, 'the server with its own socket');
    expect(got).toEqual({ gotServer: got.sent, sent: got.sent, listening: true });
    await app.waitFor((l) => l.ev === 'full', 'full');
    const writers = new Set(app.lines.filter((l) => l.ev === 'ready' && l.role === 'writer').map((l) => l.pid));
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) {
      answers.push(
        await new Promise<string>((resolve, reject) => {
          let text = '';
          const socket = connect(port, '127.0.0.1');
          socket.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve(text)).on('error', reject);
        }),
      );
    }
    const by = answers.map((a) => Number(/written by (\d+) for (\d+)/.exec(a)?.[1]));
    expect(answers.every((a) => a.endsWith(`for ${acceptor}\n`))).toBe(true);
    expect(by.every((pid) => writers.has(pid))).toBe(true);
    expect(new Set(by).size).toBe(2);
    // a server that handed its sockets away still closes at once on shutdown
    app.proc.kill('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    // The Kingpin's exit may be seen before its last lines are read from the pipe.
    const exits = (): any[] => app.lines.filter((l) => l.ev === 'exit');
    await waitFor(() => exits().length >= 3);
    expect(exits().map((e) => [e.code, e.signal])).toEqual([[0, null], [0, null], [0, null]]);
    await app.stop();
  });

  it('stops every worker on SIGTERM and exits 0', async () => {
    const app = kingpinApp([['back', './idle.cjs', { workers: 3 }]]);
    await app.waitFor((l) => l.ev === 'full', 'full');
    const workers = app.descendants();
    expect(workers).toHaveLength(3);
    app.proc.kill('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    await app.waitFor((l) => l.ev === 'shutdown', 'shutdown');
    expect(app.lines.filter((l) => l.ev === 'exit').every((l) => l.expected)).toBe(true);
    await app.stop();
  });

  it('leaves no worker behind when the Kingpin is killed with SIGKILL', async () => {
    const app = kingpinApp([['back', './idle.cjs', { workers: 3 }]]);
    await app.waitFor((l) => l.ev === 'full', 'full');
    const workers = app.descendants();
    expect(workers).toHaveLength(3);
    app.proc.kill('SIGKILL');
    await app.exited;
    // (each worker sees its channel close and exits: a bound for a loaded machine)
    await waitFor(() => !workers.some(isAlive), { timeout: 10_000 });
    expect(workers.filter(isAlive)).toEqual([]);
    await app.stop();
  });
});
