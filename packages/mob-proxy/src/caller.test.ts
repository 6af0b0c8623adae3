import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ConfigError,
  Kind,
  NoSuchExportError,
  NoSuchRoleError,
  PayloadError,
  QueueFullError,
  TimeoutError,
  WorkerExitedError,
  decodePayload,
  encodePayload,
  serializeError,
  type CallFrame,
  type Transport,
} from 'mob-messaging';
import type { Callbacks } from 'mob-callbacks';
import { createCallbacks as createCallbacksFromSource, keep } from '../../mob-callbacks/src/index.js';
import { createCaller, type Caller, type ProxyOptions } from './caller.js';
import { createDispatcher, type Dispatcher } from './dispatcher.js';
import { createMemoryNetwork, type MemoryNetwork, type MemoryTransport } from '../../mob-callbacks/test/memory-transport.js';

// One copy of mob-messaging in the test: vitest loads this file's 'mob-messaging' (and
// caller.ts's) through its module runner, while mob-callbacks' dist require()s a second copy,
// whose error classes fail `instanceof` against the first. The registry is therefore taken
// from source; it is typed as the published class that createCaller expects.
const createCallbacks = (t: Transport): Callbacks => createCallbacksFromSource(t) as unknown as Callbacks;

/**
 * A proxy as JavaScript uses it, for export names the module type does not have. (An untyped
 * `Remote` is not callable and its methods are possibly undefined: see remote.test-d.ts.)
 */
const untyped = (caller: Caller, role: string, options?: ProxyOptions): any => caller.proxy(role, options);

const CLIENT = 1;
const SERVER = 2;

interface Server {
  t: MemoryTransport;
  callbacks: Callbacks;
  dispatcher: Dispatcher;
}

function serve(net: MemoryNetwork, pid: number, exports: unknown, esm = false, role = 'back'): Server {
  const t = net.connect(pid, role);
  const callbacks = createCallbacks(t);
  return { t, callbacks, dispatcher: createDispatcher({ transport: t, callbacks, module: { exports, esm, role } }) };
}

interface World {
  net: MemoryNetwork;
  clientT: MemoryTransport;
  callbacks: Callbacks;
  caller: Caller;
}

function client(net = createMemoryNetwork(), roles?: () => ReadonlySet<string> | null): World {
  const clientT = net.connect(CLIENT);
  const callbacks = createCallbacks(clientT);
  const caller = createCaller(roles ? { transport: clientT, callbacks, roles } : { transport: clientT, callbacks });
  return { net, clientT, callbacks, caller };
}

/** A client and one server of role "back" serving `exports`. */
function world(exports: unknown, esm = false): World & { server: Server } {
  const w = client();
  return { ...w, server: serve(w.net, SERVER, exports, esm) };
}

function callsPosted(t: MemoryTransport): CallFrame[] {
  return t.posted.filter((fr): fr is CallFrame => fr.k === Kind.Call);
}

