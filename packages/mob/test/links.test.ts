import { statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, startApp, stopAll, type App } from '../../mob-messaging/test/harness.js';

const fixtures = join(__dirname, 'fixtures');
afterEach(stopAll);

type RoleSpec = [string, string, Record<string, unknown>?];
function linksApp(scenario: string, roles: RoleSpec[], options: Record<string, unknown> = {}): App {
  const backs = String(Number(roles.find((r) => r[0] === 'back')?.[2]?.workers ?? 1));
  return startApp(join(fixtures, 'links-main.cjs'), { env: { MOB_TEST_APP: JSON.stringify({ roles, options }), LINKS: scenario, BACKS: backs } });
}
const app2 = (scenario: string, options?: Record<string, unknown>, backs = 1): App =>
  linksApp(scenario, [['front', './links-front.mjs'], ['back', './links-back.cjs', { workers: backs, killTimeout: 300 }]], options);

/**
 * Writes `data` to a Unix socket and resolves when the peer closes it (or after `ms`: a safety
 * net well past the link's 2 s handshake bound, which a loaded machine may overrun).
 */
function poke(path: string, data: string, ms = 10_000): Promise<'closed' | 'open'> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('open');
    }, ms);
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    socket.on('connect', () => socket.write(data));
  });
}

describe('direct links', () => {
  it.each([
    ['calls bypass the Kingpin once linked: it routes none of them', {}, 0, 1],
    ['with links: false every call goes through the Kingpin', { links: false }, 5, 0],
  ])('%s', async (_name, options, routed, links) => {
    const app = app2('bypass', options);
    // the callee has all five: whichever way they went, they are past the Kingpin
    await app.waitFor((l) => l.serving === 5, 'five calls hanging');
    app.proc.kill('SIGUSR2');
    const { workers } = await app.waitFor((l) => l.workers, 'the Kingpin’s view');
    expect(workers.find((w: { role: string }) => w.role === 'back').pendingCalls).toBe(routed);
    expect((await app.waitFor((l) => l.hanging, 'the caller’s report')).stats.links).toBe(links);
    await app.stop();
  });

  it('keeps per-worker order across the switch from routed to linked, for calls and messages, both ways', async () => {
    const app = app2('order');
    const { order, echoes, stats } = await app.waitFor((l) => l.echoes, 'the report');
    expect(order).toEqual(Array.from({ length: 300 }, (_, j) => j));
    // back answered every tenth message: through the Kingpin before the link, over it after
    expect(echoes).toEqual(Array.from({ length: 300 }, (_, j) => j).filter((j) => j % 10 === 0 && (j < 100 || j % 3 !== 0)).flatMap((j) => Array(j < 100 ? 50 : 1).fill(j)));
    expect(stats.links).toBe(1);
    await app.stop();
  });

  it('large JSON arguments and answers cross a link intact, and its window gets back every byte it took', async () => {
    const app = app2('big');
    const { big } = await app.waitFor((l) => l.big, 'the report', 30_000);
    expect(big.same).toBe(true);
    expect(big.bytes).toBeGreaterThan(10_000);
    // 2,000 calls of > 10 KB each: 20 MB through a window bounded at 16 MiB, none refused
    expect(big.errors).toEqual([]);
    expect(big.sizes).toBe(2000 * big.bytes);
    expect(big.stats.links).toBe(1);
    await app.stop();
  });

  it("a callee's exit rejects its linked calls with WorkerExitedError naming the exit code, at once", async () => {
    const app = app2('exit');
    const { exited } = await app.waitFor((l) => l.exited, 'the exit report');
    expect(exited.error).toMatchObject({ name: 'WorkerExitedError', code: 'E_MOB_WORKER_EXITED', exitCode: 3 });
    // At once (there is no call timeout to wait for); the bound leaves a loaded machine the
    // time to open the link and see the exit. (Without the Kingpin's word on the exit within
    // 1 s of the link closing, the call fails with no exit code: that is judged above.)
    expect(exited.ms).toBeLessThan(5_000);
    await app.stop();
  });

  it('a retiring worker killed at its killTimeout while running calls: they reject with WorkerExitedError and run nowhere else (no retries)', async () => {
    const app = app2('killed');
    const { killed } = await app.waitFor((l) => l.killed, 'the calls’ results', 20_000);
    expect(killed).toEqual(Array(5).fill(expect.objectContaining({ name: 'WorkerExitedError', signal: 'SIGKILL' })));
    // served once each, by the old worker: not sent again to its replacement
    expect(app.lines.filter((l) => l.serving !== undefined).map((l) => l.serving)).toEqual([1, 2, 3, 4, 5]);
    await app.waitFor((l) => l.reloaded === true, 'the reload done');
    await app.stop();
  });

  it('spreads calls over every worker of the role, within the bound of links', async () => {
    const app = app2('spread', { links: { max: 1 } }, 2);
    const { spread } = await app.waitFor((l) => l.spread, 'the spread report');
    expect(new Set(spread.pids).size).toBe(2);
    expect(spread.stats.links).toBe(1);
    // the sockets live in a folder only the app's user can enter
    expect(statSync(spread.dir).mode & 0o777).toBe(0o700);
    await app.stop();
  });

  it('only a worker the Kingpin introduced can connect: hostile bytes and wrong tokens are cut off, and calls go on', async () => {
    const app = app2('spread', {}, 2);
    const { spread } = await app.waitFor((l) => l.spread, 'the spread report');
    const front = app.lines.find((l) => l.ev === 'ready' && l.role === 'front').pid;
    const path = join(spread.dir, `${front}.sock`);
    const junk = [
      'not json at all\n',
      '{"t":"0000","p":1}\n',
      JSON.stringify({ t: 'x'.repeat(36), p: spread.pids[0] }) + '\n',
      JSON.stringify({ __proto__: { t: 1 }, p: spread.pids[0] }) + '\n',
      '{"$mob":2,"f":[[5,"back",1,"pid",[]]]}\n',
      'x'.repeat(100_000),
      '\n'.repeat(10),
    ];
    for (const data of junk) expect(await poke(path, data)).toBe('closed');
    expect(isAlive(front)).toBe(true);
    expect(app.lines.filter((l) => l.ev === 'exit')).toEqual([]);
    await app.stop();
  });

  it.each([['links', '1'], ['links: false', '0']])(
    'with %s, reloads and a stop under 50 calls in flight fail no call: answers take the way their call came, and a retiring worker serves its linked callers until they stop',
    async (_name, links) => {
      const app = startApp(join(fixtures, 'retire-main.cjs'), { env: { LINKS: links } });
      // The first 50 calls go through the Kingpin, and links open meanwhile: all are answered.
      const started = (n: number): Promise<unknown> => app.waitFor(() => app.lines.filter((l) => l.started).length >= n, `front generation ${n}: its first 50 calls answered`, 10_000);
      await started(1);
      for (let i = 1; i <= 2; i++) {
        app.proc.kill('SIGHUP');
        await app.waitForText(/reload of role "front" done/, i, 30_000);
        await started(i + 1);
      }
      app.proc.kill('SIGTERM');
      expect(await app.exited).toEqual({ code: 0, signal: null });
      const results = app.lines.filter((l) => l.front);
      expect(results).toHaveLength(3);
      for (const r of results) {
        expect(r.bad).toBe(0);
        expect(r.ok).toBeGreaterThanOrEqual(50); // its first 50 at least (a loaded machine may give no more)
        // The stop too: every front's shutdown listener runs while back still serves (the
        // stop's first phase), so the calls it waits for are all answered; none is refused.
        expect(r.errs).toEqual({});
      }
      await app.stop();
    },
    90_000,
  );
});

