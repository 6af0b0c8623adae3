// What a new user missed: a line when a reload or a stop is done, a role that cannot start
// printed once and reported by ready(), not waited on forever.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp, stopAll } from '../../mob-messaging/test/harness.js';

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
});
