import { describe, expect, it } from 'vitest';
import { Kind, type ReturnFrame, type Transport } from 'mob-messaging';
import type { Callbacks } from 'mob-callbacks';
import { createCallbacks as createCallbacksFromSource } from '../../mob-callbacks/src/index.js';
import { createCaller } from './caller.js';
import { createDispatcher, exportTable, type Dispatcher } from './dispatcher.js';
import { createMemoryNetwork, type MemoryNetwork, type MemoryTransport } from '../../mob-callbacks/test/memory-transport.js';

// The registry from source, so that the test has one copy of mob-messaging (see caller.test.ts).
const createCallbacks = (t: Transport): Callbacks => createCallbacksFromSource(t) as unknown as Callbacks;

const CLIENT = 1;
const SERVER = 2;

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** 'resolved' if `p` settles within a few turns, else 'pending'. */
async function state(p: Promise<unknown>): Promise<'resolved' | 'pending'> {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 3; i++) await nextTurn();
  return done ? 'resolved' : 'pending';
}

function server(exports: unknown): { net: MemoryNetwork; t: MemoryTransport; dispatcher: Dispatcher } {
  const net = createMemoryNetwork();
  const t = net.connect(SERVER, 'back');
  const dispatcher = createDispatcher({ transport: t, callbacks: createCallbacks(t), module: { exports, esm: false, role: 'back' } });
  return { net, t, dispatcher };
}

function returns(t: MemoryTransport): ReturnFrame[] {
  return t.posted.filter((fr): fr is ReturnFrame => fr.k === Kind.Return);
}

describe('exportTable', () => {
  it('serves own function exports only', () => {
    class Base {
      inherited(): number {
        return 1;
      }
    }
    const exports = Object.assign(new Base(), { add: () => 1, sub: () => 2, n: 3, o: { f: () => 4 }, s: 'x' });
    // an enumerable function on the prototype is inherited too
    Object.setPrototypeOf(Base.prototype, { enumerableInherited: () => 5 });
    const table = exportTable({ exports, esm: false, role: 'back' });
    expect([...table.methods.keys()]).toEqual(['add', 'sub']);
    expect(table.methods.get('add')).toBe(exports.add);
    expect(table.self).toBeUndefined();
    expect(table.thisArg).toBe(exports);
  });

  it('serves a function module as itself, with its function properties as methods', () => {
    const fn = Object.assign(() => 1, { helper: () => 2 });
    const table = exportTable({ exports: fn, esm: false, role: 'back' });
    expect(table.self).toBe(fn);
    expect([...table.methods.keys()]).toEqual(['helper']);
  });

  it('serves an ES module default function as itself, and never `default` as a method', () => {
    const def = (): number => 1;
    const table = exportTable({ exports: { default: def, other: () => 2 }, esm: true, role: 'back' });
    expect(table.self).toBe(def);
    expect([...table.methods.keys()]).toEqual(['other']);
  });

  it('adds the functions of an ES module default object, own exports first', () => {
    const own = (): string => 'own';
    const exports = { same: own, default: { same: () => 'default', extra: () => 'extra', n: 1 } };
    const table = exportTable({ exports, esm: true, role: 'back' });
    expect([...table.methods.keys()]).toEqual(['same', 'extra']);
    expect(table.methods.get('same')).toBe(own);
    expect(table.self).toBeUndefined();
  });

  it('reads `default` of CommonJS only when compiled from ESM (__esModule)', () => {
    const def = (): number => 1;
    expect(exportTable({ exports: { default: def }, esm: false, role: 'back' }).self).toBeUndefined();
    expect(exportTable({ exports: { __esModule: true, default: def }, esm: false, role: 'back' }).self).toBe(def);
  });

  it.each([null, undefined, 5, 'text'])('serves nothing from %o', (exports) => {
    const table = exportTable({ exports, esm: false, role: 'back' });
    expect(table.methods.size).toBe(0);
    expect(table.self).toBeUndefined();
  });
});

