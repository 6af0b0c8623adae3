import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp, stopAll, type App } from '../../mob-messaging/test/harness.js';

const fixtures = join(__dirname, 'fixtures');
afterEach(stopAll);

type RoleSpec = [string, string, Record<string, unknown>?];
function flowApp(scenario: string, roles: RoleSpec[]): App {
  return startApp(join(fixtures, 'life-main.cjs'), {
    env: { MOB_TEST_APP: JSON.stringify({ name: 'flow', roles }), FLOW: scenario },
  });
}
const small = { highWater: { count: 20 }, max: { count: 100 } };

describe('flow control', () => {
  it('send() says false from the high-water mark on, refuses beyond the hard bound at the call, and drain() waits for the receiver', async () => {
    const app = flowApp('stall', [
      ['prod', './flow-prod.mjs', { flow: small }],
      ['sink', './flow-sink.cjs'],
    ]);
    const { stall } = await app.waitFor((l) => l.stall, 'the stall report', 20_000);
    // The window holds the stall message and 99 more; the receiver reads nothing meanwhile.
    expect(stall.accepted).toBe(99);
    expect(stall.firstFalse).toBe(18); // with the stall message, 20 frames: the high-water mark
    expect(stall.count).toBe(100);
    expect(stall.refused).toMatchObject({ name: 'QueueFullError', code: 'E_MOB_QUEUE_FULL' });
    expect(stall.refused.message).toContain('any("sink").send(): the path to the Kingpin is full (100 frames');
    expect(stall.refused.message).toContain('flow.max');
    // drain() waited for the blocked receiver (1.5 s from the first frame)
    expect(stall.drainedAfter).toBeGreaterThan(500);
    // a sender that waits when told loses nothing and is refused nothing
    expect(stall.waits).toBeGreaterThan(0);
    const { sink } = await app.waitFor((l) => l.sink, 'the sink count', 20_000);
    expect(sink).toMatchObject({ got: stall.total, dups: 0, max: stall.total - 1 });
    await app.stop();
  });

  it('drain() waits for a direct link too: pid() messages over a link to a stalled worker, awaiting drain() when send() says false, are all delivered and none refused', async () => {
    const app = flowApp('link', [
      ['prod', './flow-prod.mjs', { flow: small }],
      ['sink', './flow-sink.cjs'],
    ]);
    const { link } = await app.waitFor((l) => l.link, 'the link report', 20_000);
    expect(link.refused).toBeUndefined();
    expect(link).toMatchObject({ total: 5000, links: 1 });
    expect(link.waits).toBeGreaterThan(0);
    const { sink } = await app.waitFor((l) => l.sink, 'the sink count', 20_000);
    expect(sink).toMatchObject({ got: 5000, dups: 0, max: 4999 });
    await app.stop();
  });

  it("answers a caller does not read fast enough do not pile up in the callee: its calls wait (links)", async () => {
    const app = flowApp('bigans', [
      ['prod', './flow-prod.mjs'],
      ['sink', './flow-sink.cjs'],
    ]);
    const { bigans } = await app.waitFor((l) => l.bigans, 'the big-answers report', 60_000);
    expect(bigans.other).toEqual([]);
    expect(bigans.ok + bigans.refused).toBe(3000);
    expect(bigans.ok).toBeGreaterThan(0);
    expect(bigans.links).toBe(1);
    // 3,000 answers of 100 KB are 300 MB: the callee holds its window's bound (16 MiB) of them,
    // with copies on their way out and garbage the collector has not taken yet: 163 to 231 MiB
    // peak here, as the collector runs earlier or later; 502 MiB when they piled up.
    expect(bigans.peak / 2 ** 20).toBeLessThan(300);
    await app.stop();
  });

  it('two workers flooding each other with calls over their link never wait on each other for good', async () => {
    // Each holds back the other's calls only while its own writes to it pile up; both holding
    // back until the other acknowledges (as with the window as the measure) would never end.
    const app = flowApp('twoway', [
      ['a', './flow-twoway.mjs', { flow: small }],
      ['b', './flow-twoway.mjs', { flow: small }],
    ]);
    const reports: { twoway: { role: string; sent: number; ok: number; refused: number; wrong: number; errors: string[]; links: number } }[] = [];
    for (const role of ['a', 'b']) {
      reports.push(await app.waitFor((l) => l.twoway?.role === role && l, `the report of role ${role}`, 20_000));
    }
    for (const { twoway } of reports) {
      expect(twoway.errors).toEqual([]);
      expect(twoway.wrong).toBe(0);
      expect(twoway.ok + twoway.refused).toBe(twoway.sent);
      // Thousands of calls each way in 2 s, over the link between the two.
      expect(twoway.ok).toBeGreaterThan(2000);
      expect(twoway.links).toBe(1);
    }
    await app.stop();
  });

  it('a message to many workers is accepted or refused as a whole: every worker gets every accepted one', async () => {
    const app = flowApp('all', [
      ['prod', './flow-prod.mjs', { flow: { highWater: { count: 20 }, max: { count: 50 } } }],
      ['sink', './flow-sink.cjs', { workers: 2 }],
    ]);
    const { all } = await app.waitFor((l) => l.all, 'the all report', 20_000);
    expect(all.accepted).toBe(49);
    expect(all.refused).toMatchObject({ name: 'QueueFullError' });
    await app.waitFor(() => app.lines.filter((l) => l.sink).length === 2, 'both sink counts', 20_000);
    for (const l of app.lines.filter((x) => x.sink)) expect(l.sink).toMatchObject({ got: 49, dups: 0, max: 48 });
    await app.stop();
  });

  it('an any() message beyond the held-queue bound of a role with no ready worker is refused at its call', async () => {
    const app = flowApp('held', [
      ['prod', './flow-prod.mjs'],
      ['sink', './flow-sink.cjs'],
      ['never', './never-ready.mjs', { queue: { count: 100 }, killTimeout: 500 }],
    ]);
    const { held } = await app.waitFor((l) => l.held, 'the held report', 20_000);
    expect(held.accepted).toBe(100);
    expect(held.refused).toBe(50);
    expect(held.first).toMatchObject({ name: 'QueueFullError', code: 'E_MOB_QUEUE_FULL' });
    expect(held.first.message).toContain('any("never").send(): role "never" has no ready worker and its queue is full (100 held');
    await app.stop();
  });

  it("a call beyond its proxy's pending bound rejects at once with QueueFullError naming the option", async () => {
    const app = flowApp('pending', [
      ['prod', './flow-prod.mjs'],
      ['sink', './flow-sink.cjs'],
    ]);
    const { pending } = await app.waitFor((l) => l.pending, 'the pending report', 20_000);
    expect(pending.early.slice(0, 5)).toEqual(['pending', 'pending', 'pending', 'pending', 'pending']);
    for (const e of pending.early.slice(5)) {
      expect(e).toMatchObject({ name: 'QueueFullError', code: 'E_MOB_QUEUE_FULL' });
      expect(e.message).toContain('sink.hang(): 5 calls of this proxy are pending, its bound (maxPending: 5)');
      expect(e.message).toContain('mob.require("sink", { maxPending })');
    }
    expect(pending.settled.slice(0, 5)).toEqual(Array(5).fill('released'));
    expect(pending.after).toEqual([0, 1, 2, 3, 4]);
    expect(pending.stats).toMatchObject({ pendingCalls: 0 });
    await app.stop();
  });

  it('a callback invoked beyond the invoker\'s bound throws QueueFullError at the invocation; every accepted one arrives', async () => {
    const app = flowApp('invoke', [
      ['prod', './flow-prod.mjs'],
      ['sink', './flow-sink.cjs', { flow: small }],
    ]);
    const { invoke } = await app.waitFor((l) => l.invoke, 'the invoke report', 20_000);
    expect(invoke.name).toBe('QueueFullError');
    expect(invoke.message).toMatch(/^callback: the (link to worker \d+|path to the Kingpin) is full/);
    expect(invoke.invoked).toBeGreaterThanOrEqual(90);
    expect(invoke.invoked).toBeLessThanOrEqual(100);
    expect(invoke.got).toBe(invoke.invoked);
    // counted in flowStats() whichever path refused it (the link's, here)
    expect(invoke.refused).toBe(1);
    await app.stop();
  });
});
