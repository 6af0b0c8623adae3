import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startApp, stopAll } from '../../mob-messaging/test/harness.js';

const fixtures = join(__dirname, 'fixtures');
afterAll(stopAll);

describe('mob.require: remote proxies between roles', () => {
  it('serves calls, callbacks, errors, timeouts and exits as the README promises', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mob-rpc-'));
    const app = startApp(join(fixtures, 'rpc-main.cjs'), { env: { RPC_READY_FLAG: join(dir, 'ready') } });
    const line = await app.waitFor((l) => l.rpc || l.failed, 'the rpc report', 30_000).finally(() => rmSync(dir, { recursive: true, force: true }));
    expect(line.failed).toBeUndefined();
    const r = line.rpc;
    expect(r.early).toEqual({ value: 42 });
    expect(r.add).toEqual([null, 5]);
    expect(r.mul).toBe(42);
    expect(r.boom.error).toMatchObject({ name: 'TypeError', message: 'boom', instanceofTypeError: true });
    expect(r.boom.error.remote.role).toBe('back');
    expect(r.boom.error.stack).toContain('back.cjs');
    expect(r.asyncBoom.error).toMatchObject({ name: 'RangeError', message: 'async boom', code: 'E_BOOM' });
    expect(r.twiceCalls).toBe(1);
    expect(r.sequentialWorkers).toBeGreaterThanOrEqual(3);
    expect(r.concurrentOk).toBe(true);
    expect(r.concurrentCount).toBe(5000);
    expect(r.echo).toEqual(r.echoSent);
    expect(r.missing.error).toMatchObject({ name: 'NoSuchExportError', code: 'E_MOB_NO_EXPORT' });
    expect(r.missing.error.message).toMatch(/role "back" has no export "nope" \(exports: add, mul, pid, echo, boom/);
    for (const name of ['value', 'nested', 'constructor', 'toString']) {
      const res = r[name === 'constructor' ? 'proto' : name];
      expect(res.error, name).toMatchObject({ name: 'NoSuchExportError' });
      expect(res.error.message).not.toMatch(/exports: .*\bvalue\b/);
    }
    expect(r.timeout.error).toMatchObject({ name: 'TimeoutError', code: 'E_MOB_TIMEOUT' });
    // the 300 ms of the option (there is no default timeout: without it the call would hang);
    // the upper bound only leaves a loaded machine its delays
    expect(r.timeoutMs).toBeGreaterThanOrEqual(290);
    expect(r.timeoutMs).toBeLessThan(5_000);
    expect(r.exited.error).toMatchObject({ name: 'WorkerExitedError', code: 'E_MOB_WORKER_EXITED', role: 'back', exitCode: 3 });
    expect(r.exited.error.message).toMatch(/worker \d+ of role "back" exited \(code 3\)/);
    expect(r.afterExit).toBe(4);
    expect(r.stats).toEqual({ pendingCalls: 0, pendingCallbacks: 0, runningCalls: 0 });
    await app.stop();
  });

  it('a worker loads the proxy and callback packages at its first call, not before, and never the Kingpin\'s code', async () => {
    const app = startApp(join(fixtures, 'lazy-main.cjs'));
    const { lazy } = await app.waitFor((l) => l.lazy, 'the lazy report', 20_000);
    expect(lazy).toEqual({ atReady: 0, afterCall: 2, kingpinCode: false });
    await app.stop();
  });
});