describe('Dispatcher', () => {
  it('lists its exports', () => {
    const { dispatcher } = server({ b: () => 1, a: () => 2, n: 1 });
    expect(dispatcher.exports).toEqual(['b', 'a']);
  });

  it('answers a call with the encoded result, addressed to the caller', async () => {
    const { net, t } = server({ add: (a: number, b: number) => a + b });
    net.inject(SERVER, { k: Kind.Call, r: 'back', i: 4, m: 'add', a: '[2,3]', p: CLIENT });
    await net.settle();
    expect(returns(t)).toEqual([{ k: Kind.Return, p: CLIENT, i: 4, v: 5 }]);
  });

  it('takes arguments as a JSON string or as the array itself, and encodes a string result', async () => {
    const { net, t } = server({ join: (a: string, b: string) => `${a}${b}` });
    net.inject(SERVER, { k: Kind.Call, r: 'back', i: 1, m: 'join', a: '["a","b"]', p: CLIENT });
    net.inject(SERVER, { k: Kind.Call, r: 'back', i: 2, m: 'join', a: ['c', 'd'], p: CLIENT });
    await net.settle();
    expect(returns(t)).toEqual([
      { k: Kind.Return, p: CLIENT, i: 1, v: '"ab"' },
      { k: Kind.Return, p: CLIENT, i: 2, v: '"cd"' },
    ]);
  });

  it('answers undefined with no value field', async () => {
    const { net, t } = server({ nothing: () => undefined });
    net.inject(SERVER, { k: Kind.Call, r: 'back', i: 1, m: 'nothing', a: '[]', p: CLIENT });
    await net.settle();
    expect(returns(t)).toEqual([{ k: Kind.Return, p: CLIENT, i: 1 }]);
  });

  it('drops a call frame without caller pid, id or export name', async () => {
    const ran: unknown[] = [];
    const { net, t, dispatcher } = server({ f: (...a: unknown[]) => ran.push(a) });
    net.inject(SERVER, { k: Kind.Call, r: 'back', i: 1, m: 'f', a: '[]' });
    net.inject(SERVER, { k: Kind.Call, r: 'back', i: '1', m: 'f', a: '[]', p: CLIENT } as never);
    net.inject(SERVER, { k: Kind.Call, r: 'back', i: 1, a: '[]', p: CLIENT } as never);
    await net.settle();
    expect(ran).toEqual([]);
    expect(t.posted).toEqual([]);
    expect(dispatcher.running).toBe(0);
  });

  it('answers arguments that are not an array with an error, and is idle after', async () => {
    const { net, t, dispatcher } = server({ f: () => 1 });
    net.inject(SERVER, { k: Kind.Call, r: 'back', i: 1, m: 'f', a: '{"x":1}', p: CLIENT });
    await net.settle();
    const [ret] = returns(t);
    expect(ret!.e!.name).toBe('PayloadError');
    expect(ret!.e!.message).toBe('arguments must be an array, got object');
    expect(dispatcher.running).toBe(0);
  });

  it('counts running calls; idle() resolves only when the last async one has finished', async () => {
    const net = createMemoryNetwork();
    const gates = [deferred(), deferred()];
    const serverT = net.connect(SERVER, 'back');
    const dispatcher = createDispatcher({
      transport: serverT,
      callbacks: createCallbacks(serverT),
      module: {
        exports: {
          async slow(n: number) {
            await gates[n]!.promise;
            return n * 2;
          },
          fast: () => 'fast',
        },
        esm: false,
        role: 'back',
      },
    });
    const clientT = net.connect(CLIENT);
    const caller = createCaller({ transport: clientT, callbacks: createCallbacks(clientT) });
    const back = caller.proxy<{ slow(n: number): Promise<number>; fast(): string }>('back');

    expect(await state(dispatcher.idle())).toBe('resolved');

    const slow0 = back.slow(0);
    const slow1 = back.slow(1);
    await net.settle();
    expect(dispatcher.running).toBe(2);
    const idle1 = dispatcher.idle();
    const idle2 = dispatcher.idle();
    // a call that finishes at once does not make the dispatcher idle
    await expect(back.fast()).resolves.toBe('fast');
    expect(dispatcher.running).toBe(2);
    expect(await state(idle1)).toBe('pending');

    gates[0]!.resolve();
    await expect(slow0).resolves.toBe(0);
    expect(dispatcher.running).toBe(1);
    expect(await state(idle1)).toBe('pending');

    gates[1]!.resolve();
    await expect(idle1).resolves.toBeUndefined();
    await expect(idle2).resolves.toBeUndefined();
    expect(dispatcher.running).toBe(0);
    await expect(slow1).resolves.toBe(2);
  });

  it('is idle again after a call that threw or rejected', async () => {
    const { net, dispatcher } = server({
      boom() {
        throw new Error('x');
      },
      async later() {
        await Promise.resolve();
        throw new Error('y');
      },
    });
    net.inject(SERVER, { k: Kind.Call, r: 'back', i: 1, m: 'boom', a: '[]', p: CLIENT });
    net.inject(SERVER, { k: Kind.Call, r: 'back', i: 2, m: 'later', a: '[]', p: CLIENT });
    await net.settle();
    expect(dispatcher.running).toBe(0);
    expect(await state(dispatcher.idle())).toBe('resolved');
  });

  it('a promise rejected with no reason is still an error', async () => {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the case under test
    const { net, t } = server({ nothing: () => Promise.reject(undefined) });
    net.inject(SERVER, { k: Kind.Call, r: 'back', i: 1, m: 'nothing', a: '[]', p: CLIENT });
    await net.settle();
    expect(returns(t)[0]!.e).toMatchObject({ name: 'Error', message: 'undefined' });
  });
});

