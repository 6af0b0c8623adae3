import { describe, expectTypeOf, it } from 'vitest';
import mob from 'mob';
import * as named from 'mob';
import type { Remote } from 'mob';

type Back = typeof import('./fixtures/typed-back.js');

describe('mob.require<typeof import(...)>', () => {
  it('gives a proxy whose methods take the module parameters and return Promise<Awaited<R>>', () => {
    const back = mob.require<Back>('back');
    expectTypeOf(back.add).parameters.toEqualTypeOf<[a: number, b: number]>();
    expectTypeOf(back.add).returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf(back.greet).parameters.toEqualTypeOf<[name: string, times?: number]>();
    expectTypeOf(back.greet).returns.toEqualTypeOf<Promise<string>>();
    expectTypeOf(back.withCallback).returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf(back).toEqualTypeOf<Remote<Back>>();
    // non-function exports are not proxied
    expectTypeOf(back).not.toHaveProperty('version');
    expectTypeOf(back).not.toHaveProperty('config');
    // @ts-expect-error: wrong argument type
    void back.add('1', 2);
  });

  it('is loose without a type argument, and the same through named imports', () => {
    const any = named.require('back');
    expectTypeOf(any('x')).toEqualTypeOf<Promise<any>>();
    void any.whatever(1, 2);
    expectTypeOf(named.stats()).toEqualTypeOf<{ pendingCalls: number; pendingCallbacks: number; runningCalls: number }>();
  });
});
