import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startApp, stopAll } from '../../mob-messaging/test/harness.js';

afterAll(stopAll);

describe("start(name, { serialization: 'advanced' })", () => {
  it('carries Map, Set, Date, BigInt and typed arrays through calls', async () => {
    const app = startApp(join(__dirname, 'fixtures', 'adv-main.cjs'));
    const { adv } = await app.waitFor((l) => l.adv, 'the report');
    expect(adv.described).toEqual({
      map: 'v',
      set: [1, 2],
      date: '2026-01-02T03:04:05.000Z',
      big: String(2n ** 70n),
      bytes: [1, 2, 3],
    });
    expect(adv.echoed).toEqual({ map: 'v', big: String(2n ** 70n), date: true });
    expect(adv.fn).toMatchObject({ name: 'PayloadError' });
    expect(adv.fn.message).toContain('arguments[0].f is a function');
    await app.stop();
  });
});
