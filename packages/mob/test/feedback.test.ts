// What a new user missed: a line when a reload or a stop is done, a role that cannot start
// printed once and reported by ready(), not waited on forever.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, startApp, stopAll } from '../../mob-messaging/test/harness.js';

const fixtures = join(__dirname, 'fixtures', 'operate');
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  await stopAll();
  for (const fn of cleanup.splice(0)) await fn();
});

describe('feedback', () => {
  it('logs when a SIGHUP reload of each role is done, and when every worker is gone after SIGTERM', async () => {
    const home = mkdtempSync(join(tmpdir(), 'mob-fb-'));
    cleanup.push(() => rmSync(home, { recursive: true, force: true }));
    const app = startApp(join(fixtures, 'main.cjs'), { env: { MOB_HOME: home } });
    await app.waitFor((l) => typeof l.port === 'number', 'front listening');
    await app.waitForText(/Bar|^/); // output flows
    // Both front workers listen before the reload starts.
    await app.waitForText(/"port":\d+/, 2);
    process.kill(app.pid, 'SIGHUP');
    await app.waitForText(/mob: reload of role "back" done: replaced 2 worker\(s\) in \d+ ms/, 1, 15_000);
    await app.waitForText(/mob: reload of role "front" done: replaced 2 worker\(s\) in \d+ ms/, 1, 15_000);
    process.kill(app.pid, 'SIGTERM');
    const { code } = await app.exited;
    expect(code).toBe(0);
    await app.waitForText(/mob: every worker is gone \(4 stopped in \d+ ms\); exiting/);
  });

  it('a role whose port is in use: ready() rejects naming it, and its stack is printed once', async () => {
    const holder: Server = await new Promise((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => resolve(s));
    });
    cleanup.push(() => new Promise((r) => holder.close(r)));
    const port = (holder.address() as { port: number }).port;
    const app = startApp(join(fixtures, 'busy-main.cjs'), { env: { PORT: String(port) } });
    const { readyError } = await app.waitFor((l) => l.readyError, 'ready() rejected', 15_000);
    expect(readyError).toMatchObject({ name: 'RoleFailedError', code: 'E_MOB_ROLE_FAILED', role: 'web', deaths: 3 });
    expect(readyError.message).toMatch(/^role "web" cannot start: 3 workers in a row exited before ready \(last: code 1, Error: bind EADDRINUSE 127\.0\.0\.1:\d+\)/);
    // stderr is a pipe of its own, read apart from stdout: wait (bounded) until the first
    // crash's stack is in, up to the log line after it.
    await app.waitForText(/crashed \(uncaughtException\) \(restarts so far: 0\):\n(?:.*\n)*?mob: /);
    const err = app.stderr();
    expect(err).not.toContain("Unhandled 'error' event");
    // The first crash prints the stack; the same error again is one line each, without it.
    const lines = err.split('\n');
    const first = lines.findIndex((l) => /crashed \(uncaughtException\) \(restarts so far: 0\):$/.test(l));
    const block = lines.slice(first + 1, lines.findIndex((l, i) => i > first && l.startsWith('mob: ')));
    const frames = block.filter((l) => /^\s+at /.test(l));
    expect(frames.length).toBeGreaterThan(0);
    expect(lines.filter((l) => /^\s+at /.test(l))).toEqual(frames);
    expect(err).toMatch(/mob: worker \d+ of role "web" crashed \(uncaughtException\)/);
  });

  it('a worker that cannot be started (no file descriptor left) is tried again with backoff, not counted, and the stop does not wait for it', async () => {
    const app = startApp(join(__dirname, 'fixtures', 'fds-main.cjs'));
    await app.waitForText(/"ready":\d+/, 2);
    const pids = app.lines.filter((l) => l.ready).map((l) => l.ready as number);
    expect(pids).toHaveLength(2);
    // A limit the test can reach quickly, whatever the machine's is.
    execFileSync('prlimit', [`--pid=${app.pid}`, '--nofile=1024:1024']);
    process.kill(app.pid, 'SIGUSR2');
    expect((await app.waitFor((l) => l.held !== undefined, 'descriptors held')).code).toBe('EMFILE');
    process.kill(pids[0]!, 'SIGKILL');
    await app.waitForText(/mob: a new worker of role "back" could not be started \(spawn .*EMFILE\); trying again in \d+ ms/, 1, 10_000);
    expect(app.stderr()).not.toMatch(/worker undefined/);
    process.kill(app.pid, 'SIGUSR2');
    await app.waitFor((l) => l.released, 'descriptors released');
    // Its slot is filled once descriptors are free again.
    const revived = await app.waitFor((l) => l.ready && !pids.includes(l.ready), 'a revived back worker', 20_000);
    expect(isAlive(revived.ready)).toBe(true);
    const tree = app.descendants();
    expect(tree).toHaveLength(2);
    process.kill(app.pid, 'SIGTERM');
    const t0 = Date.now();
    const { code } = await app.exited;
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    for (const pid of tree) expect(isAlive(pid)).toBe(false);
  });
});
