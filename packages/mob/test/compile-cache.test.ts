// Workers turn on Node's module compile cache (Node 22.1 and later) and write it once their
// role module has loaded (22.10 and later); Node 20 has none, and nothing is written there.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp, stopAll, waitFor } from '../../mob-messaging/test/harness.js';

const fixtures = join(__dirname, 'fixtures', 'operate');
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  await stopAll();
  for (const fn of cleanup.splice(0)) await fn();
});

const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
const flushes = major > 22 || (major === 22 && minor >= 10);

/** Cache entries under `<tmp>/node-compile-cache` (one folder per Node version). */
function entries(tmp: string): number {
  const root = join(tmp, 'node-compile-cache');
  if (!existsSync(root)) return 0;
  return readdirSync(root).reduce((n, v) => n + readdirSync(join(root, v)).length, 0);
}

describe('compile cache', () => {
  it(`workers ${flushes ? 'write' : 'have no'} compile cache on Node ${process.versions.node}`, async () => {
    // os.tmpdir() follows TMPDIR: the cache's default folder is a fresh one of this test's.
    const tmp = mkdtempSync(join(tmpdir(), 'mob-cc-'));
    cleanup.push(() => rmSync(tmp, { recursive: true, force: true }));
    // Node's own switches (even empty) would decide instead of mob: the app runs without them.
    for (const k of ['NODE_COMPILE_CACHE', 'NODE_DISABLE_COMPILE_CACHE']) {
      const was = process.env[k];
      if (was === undefined) continue;
      delete process.env[k];
      cleanup.push(() => (process.env[k] = was));
    }
    const app = startApp(join(fixtures, 'main.cjs'), { env: { TMPDIR: tmp, MOB_HOME: join(tmp, 'home'), APP_NAME: 'ccapp' } });
    await app.waitForText(/"port":\d+/, 2);
    if (flushes) {
      // Written at ready, not only at exit: mob's packages and the role modules, at least.
      expect(await waitFor(() => entries(tmp) >= 5, { timeout: 10_000 })).toBe(true);
    }
    process.kill(app.pid, 'SIGTERM');
    expect((await app.exited).code).toBe(0);
    if (flushes) expect(entries(tmp)).toBeGreaterThanOrEqual(5);
    else expect(entries(tmp)).toBe(0);
  });
});
