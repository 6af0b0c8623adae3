import { describe, expect, it } from 'vitest';
import { Kind, compactFrame, expandFrame, isFrame, type Frame } from './protocol.js';

/** What the channel does to a frame: JSON out and back in, then expanded. */
const wire = (fr: Frame): unknown => expandFrame(JSON.parse(JSON.stringify(compactFrame(fr))));

describe('compactFrame / expandFrame', () => {
  it.each<[string, Frame, unknown[]]>([
    ['a call from a worker', { k: Kind.Call, r: 'back', i: 7, m: 'add', a: [1, 2] }, [Kind.Call, 'back', 7, 'add', [1, 2]]],
    ['a call the Kingpin stamped', { k: Kind.Call, r: 'back', i: 7, m: '', a: '[{}]', p: 41 }, [Kind.Call, 'back', 7, '', '[{}]', 41]],
    ['an answer with a value', { k: Kind.Return, p: 41, i: 7, v: 3 }, [Kind.Return, 41, 7, 3]],
    ['an answer with null', { k: Kind.Return, p: 41, i: 7, v: null }, [Kind.Return, 41, 7, null]],
    ['an answer without a value', { k: Kind.Return, p: 41, i: 7 }, [Kind.Return, 41, 7]],
  ])('sends %s as an array, and gets the same frame back', (_what, fr, compact) => {
    expect(compactFrame(fr)).toEqual(compact);
    expect(wire(fr)).toEqual(fr);
  });

  it.each<[string, Frame]>([
    ['a call with callbacks', { k: Kind.Call, r: 'back', i: 1, m: 'f', a: '[null]', f: [0, 3, 0] }],
    ['a call with a balance option', { k: Kind.Call, r: 'back', i: 1, m: 'f', a: [], b: 'least-pending' }],
    ['a failed answer', { k: Kind.Return, p: 41, i: 7, e: { name: 'Error', message: 'x' }, w: 42 }],
    ['an answer naming its callee', { k: Kind.Return, p: 41, i: 7, v: 1, w: 42 }],
    ['a message', { k: Kind.Message, t: 'every', d: '1' }],
  ])('sends %s as it is', (_what, fr) => {
    expect(compactFrame(fr)).toBe(fr);
    expect(wire(fr)).toEqual(fr);
  });

  it('leaves arrays of other kinds, and non-arrays, for isFrame to refuse', () => {
    for (const x of [[Kind.Fail, 1], [99], [], ['__proto__'], null, 'x', 5]) {
      expect(expandFrame(x)).toBe(x);
      expect(isFrame(expandFrame(x))).toBe(false);
    }
  });

  it('expands a short or ill-typed compact array into a frame whose fields are still to be checked', () => {
    expect(expandFrame([Kind.Call])).toEqual({ k: Kind.Call, r: undefined, i: undefined, m: undefined, a: undefined });
    expect(expandFrame([Kind.Return, 'x', {}])).toEqual({ k: Kind.Return, p: 'x', i: {} });
    expect(Object.getPrototypeOf(expandFrame([Kind.Call, '__proto__']))).toBe(Object.prototype);
  });
});
