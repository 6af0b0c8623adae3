import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startApp, stopAll } from '../../mob-messaging/test/harness.js';

const fixtures = join(__dirname, 'fixtures');
afterAll(stopAll);

describe('configuration errors', () => {
  it('throw at the call that was wrong, saying what, where and what to do', async () => {
    const app = startApp(join(fixtures, 'bad-config.cjs'));
    const { errors } = await app.waitFor((l) => l.errors, 'the errors');
    for (const e of Object.values(errors)) expect(e).toMatchObject({ name: 'ConfigError', code: 'E_MOB_CONFIG' });
    expect(errors.appName.message).toContain('start(name): name must match');
    expect(errors.roleName.message).toContain('role("no spaces!", "./idle.cjs"): a role name must match');
    expect(errors.duplicate.message).toContain('role "a" is already defined');
    expect(errors.count.message).toContain('workers must be an integer >= 0, got number -1');
    expect(errors.fraction.message).toContain('workers must be an integer >= 0, got number 1.5');
    expect(errors.minMax.message).toContain('maxWorkers (2) is below minWorkers (3)');
    expect(errors.both.message).toContain('either workers, or minWorkers/maxWorkers');
    expect(errors.missing.message).toContain('cannot find the role module "./does-not-exist.js"');
    expect(errors.missing.message).toContain(join(fixtures, 'does-not-exist.js'));
    expect(errors.base.message).toContain('base(x): expected a CommonJS `module`, `import.meta.url` or a directory path');
    expect(errors.serialization.message).toContain("use 'json' or 'advanced'");
    expect(errors.queueZero.message).toContain('role("g", "./idle.cjs"): queue.count must be an integer >= 1, got 0');
    expect(errors.queueType.message).toContain('role("h", "./idle.cjs"): queue must be an object { count, bytes }, got "x"');
    expect(errors.flowKey.message).toContain('start(name, { flow }): unknown option "hi"; it takes highWater, max');
    expect(errors.linksMax.message).toContain('use true, false or { max: <integer >= 1> }, got {"max":0}');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    await app.stop();
  });
});
