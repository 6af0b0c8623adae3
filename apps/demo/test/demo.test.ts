import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { delay, startApp, stopAll, waitFor } from '../../../packages/mob-messaging/test/harness.js';

const demo = join(__dirname, '..');
afterAll(stopAll);

function get(): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port: 1337, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => (body += d)).on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}

/** Whether a bare connection to 127.0.0.1:1337 is accepted (no request: no call to a back worker). */
function open(): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect(1337, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    }).on('error', () => resolve(false));
  });
}

/**
 * The example's servers print "running" as they call listen(), before the port is open (a
 * clean-clone CI run on Node 24 once got ECONNREFUSED there): wait, bounded, until a bare
 * connection (no request, so no call to a back worker) is accepted.
 */
async function listening(timeout = 10_000): Promise<void> {
  const until = Date.now() + timeout;
  for (;;) {
    if (await open()) return;
    if (Date.now() >= until) throw new Error(`nothing listens on 127.0.0.1:1337 within ${timeout} ms`);
    await delay(20);
  }
}

const barPids = (text: string): number[] => [...text.matchAll(/Bar! My pid is (\d+)/g)].map((m) => Number(m[1]));

describe("the README's example (apps/demo)", () => {
  it('serves Hello World, calls back workers, survives a SIGKILL, stops on SIGTERM', async () => {
    // The example listens on 1337, as the README says: another program there (another run of
    // the example) would answer in its place. Say so rather than fail on a worker count.
    expect(await open(), 'something else already listens on 127.0.0.1:1337: stop it first').toBe(false);
    const app = startApp(join(demo, 'main.js'), { cwd: demo });
    await app.waitForText(/Server \d+ running at http:\/\/127\.0\.0\.1:1337\//, 2);
    await app.waitForText(/Background worker \d+ running\./, 4);
    await listening();
    const backs = [...app.stdout().matchAll(/Background worker (\d+) running/g)].map((m) => Number(m[1]));
    expect(app.descendants()).toHaveLength(6);
    for (let i = 0; i < 40; i++) expect(await get()).toBe('Hello World\n');
    await app.waitForText(/Bar! My pid is \d+/, 40);
    const pids = barPids(app.stdout());
    expect(pids).toHaveLength(40);
    expect(pids.every((p) => backs.includes(p))).toBe(true);
    expect(new Set(pids).size).toBeGreaterThanOrEqual(3);

    // a back worker killed with SIGKILL is replaced, and calls go on
    process.kill(backs[0]!, 'SIGKILL');
    await app.waitForText(new RegExp(`worker ${backs[0]} of role "back" exited \\(signal SIGKILL\\)`));
    await app.waitForText(/Background worker \d+ running\./, 5);
    const before = barPids(app.stdout()).length;
    for (let i = 0; i < 8; i++) expect(await get()).toBe('Hello World\n');
    // each Bar! line comes from a back worker, after the front answered: wait for them
    await waitFor(() => barPids(app.stdout()).length >= before + 8, { timeout: 15_000 });
    const after = barPids(app.stdout()).slice(before);
    expect(after).toHaveLength(8);
    expect(after).not.toContain(backs[0]);
    expect(app.descendants()).toHaveLength(6);

    app.proc.kill('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    await app.stop();
  });

  it('runs the modern example: typed proxy, await, callbacks, remote errors', async () => {
    const app = startApp(join(demo, 'modern', 'main.mjs'), { cwd: demo });
    await app.waitForText(/done: press Ctrl\+C/);
    const out = app.stdout();
    expect(out).toContain('add(2, 3) = 5');
    expect(out).toMatch(/Hello, mob, from \d+/);
    expect(out).toContain('progress 25%\nprogress 50%\nprogress 75%\nprogress 100%\nwork: done');
    expect(out).toMatch(/caught RangeError \(E_NEGATIVE\) thrown in role api, pid \d+: cannot take the square root of -1/);
    expect(out).toContain('stats: { pendingCalls: 0, pendingCallbacks: 0, runningCalls: 0 }');
    await app.stop();
  });
});
