import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cmdline, startApp, stopAll } from './harness.js';
import { checkScenario } from './scenario-check.js';

const fixtures = join(__dirname, 'fixtures');
afterAll(stopAll);

describe('mob-messaging alone in a plain node:cluster ESM app', () => {
  it('routes all/any/pid/send among MOB_ROLE workers through createRouter()', async () => {
    const app = startApp(join(fixtures, 'plain-app.mjs'));
    const { report } = await app.waitFor((l) => l.report, 'the driver report');
    checkScenario(report);
    const { errors } = await app.waitFor((l) => l.errors, 'the error report');
    expect(errors.unknown).toMatchObject({ name: 'NoSuchRoleError', code: 'E_MOB_NO_ROLE' });
    expect(errors.unknown.message).toContain('"nope"');
    expect(errors.payload).toMatchObject({ name: 'PayloadError', code: 'E_MOB_PAYLOAD' });
    expect(errors.payload.message).toContain('message.fn is a function');
    // the app's own process.send traffic reached the primary untouched, mob's never did
    const { primary } = await app.waitFor((l) => l.primary, 'the primary report');
    expect(primary).toEqual({ mobSeen: 0, appSeen: 3 });
    expect(app.descendants()).toHaveLength(4);
    expect(cmdline(app.pid)).toContain('plain-app.mjs');
    await app.stop();
  });
});