describe('Dispatcher, regressions', () => {
  // A synchronous `throw undefined` once answered as a success with no value.
  it('a synchronous `throw undefined` is answered as an error', async () => {
    const { net, t } = server({
      nothing() {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test
        throw undefined;
      },
    });
    net.inject(SERVER, { k: Kind.Call, r: 'back', i: 1, m: 'nothing', a: '[]', p: CLIENT });
    await net.settle();
    expect(returns(t)[0]!.e).toBeDefined();
  });

  // two answers, and `running` drops to -1, so idle() (awaited on shutdown) never resolves.
  it('a thenable that settles twice is answered once and leaves the dispatcher idle', async () => {
    const twice = { then: (ok: (v: number) => void) => [ok(1), ok(2)] };
    const { net, t, dispatcher } = server({ f: () => twice });
    net.inject(SERVER, { k: Kind.Call, r: 'back', i: 1, m: 'f', a: '[]', p: CLIENT });
    await net.settle();
    expect(returns(t)).toHaveLength(1);
    expect(dispatcher.running).toBe(0);
    expect(await state(dispatcher.idle())).toBe('resolved');
  });
});

describe('Dispatcher, timing of served calls', () => {
  /** A server whose transport counts batches as a worker's does (`batch` is set by the test). */
  function counted(exports: unknown): { net: MemoryNetwork; dispatcher: Dispatcher; batch: { n: number }; reads: { n: number } } {
    const net = createMemoryNetwork();
    const t = net.connect(SERVER, 'back');
    const batch = { n: 0 };
    Object.defineProperty(t, 'batch', { get: () => batch.n });
    const reads = { n: 0 };
    const clock = (): number => (reads.n++, performance.now());
    const dispatcher = createDispatcher({ transport: t, callbacks: createCallbacks(t), module: { exports, esm: false, role: 'back' }, clock });
    return { net, dispatcher, batch, reads };
  }

  it('calls of one export that came in one batch: the first and one in 8 are timed, every call is counted', async () => {
    const { net, dispatcher, batch, reads } = counted({ add: (a: number, b: number) => a + b });
    batch.n = 1;
    for (let i = 1; i <= 100; i++) net.inject(SERVER, { k: Kind.Call, r: 'back', i, m: 'add', a: '[1,2]', p: CLIENT });
    await net.settle();
    // 13 timed (calls 1, 9, ..., 97), two clock reads each; without sampling 200 reads.
    expect(reads.n).toBe(26);
    const [calls, errors, , ...buckets] = dispatcher.figures().add!;
    expect(calls).toBe(100);
    expect(errors).toBe(0);
    expect(buckets.reduce((x, y) => x + y, 0)).toBe(100);
  });

  it('calls that come alone, and calls of an export that answers with a promise, are each timed', async () => {
    const { net, dispatcher, batch, reads } = counted({ add: (a: number, b: number) => a + b, later: (x: number) => Promise.resolve(x) });
    for (let i = 1; i <= 10; i++) {
      batch.n++;
      net.inject(SERVER, { k: Kind.Call, r: 'back', i, m: 'add', a: '[1,2]', p: CLIENT });
      await net.settle();
    }
    expect(reads.n).toBe(20);
    reads.n = 0;
    batch.n++;
    for (let i = 11; i <= 30; i++) net.inject(SERVER, { k: Kind.Call, r: 'back', i, m: 'later', a: '[1]', p: CLIENT });
    await net.settle();
    expect(reads.n).toBe(40);
    expect(dispatcher.figures().add![0]).toBe(10);
    expect(dispatcher.figures().later![0]).toBe(20);
  });

  it('an untimed call that throws counts as an error, in the bucket of the last timed call', async () => {
    let n = 0;
    const { net, dispatcher, batch } = counted({
      f: () => {
        if (++n % 2 === 0) throw new Error('even');
        return n;
      },
    });
    batch.n = 1;
    for (let i = 1; i <= 16; i++) net.inject(SERVER, { k: Kind.Call, r: 'back', i, m: 'f', a: '[]', p: CLIENT });
    await net.settle();
    const [calls, errors, , ...buckets] = dispatcher.figures().f!;
    expect([calls, errors]).toEqual([16, 8]);
    expect(buckets.reduce((x, y) => x + y, 0)).toBe(16);
  });
});
