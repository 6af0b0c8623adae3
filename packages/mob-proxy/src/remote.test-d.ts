import { describe, expectTypeOf, it } from 'vitest';
import type { Caller } from './caller.js';
import type { Remote, RemoteFunction, RemoteMethods } from './types.js';

// The type of a role module, as `typeof import('./back')` gives it.
interface Back {
  add(a: number, b: number): number;
  load(id: string, opts?: { fresh: boolean }): Promise<{ id: string; n: number }>;
  nested(): Promise<Promise<string[]>>;
  onEach(items: string[], cb: (item: string, i: number) => void): void;
  version: string;
  config: { port: number };
  then(): number;
  default: { notAFunction: true };
}

// `module.exports = function greet(name, loud) {...}`
type Greet = (name: string, loud?: boolean) => string;

// an ES module with a default function
interface Esm {
  default: (x: number) => Promise<number>;
  other(): boolean;
}

describe('Remote<typeof module>', () => {
  type R = Remote<Back>;

  it('gives each function export the same parameters and a promise of its awaited result', () => {
    expectTypeOf<R['add']>().toEqualTypeOf<(a: number, b: number) => Promise<number>>();
    expectTypeOf<R['add']>().parameters.toEqualTypeOf<[a: number, b: number]>();
    expectTypeOf<R['load']>().parameters.toEqualTypeOf<[id: string, opts?: { fresh: boolean }]>();
    expectTypeOf<R['load']>().returns.toEqualTypeOf<Promise<{ id: string; n: number }>>();
    expectTypeOf<R['nested']>().returns.toEqualTypeOf<Promise<string[]>>();
    expectTypeOf<R['onEach']>().toBeCallableWith(['a'], (item: string, i: number) => void [item, i]);
    expectTypeOf<R['onEach']>().returns.toEqualTypeOf<Promise<void>>();
  });

  it('rejects wrong arguments', () => {
    const r = {} as R;
    // @ts-expect-error a string is not a number
    void r.add('1', 2);
    // @ts-expect-error missing argument
    void r.add(1);
  });

  it('has no non-function exports, no `then` and no `default`', () => {
    expectTypeOf<R>().not.toHaveProperty('version');
    expectTypeOf<R>().not.toHaveProperty('config');
    expectTypeOf<R>().not.toHaveProperty('then');
    expectTypeOf<R>().not.toHaveProperty('default');
    expectTypeOf<keyof R>().toEqualTypeOf<'add' | 'load' | 'nested' | 'onEach'>();
  });

  it('is not callable when the module is not a function', () => {
    expectTypeOf<R>().not.toBeFunction();
    const r = {} as R;
    // @ts-expect-error no call signature
    void r();
  });

  it('awaits to itself (a proxy is not a thenable)', () => {
    expectTypeOf<Awaited<R>>().toEqualTypeOf<R>();
  });
});

describe('Remote of a module that is a function', () => {
  it('`module.exports = fn`: the proxy itself is the remote function', () => {
    type R = Remote<Greet>;
    expectTypeOf<R>().toBeCallableWith('ann');
    expectTypeOf<R>().toBeCallableWith('ann', true);
    expectTypeOf<R>().parameters.toEqualTypeOf<[name: string, loud?: boolean]>();
    expectTypeOf<R>().returns.toEqualTypeOf<Promise<string>>();
  });

  it('`export default fn`: the proxy is the default function, the other exports are methods', () => {
    type R = Remote<Esm>;
    expectTypeOf<R>().toBeCallableWith(1);
    expectTypeOf<R>().returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf<R['other']>().toEqualTypeOf<() => Promise<boolean>>();
    expectTypeOf<R>().not.toHaveProperty('default');
  });
});

describe('RemoteFunction / RemoteMethods', () => {
  it('map one function and the function exports of a module', () => {
    expectTypeOf<RemoteFunction<(x: string) => Promise<number>>>().toEqualTypeOf<(x: string) => Promise<number>>();
    expectTypeOf<RemoteFunction<() => void>>().toEqualTypeOf<() => Promise<void>>();
    expectTypeOf<RemoteFunction<number>>().toBeNever();
    expectTypeOf<keyof RemoteMethods<{ a(): 1; b: 2; then(): 3 }>>().toEqualTypeOf<'a'>();
  });
});

describe('Caller.proxy', () => {
  it('returns Remote<T> for the module type given', () => {
    expectTypeOf<Caller['proxy']>().toBeFunction();
    const proxy = ({} as Caller).proxy<Back>('back');
    expectTypeOf(proxy).toEqualTypeOf<Remote<Back>>();
    expectTypeOf(proxy.add(1, 2)).toEqualTypeOf<Promise<number>>();
  });

  it('untyped: every name is a remote function', () => {
    const proxy = ({} as Caller).proxy('back');
    expectTypeOf(proxy).toEqualTypeOf<Remote>();
    expectTypeOf<Awaited<typeof proxy>>().toEqualTypeOf<typeof proxy>();
  });

  it('untyped: callable, and every method callable and awaitable', () => {
    const proxy = ({} as Caller).proxy('back');
    expectTypeOf(proxy('x')).toEqualTypeOf<Promise<any>>();
    void proxy.add(1);
  });
});