/** The rejection of `p` (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await p;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error('expected the call to reject; it resolved');
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.useRealTimers();
});

describe('calls', () => {
  const api = {
    add: (a: number, b: number) => a + b,
    async later(x: string) {
      await Promise.resolve();
      return { got: x, list: [1, null] };
    },
    promised: (n: number) => Promise.resolve(n * 2),
    nothing: () => undefined,
  };

  it('resolve with the values of sync and async exports', async () => {
    const { caller, net } = world(api);
    const back = caller.proxy<typeof api>('back');
    await expect(back.add(2, 3)).resolves.toBe(5);
    await expect(back.later('x')).resolves.toEqual({ got: 'x', list: [1, null] });
    await expect(back.promised(21)).resolves.toBe(42);
    await expect(back.nothing()).resolves.toBeUndefined();
    expect(caller.pending).toBe(0);
    expect(net.inflight).toBe(0);
  });

  it('post one call frame naming role, export and arguments', async () => {
    const { caller, clientT } = world(api);
    await caller.proxy<typeof api>('back').add(2, 3);
    expect(callsPosted(clientT)).toEqual([{ k: Kind.Call, r: 'back', i: 0, m: 'add', a: [2, 3] }]);
  });

  it('caller.call copies its argument array: changing it after the call changes nothing', () => {
    // A transport that keeps frames by reference, as the real outbox does until its flush.
    const posted: CallFrame[] = [];
    const t: Transport = {
      pid: CLIENT,
      post: (fr) => posted.push(fr as CallFrame) > 0,
      flush: () => {},
      handle: () => {},
      encode: (value, where, owned) => encodePayload(value, where, 'json', owned),
      decode: (payload) => decodePayload(payload, 'json'),
    };
    const caller = createCaller({ transport: t, callbacks: createCallbacks(t) });
    const args = [1, 2];
    void caller.call('back', 'add', args);
    args[0] = 99;
    expect(posted.map((fr) => fr.a)).toEqual([[1, 2]]);
  });

  it('run many at once: 5000 concurrent calls get their own answers', async () => {
    const { caller, net, server, callbacks } = world(api);
    const back = caller.proxy<typeof api>('back');
    const calls = Array.from({ length: 5000 }, (_, i) => back.add(i, 1_000_000));
    expect(caller.pending).toBe(5000);
    const results = await Promise.all(calls);
    expect(results).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1_000_000));
    expect(caller.pending).toBe(0);
    expect(net.inflight).toBe(0);
    expect(server.dispatcher.running).toBe(0);
    expect(callbacks.size).toBe(0);
  });

  it('reuse one function per export name', () => {
    const { caller } = world(api);
    const back = caller.proxy('back');
    expect(back.add).toBe(back.add);
    expect(back.add).not.toBe(back.later);
  });

  it('send the balance option with each call, and no balance field without it', async () => {
    const { caller, clientT } = world(api);
    await caller.proxy<typeof api>('back', { balance: 'least-pending' }).add(1, 1);
    await caller.proxy<typeof api>('back').add(1, 1);
    const [withB, without] = callsPosted(clientT);
    expect(withB!.b).toBe('least-pending');
    expect(without).not.toHaveProperty('b');
  });

  it('a nested function in an argument throws a PayloadError naming its path; nothing is sent', () => {
    const { caller, clientT, callbacks } = world(api);
    const back = untyped(caller, 'back');
    let caught: unknown;
    try {
      void back.add(() => {}, { opts: { onDone() {} } });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PayloadError);
    expect((caught as PayloadError).message).toMatch(/^back\.add\(\): arguments\[1\]\.opts\.onDone is a function/);
    expect(callsPosted(clientT)).toHaveLength(0);
    expect(caller.pending).toBe(0);
    expect(callbacks.size).toBe(0);
  });
});

describe('remote errors', () => {
  class DbError extends Error {
    override name = 'DbError';
    code = 'E_LOCKED';
    table = 'users';
  }
  const api = {
    boom() {
      throw new DbError('table locked');
    },
    async asyncBoom() {
      await Promise.resolve();
      throw new DbError('later');
    },
    typeError() {
      return (null as unknown as { x: number }).x;
    },
    throwString() {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- a non-error throw is the point
      throw 'just a string';
    },
    makeFn: () => ({ ok: 1, fn: () => 1 }),
    big: () => 10n,
  };

  it('a throw rejects with the same name, message, code, fields and the remote role and pid', async () => {
    const { caller } = world(api);
    const err = await rejection(caller.proxy<typeof api>('back').boom());
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('DbError');
    expect(err.message).toBe('table locked');
    expect(err.code).toBe('E_LOCKED');
    expect(err.table).toBe('users');
    expect(err.remote).toEqual({ role: 'back', pid: SERVER });
    expect(err.stack).toContain('at <remote role "back", pid 2>');
    expect(caller.pending).toBe(0);
  });

  it('an async rejection does the same', async () => {
    const { caller } = world(api);
    const err = await rejection(caller.proxy<typeof api>('back').asyncBoom());
    expect([err.name, err.message, err.code]).toEqual(['DbError', 'later', 'E_LOCKED']);
    expect(err.remote).toEqual({ role: 'back', pid: SERVER });
  });

  it('a remote TypeError is a TypeError here', async () => {
    const { caller } = world(api);
    const err = await rejection(caller.proxy<typeof api>('back').typeError());
    expect(err).toBeInstanceOf(TypeError);
    expect(err.name).toBe('TypeError');
    expect(err.message).toMatch(/Cannot read properties of null/);
  });

  it('a thrown non-error becomes an Error saying what was thrown', async () => {
    const { caller } = world(api);
    const err = await rejection(caller.proxy<typeof api>('back').throwString());
    expect(err.name).toBe('Error');
    expect(err.message).toBe('non-error thrown: "just a string"');
  });

  it('a result JSON cannot carry rejects with a PayloadError', async () => {
    const { caller } = world(api);
    const back = caller.proxy<typeof api>('back');
    const fnErr = await rejection(back.makeFn());
    expect(fnErr).toBeInstanceOf(PayloadError);
    expect(fnErr.code).toBe('E_MOB_PAYLOAD');
    expect(fnErr.message).toMatch(/^role "back" export "makeFn" returned result\.fn is a function/);
    const bigErr = await rejection(back.big());
    expect(bigErr).toBeInstanceOf(PayloadError);
    expect(bigErr.message).toMatch(/returned result is a BigInt/);
  });

  it('a call nobody awaits that rejects is not an unhandled rejection', async () => {
    const { caller, net } = world(api);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const back = caller.proxy<typeof api>('back');
      void back.boom();
      void back.asyncBoom();
      void untyped(caller, 'back').nope();
      await net.settle();
      expect(caller.pending).toBe(0);
      await nextTurn();
      await nextTurn();
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('what a proxy can call', () => {
  class Api {
    base = 10;
    // on the prototype: not an export
    hidden(): string {
      return 'ran';
    }
  }
  // inherited, and enumerable (for...in would see it)
  Object.setPrototypeOf(Api.prototype, { inheritedEnumerable: () => 'ran' });
  const exportsOf = () =>
    Object.assign(new Api(), {
      addBase(this: Api, x: number) {
        return this.base + x;
      },
      slow: () => 1,
      count: 3,
      config: { fn: 'no' },
    });

  it('a missing export rejects with NoSuchExportError naming role, export and the exports', async () => {
    const { caller } = world(exportsOf());
    const err = await rejection(untyped(caller, 'back').nope(1));
    expect(err).toBeInstanceOf(NoSuchExportError);
    expect(err.name).toBe('NoSuchExportError');
    expect(err.code).toBe('E_MOB_NO_EXPORT');
    expect(err.message).toBe('role "back" has no export "nope" (exports: addBase, slow)');
    expect(err.remote).toEqual({ role: 'back', pid: SERVER });
  });

  it('exports run with the module as `this`', async () => {
    const { caller } = world(exportsOf());
    await expect(untyped(caller, 'back').addBase(5)).resolves.toBe(15);
  });

  it.each(['count', 'config', 'base', 'hidden', 'inheritedEnumerable', 'constructor', 'toString', 'valueOf', '__proto__', 'hasOwnProperty', 'default'])(
    'never dispatches %s (not an own function export)',
    async (name) => {
      const { caller } = world(exportsOf());
      const err = await rejection(untyped(caller, 'back')[name]('base'));
      expect(err).toBeInstanceOf(NoSuchExportError);
      expect(err.message).toBe(`role "back" has no export "${name}" (exports: addBase, slow)`);
    },
  );

  it('`module.exports = fn` is callable as the proxy itself; its function properties as methods', async () => {
    const mod = Object.assign((a: number, b: number) => a * b, { helper: () => 'help' });
    const { caller, clientT } = world(mod);
    const mul = caller.proxy<typeof mod>('back');
    await expect(mul(6, 7)).resolves.toBe(42);
    await expect(mul.helper()).resolves.toBe('help');
    expect(callsPosted(clientT).map((fr) => fr.m)).toEqual(['', 'helper']);
    // Function.prototype is not served either
    const err = await rejection(untyped(caller, 'back').call(null, 1, 2));
    expect(err).toBeInstanceOf(NoSuchExportError);
  });

  it('an ES module default function is callable as the proxy itself; `default` is not a method', async () => {
    const mod = { default: (name: string) => `hi ${name}`, other: () => 'other' };
    const { caller } = world(mod, true);
    const greet = caller.proxy<typeof mod>('back');
    await expect(greet('ann')).resolves.toBe('hi ann');
    await expect(greet.other()).resolves.toBe('other');
    expect(await rejection(untyped(caller, 'back').default('x'))).toBeInstanceOf(NoSuchExportError);
  });

  it('a CommonJS module compiled from ESM (__esModule) serves its default function too', async () => {
    const mod = { __esModule: true, default: () => 'compiled' };
    const { caller } = world(mod);
    await expect(untyped(caller, 'back')()).resolves.toBe('compiled');
  });

  it('calling a module that is not a function rejects with NoSuchExportError', async () => {
    const { caller } = world({ slow: () => 1 });
    const err = await rejection(untyped(caller, 'back')());
    expect(err).toBeInstanceOf(NoSuchExportError);
    expect(err.message).toBe(
      'role "back" is not a function itself (module.exports = fn or export default fn) (exports: slow)',
    );
  });

  it('`then` is undefined, so awaiting a proxy is safe and sends nothing', async () => {
    const { caller, clientT } = world(exportsOf());
    const back = caller.proxy('back');
    expect((back as { then?: unknown }).then).toBeUndefined();
    // eslint-disable-next-line @typescript-eslint/await-thenable -- awaiting a proxy is the case under test
    const awaited: unknown = await back;
    expect(awaited).toBe(back);
    expect((back as unknown as Record<symbol, unknown>)[Symbol.toPrimitive]).toBeUndefined();
    expect(callsPosted(clientT)).toHaveLength(0);
  });
});

describe('callbacks as arguments', () => {
  const api = {
    twice(x: number, cb: (y: number) => void) {
      cb(x * 2);
      return 'done';
    },
    progress(steps: number, onStep: (n: number) => void) {
      for (let i = 1; i <= steps; i++) onStep(i);
    },
  };

  it('a local function passed to a call runs with the remote arguments, once', async () => {
    const { caller, net, callbacks } = world(api);
    const cb = vi.fn();
    await expect(caller.proxy<typeof api>('back').twice(21, cb)).resolves.toBe('done');
    await net.settle();
    expect(cb).toHaveBeenCalledTimes(1);
    expect(cb).toHaveBeenCalledWith(42);
    expect(callbacks.size).toBe(0);
  });

  it('a kept callback runs every time, stays until release, and goes when its holder exits', async () => {
    const { caller, net, callbacks } = world(api);
    const seen: number[] = [];
    const onStep = keep((n: number) => void seen.push(n));
    await caller.proxy<typeof api>('back').progress(3, onStep);
    await net.settle();
    expect(seen).toEqual([1, 2, 3]);
    expect(callbacks.size).toBe(1);
    net.kill(SERVER);
    await net.settle();
    expect(callbacks.size).toBe(0);
  });
});

describe('callbacks of a failed call', () => {
  const api = {
    throwWith(_cb: () => void) {
      throw new Error('no');
    },
    async throwLater(_cb: () => void) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      throw new Error('later');
    },
  };

  it('a callee that throws or rejects: the callbacks of the call are released at once, kept ones too', async () => {
    const { caller, net, callbacks } = world(api);
    const back = caller.proxy<typeof api>('back');
    const kept = keep(() => {});
    const calls = [back.throwWith(() => {}), back.throwLater(() => {}), back.throwWith(kept), back.throwLater(kept)];
    expect(callbacks.size).toBe(4);
    const errs = await Promise.all(calls.map((p) => rejection(p)));
    expect(errs.map((e) => e.message)).toEqual(['no', 'later', 'no', 'later']);
    // The callee still holds its stubs (nothing collected them): only the failure released them.
    expect(callbacks.size).toBe(0);
    await net.settle();
    expect(callbacks.size).toBe(0);
  });
});

describe('timeouts', () => {
  it('an unanswered call rejects with TimeoutError and its callbacks are released', async () => {
    vi.useFakeTimers();
    let heldCb: ((x: string) => void) | undefined;
    const answer = deferred<string>();
    const { caller, net, callbacks } = world({
      hang(cb: (x: string) => void) {
        heldCb = cb;
        return answer.promise;
      },
    });
    const cb = vi.fn();
    const call = untyped(caller, 'back', { timeout: 100 }).hang(cb);
    let settled = false;
    call.then(
      () => (settled = true),
      () => (settled = true),
    );
    await net.settle();
    expect(heldCb).toBeTypeOf('function');
    expect(callbacks.size).toBe(1);

    await vi.advanceTimersByTimeAsync(99);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const err = await rejection(call);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.name).toBe('TimeoutError');
    expect(err.code).toBe('E_MOB_TIMEOUT');
    expect(err.message).toBe('call back.hang() was not answered within 100 ms');
    expect(caller.pending).toBe(0);
    expect(callbacks.size).toBe(0);

    // too late: the answer and the callback are dropped
    heldCb!('late');
    answer.resolve('late');
    await net.settle();
    expect(cb).not.toHaveBeenCalled();
    expect(caller.pending).toBe(0);
  });

  it('an answered call clears its timer', async () => {
    vi.useFakeTimers();
    const { caller } = world({ fast: () => 'ok' });
    await expect(untyped(caller, 'back', { timeout: 100 }).fast()).resolves.toBe('ok');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('names the module itself as (module)', async () => {
    vi.useFakeTimers();
    const { caller } = client();
    const call = untyped(caller, 'nobody', { timeout: 5 })();
    await vi.advanceTimersByTimeAsync(5);
    expect((await rejection(call)).message).toBe('call nobody.(module)() was not answered within 5 ms');
  });
});

describe('workers exiting', () => {
  const hanging = { work: () => new Promise(() => {}) };

  it("a 'fail' frame with WorkerExitedError rejects the call, releasing its callbacks", async () => {
    const { caller, net, callbacks } = world(hanging);
    const call = untyped(caller, 'back').work(() => {});
    await net.settle();
    net.kill(SERVER, null, 'SIGKILL');
    const err = await rejection(call);
    expect(err).toBeInstanceOf(WorkerExitedError);
    expect(err.code).toBe('E_MOB_WORKER_EXITED');
    expect([err.role, err.pid, err.exitCode, err.signal]).toEqual(['back', SERVER, null, 'SIGKILL']);
    expect(caller.pending).toBe(0);
    expect(callbacks.size).toBe(0);
  });

  it('with retries, the call is posted again to another worker and resolves', async () => {
    const { caller, net, clientT } = client();
    serve(net, 2, hanging);
    const call = untyped(caller, 'back', { retries: 2 }).work('arg');
    await net.settle();
    serve(net, 3, hanging);
    net.kill(2);
    await net.settle();
    serve(net, 4, { work: (x: string) => `done by 4 with ${x}` });
    net.kill(3);
    await expect(call).resolves.toBe('done by 4 with arg');
    const posts = callsPosted(clientT);
    expect(posts).toHaveLength(3);
    expect(new Set(posts.map((fr) => JSON.stringify(fr))).size).toBe(1);
    expect(caller.pending).toBe(0);
  });

  it('rejects with the last WorkerExitedError once the retries are spent', async () => {
    const { caller, net, clientT } = client();
    serve(net, 2, hanging);
    const call = untyped(caller, 'back', { retries: 1 }).work();
    await net.settle();
    serve(net, 3, hanging);
    net.kill(2);
    await net.settle();
    net.kill(3, 7);
    const err = await rejection(call);
    expect(err).toBeInstanceOf(WorkerExitedError);
    expect([err.pid, err.exitCode]).toEqual([3, 7]);
    expect(callsPosted(clientT)).toHaveLength(2);
  });

  it('does not retry other failures', async () => {
    const { caller, net, clientT, callbacks } = client();
    const call = untyped(caller, 'nobody', { retries: 5 }).work(() => {});
    net.inject(CLIENT, { k: Kind.Fail, i: 0, e: serializeError(new QueueFullError('role "nobody" queue is full')) });
    const err = await rejection(call);
    expect(err).toBeInstanceOf(QueueFullError);
    expect(err.code).toBe('E_MOB_QUEUE_FULL');
    expect(err.message).toBe('role "nobody" queue is full');
    expect(callsPosted(clientT)).toHaveLength(1);
    expect(callbacks.size).toBe(0);
  });

  it('a call its path fails while it is posted (a frame too big for the broker) rejects with that failure, not at its timeout', async () => {
    const net = createMemoryNetwork();
    const t = net.connect(CLIENT);
    // The path answers inside post(), as mob-messaging's remote path does for a frame over
    // the broker's max_payload.
    let fail: ((fr: { k: typeof Kind.Fail; i: number; e: unknown }) => void) | undefined;
    const handle = t.handle.bind(t);
    t.handle = ((kind: number, handler: never) => {
      if (kind === Kind.Fail) fail = handler;
      handle(kind as never, handler);
    });
    t.post = (frame) => {
      if (frame.k === Kind.Call) fail!({ k: Kind.Fail, i: frame.i, e: serializeError(new PayloadError('a frame of 2000000 bytes is larger than max_payload')) });
      return true;
    };
    const caller = createCaller({ transport: t, callbacks: createCallbacks(t) });
    const err = await rejection(untyped(caller, 'back', { timeout: 30_000 }).work('x'));
    expect(err).toBeInstanceOf(PayloadError);
    expect(err.message).toBe('a frame of 2000000 bytes is larger than max_payload');
    expect(caller.pending).toBe(0);
  });

  it('ignores a fail frame for a call it does not have', async () => {
    const { caller, net } = world({ a: () => 1 });
    net.inject(CLIENT, { k: Kind.Fail, i: 99, e: serializeError(new WorkerExitedError('back', 2, 1, null)) });
    await net.settle();
    await expect(untyped(caller, 'back').a()).resolves.toBe(1);
  });
});

describe('Caller.idle', () => {
  it('resolves at once with nothing pending, else once every call has settled', async () => {
    vi.useFakeTimers();
    const gate = deferred<string>();
    const { caller, net } = world({ wait: () => gate.promise, hang: () => new Promise(() => {}) });
    await expect(caller.idle()).resolves.toBeUndefined();

    const answered = untyped(caller, 'back').wait();
    const timedOut = untyped(caller, 'back', { timeout: 50 }).hang();
    const failed = untyped(caller, 'nobody').x();
    let idle = false;
    void caller.idle().then(() => (idle = true));
    await net.settle();
    expect(caller.pending).toBe(3);

    net.inject(CLIENT, { k: Kind.Fail, i: 2, e: serializeError(new QueueFullError('full')) });
    expect(await rejection(failed)).toBeInstanceOf(QueueFullError);
    gate.resolve('ok');
    await expect(answered).resolves.toBe('ok');
    expect(idle).toBe(false);

    await vi.advanceTimersByTimeAsync(50);
    expect(await rejection(timedOut)).toBeInstanceOf(TimeoutError);
    expect(idle).toBe(true);
    expect(caller.pending).toBe(0);
  });
});

describe('proxy options', () => {
  it.each([
    [{ timeout: 0 }, /timeout must be a number of ms > 0, got 0/],
    [{ timeout: -5 }, /timeout must be a number of ms > 0, got -5/],
    [{ timeout: Number.NaN }, /timeout must be a number of ms > 0, got NaN/],
    [{ maxPending: Number.NaN }, /maxPending must be an integer >= 1, got NaN/],
    [{ bogus: 1 }, /unknown option "bogus"; options are timeout, retries, balance, maxPending, maxPendingBytes, locality/],
    [{ timeout: Infinity }, /timeout must be a number of ms > 0/],
    [{ timeout: '100' }, /timeout must be a number of ms > 0, got "100"/],
    [{ retries: -1 }, /retries must be an integer >= 0, got -1/],
    [{ retries: 1.5 }, /retries must be an integer >= 0, got 1.5/],
    [{ balance: 'random' }, /balance must be 'round-robin' or 'least-pending', got "random"/],
    [null, /options must be an object/],
    [5, /options must be an object/],
  ])('%o throws ConfigError', (options, message) => {
    const { caller } = client();
    let caught: unknown;
    try {
      caller.proxy('back', options as never);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).code).toBe('E_MOB_CONFIG');
    expect((caught as ConfigError).message).toMatch(/^require\("back", options\): /);
    expect((caught as ConfigError).message).toMatch(message);
  });

  it('accepts valid options', () => {
    const { caller } = client();
    expect(() => caller.proxy('back', { timeout: 1, retries: 0, balance: 'round-robin' })).not.toThrow();
    expect(() => caller.proxy('back', { timeout: 0.5, retries: 3, balance: 'least-pending' })).not.toThrow();
  });

  it('a role must be a non-empty string', () => {
    const { caller } = client();
    expect(() => caller.proxy('')).toThrow(ConfigError);
    expect(() => caller.proxy(5 as unknown as string)).toThrow(/role must be a non-empty string, got 5/);
  });

  it('with known roles, a proxy of another role throws NoSuchRoleError', () => {
    const { caller } = client(createMemoryNetwork(), () => new Set(['back', 'front']));
    expect(() => caller.proxy('back')).not.toThrow();
    let caught: unknown;
    try {
      caller.proxy('nope');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(NoSuchRoleError);
    expect((caught as NoSuchRoleError).message).toMatch(/^role "nope" is not defined \(roles: back, front\)/);
  });
});

describe('regressions', () => {
  // dispatcher.ts #call answers a missing export without decoding the arguments, so the
  // callee never makes stubs (nor their 'free' frames), while caller.ts #answer ties the
  // call's callbacks to the callee: they stay in the caller's registry until it exits.
  it('a callback passed to a missing export is released when the call rejects', async () => {
    const { caller, net, callbacks } = world({ a: () => 1 });
    const err = await rejection(untyped(caller, 'back').nope(() => {}));
    expect(err).toBeInstanceOf(NoSuchExportError);
    await net.settle();
    expect(callbacks.size).toBe(0);
  });
});
