import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  MobError,
  NoSuchExportError,
  NoSuchRoleError,
  PayloadError,
  QueueFullError,
  ShutdownError,
  TimeoutError,
  WorkerExitedError,
  WrongProcessError,
  restoreError,
  serializeError,
} from './errors.js';
import type { SerializedError } from './protocol.js';

/** What crosses a JSON channel. */
function wire(err: unknown): SerializedError {
  return JSON.parse(JSON.stringify(serializeError(err))) as SerializedError;
}

describe('mob error classes', () => {
  it.each([
    [new MobError('m'), 'MobError', 'E_MOB'],
    [new ConfigError('m'), 'ConfigError', 'E_MOB_CONFIG'],
    [new PayloadError('m'), 'PayloadError', 'E_MOB_PAYLOAD'],
    [new NoSuchRoleError('x', []), 'NoSuchRoleError', 'E_MOB_NO_ROLE'],
    [new WorkerExitedError('back', 12, 1, null), 'WorkerExitedError', 'E_MOB_WORKER_EXITED'],
    [new TimeoutError('m'), 'TimeoutError', 'E_MOB_TIMEOUT'],
    [new QueueFullError('m'), 'QueueFullError', 'E_MOB_QUEUE_FULL'],
    [new ShutdownError('m'), 'ShutdownError', 'E_MOB_SHUTDOWN'],
    [new NoSuchExportError('m'), 'NoSuchExportError', 'E_MOB_NO_EXPORT'],
    [new WrongProcessError('m'), 'WrongProcessError', 'E_MOB_WRONG_PROCESS'],
  ])('%s has its fixed name and stable code', (err, name, code) => {
    expect(err).toBeInstanceOf(MobError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe(name);
    expect(err.code).toBe(code);
  });

  it('say what happened and what to do', () => {
    expect(new NoSuchRoleError('nope', ['back', 'front']).message).toMatch(
      /^role "nope" is not defined \(roles: back, front\); define it with \.role\("nope", path\) in the main script/,
    );
    expect(new NoSuchRoleError('nope', []).message).toContain('(roles: none)');
    expect(new WorkerExitedError('back', 12, 3, null).message).toBe(
      'worker 12 of role "back" exited (code 3) before the call was answered',
    );
    expect(new WorkerExitedError('back', 12, null, 'SIGKILL', 'the message').message).toBe(
      'worker 12 of role "back" exited (signal SIGKILL) before the message was answered',
    );
  });
});

describe('serializeError', () => {
  it('keeps name, message, code, stack and JSON-safe own properties', () => {
    const err = Object.assign(new RangeError('too far'), { code: 'E_FAR', limit: 3, at: { x: 1 }, fn: () => 1, n: NaN });
    const out = serializeError(err);
    expect(out).toEqual({
      name: 'RangeError',
      message: 'too far',
      code: 'E_FAR',
      stack: err.stack,
      props: { limit: 3, at: { x: 1 } },
    });
    expect(out.mob).toBeUndefined();
  });

  it('marks mob errors and carries their fields as props', () => {
    const out = serializeError(new WorkerExitedError('back', 12, null, 'SIGTERM'));
    expect(out.mob).toBe(true);
    expect(out.code).toBe('E_MOB_WORKER_EXITED');
    expect(out.props).toEqual({ role: 'back', pid: 12, exitCode: null, signal: 'SIGTERM' });
  });

  it('turns a non-error throw into an Error that says what was thrown', () => {
    expect(serializeError('boom')).toEqual({ name: 'Error', message: 'non-error thrown: "boom"', props: { thrown: 'boom' } });
    expect(serializeError({ a: 1 })).toEqual({
      name: 'Error',
      message: 'non-error thrown: [object Object]',
      props: { thrown: { a: 1 } },
    });
    expect(serializeError(undefined).message).toBe('non-error thrown: undefined');
    expect(serializeError(null).message).toBe('non-error thrown: null');
  });

  it('keeps a numeric code, and drops a code that is not a string or number', () => {
    expect(serializeError(Object.assign(new Error('x'), { code: 7 })).code).toBe(7);
    expect('code' in serializeError(Object.assign(new Error('x'), { code: { bad: true } }))).toBe(false);
  });
});

describe('restoreError', () => {
  it('restores a built-in error as its class, with name, message, code and remote', () => {
    const sent = Object.assign(new TypeError('bad type'), { code: 'E_TYPE' });
    const err = restoreError(wire(sent), { role: 'back', pid: 42 });
    expect(err).toBeInstanceOf(TypeError);
    expect(err.name).toBe('TypeError');
    expect(err.message).toBe('bad type');
    expect((err as Error & { code?: unknown }).code).toBe('E_TYPE');
    expect((err as Error & { remote?: unknown }).remote).toEqual({ role: 'back', pid: 42 });
    // not enumerable: a restored error logs like the original
    expect(Object.keys(err)).not.toContain('remote');
    expect(err.stack).toBe(`${sent.stack}\n    at <remote role "back", pid 42>`);
  });

  it.each([Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError])(
    'restores %o as itself',
    (Ctor) => {
      const err = restoreError(wire(new Ctor('m')));
      expect(err).toBeInstanceOf(Ctor);
      expect(err.name).toBe(Ctor.name);
    },
  );

  it('restores a mob error as its mob class, with its fields', () => {
    const err = restoreError(wire(new WorkerExitedError('back', 12, 1, null)));
    expect(err).toBeInstanceOf(WorkerExitedError);
    expect(err).toBeInstanceOf(MobError);
    const e = err as WorkerExitedError;
    expect(e.name).toBe('WorkerExitedError');
    expect(e.code).toBe('E_MOB_WORKER_EXITED');
    expect(e.message).toBe('worker 12 of role "back" exited (code 1) before the call was answered');
    expect([e.role, e.pid, e.exitCode, e.signal]).toEqual(['back', 12, 1, null]);
  });

  it('restores every mob class by name', () => {
    for (const err of [new ConfigError('a'), new PayloadError('b'), new TimeoutError('c'), new QueueFullError('d'), new NoSuchExportError('e'), new ShutdownError('f'), new WrongProcessError('g'), new NoSuchRoleError('h', [])]) {
      const back = restoreError(wire(err));
      expect(back).toBeInstanceOf(err.constructor);
      expect(back.message).toBe(err.message);
    }
  });

  it('keeps an app error that borrows a mob name as a plain Error with that name', () => {
    class TimeoutErrorOfTheApp extends Error {
      override name = 'TimeoutError';
    }
    const err = restoreError(wire(new TimeoutErrorOfTheApp('late')));
    expect(err).not.toBeInstanceOf(TimeoutError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('TimeoutError');
  });

  it('keeps a custom error name on an Error', () => {
    class DbError extends Error {
      override name = 'DbError';
      table = 'users';
    }
    const err = restoreError(wire(new DbError('locked')));
    expect(err.name).toBe('DbError');
    expect(err.message).toBe('locked');
    expect((err as Error & { table?: string }).table).toBe('users');
  });

  it('does not let a hostile frame reach prototypes or mob internals', () => {
    const data = JSON.parse(
      '{"name":"__proto__","message":"x","mob":true,"props":{"__proto__":{"polluted":1},"constructor":1,"remote":2,"ok":3}}',
    ) as SerializedError;
    const err = restoreError(data, { role: 'r', pid: 1 });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('__proto__');
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect((err as unknown as { polluted?: unknown }).polluted).toBeUndefined();
    expect((err as Error & { remote?: unknown }).remote).toEqual({ role: 'r', pid: 1 });
    expect((err as Error & { ok?: unknown }).ok).toBe(3);
    const ctor = restoreError({ name: 'constructor', message: 'x', mob: true });
    expect(Object.getPrototypeOf(ctor)).toBe(Error.prototype);
  });

  it('survives a malformed error', () => {
    const err = restoreError({ name: 5, message: 6 } as unknown as SerializedError);
    expect(err.name).toBe('Error');
    expect(err.message).toBe('6');
    expect(restoreError(undefined as unknown as SerializedError).name).toBe('Error');
  });
});
