import { describe, expect, it } from 'vitest';
import { Kind, Target, compactFrame, expandFrame, frameBytes, isFrame, parseNumericFrames, stringifyFrames, type Frame } from './protocol.js';
import { decodePayload } from './payload.js';

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

describe('numeric frames, written and read by hand (answers with a number, acks)', () => {
  it('stringifyFrames writes them as JSON.stringify does, and parseNumericFrames reads them as JSON.parse does', () => {
    let seed = 11;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    const nums = [0, -0, 1, -1, 7, 96, 1073741831, 2 ** 31 - 1, 999_999_999_999_999, -999_999_999_999_999, 1.5, -2.25e-7, 1e21, 2 ** 53, NaN, Infinity, -Infinity];
    for (let t = 0; t < 2000; t++) {
      const frames = Array.from({ length: 1 + rand(4) }, () => Array.from({ length: rand(6) }, () => nums[rand(nums.length)]));
      const text = stringifyFrames(frames);
      expect(text).toBe(JSON.stringify(frames));
      const read = parseNumericFrames(text, 0);
      // Read by hand only integers of at most 15 digits; else undefined (JSON.parse reads them).
      if (read !== undefined) expect(read).toEqual(JSON.parse(text));
      else expect(frames.some((f) => f.length === 0 || f.some((x) => !Number.isInteger(x) || Math.abs(x!) > 999_999_999_999_999))).toBe(true);
    }
    expect(parseNumericFrames('x [[6,41,7,3],[15,1,96]]', 2)).toEqual([[6, 41, 7, 3], [15, 1, 96]]);
    expect(stringifyFrames([[Kind.Return, 41, 7, 3], [Kind.Ack, 1, 96]])).toBe('[[6,41,7,3],[15,1,96]]');
  });

  it('reads nothing that JSON.parse would read otherwise or refuse: anything else is left to it', () => {
    const others = ['', '[', ']', '[]', '[[]]', '[[1]', '[[1],]', '[[1]],', '[[1]] ', ' [[1]]', '[[ 1]]', '[[01]]', '[[-01]]', '[[-]]', '[[1,]]', '[[,1]]', '[[1.5]]', '[[1e3]]', '[[1]][[2]]', '[[1],[2]', '[["1"]]', '[[true]]', '[{"k":15}]', '[[1234567890123456]]', '[[1],2]', '[[1]x', '[[+1]]'];
    for (const text of others) {
      const read = parseNumericFrames(text, 0);
      if (read === undefined) continue;
      // What it does read is exactly what JSON.parse reads.
      expect(read).toEqual(JSON.parse(text));
    }
    expect(parseNumericFrames('[]', 0)).toEqual([]);
    for (const bad of ['[[01]]', '[[1],]', '[[1]] ', '[[1.5]]', '[[1234567890123456]]', '[[1]', '[[-]]', '[["1"]]']) expect(parseNumericFrames(bad, 0)).toBeUndefined();
  });
});

describe('stringifyFrames (links and the broker)', () => {
  const big = { items: Array.from({ length: 60 }, (_, i) => ({ id: i, name: `item "${i}"`, ok: true })) };
  const text = JSON.stringify(big);

  it('is JSON.stringify when no payload is a large JSON text', () => {
    const frames = [compactFrame({ k: Kind.Call, r: 'back', i: 1, m: 'add', a: [1, 2] }), compactFrame({ k: Kind.Return, p: 4, i: 1, v: '"x"' }), { k: Kind.Ack, n: 2, b: 80 }];
    expect(stringifyFrames(frames)).toBe(JSON.stringify(frames));
    // a long JSON string (not an object or array) stays a string
    const str = compactFrame({ k: Kind.Return, p: 4, i: 2, v: JSON.stringify('y'.repeat(2000)) });
    expect(stringifyFrames([str])).toBe(JSON.stringify([str]));
  });

  it.each<[string, Frame, 'a' | 'd' | 'v']>([
    ['a compact call', { k: Kind.Call, r: 'back', i: 7, m: 'addPad', a: `[1,2,${text}]` }, 'a'],
    ['a call in object form', { k: Kind.Call, r: 'back', i: 7, m: 'addPad', a: `[${text}]`, f: [1, 3, 0], t: 42 }, 'a'],
    ['a compact answer', { k: Kind.Return, p: 41, i: 7, v: text }, 'v'],
    ['a callback invocation', { k: Kind.Invoke, p: 41, c: 3, a: `[${text}]` }, 'a'],
    ['a message', { k: Kind.Message, t: Target.Pid, p: 41, d: text }, 'd'],
  ])('embeds a large payload of %s: parsed once, the same value, the same bytes at both ends', (_what, fr, key) => {
    const line = stringifyFrames([compactFrame(fr), { k: Kind.Ack, n: 1, b: 40 }]);
    // embedded, not escaped
    expect(line).toContain(text);
    const [got, ack] = (JSON.parse(line) as unknown[]).map(expandFrame) as Record<string, unknown>[];
    expect(decodePayload(got![key], 'json')).toEqual(JSON.parse((fr as unknown as Record<string, string>)[key]!));
    expect(frameBytes(got as unknown as Frame)).toBe(frameBytes(fr));
    expect(got).toMatchObject({ ...fr, [key]: expect.anything() });
    expect(ack).toEqual({ k: Kind.Ack, n: 1, b: 40 });
  });

  it('writes the frames before the first embedded payload as JSON.stringify does, and judges those after it', () => {
    const small = compactFrame({ k: Kind.Return, p: 4, i: 1, v: 3 });
    const bigCall = compactFrame({ k: Kind.Call, r: 'back', i: 2, m: 'addPad', a: `[${text}]` });
    const frames = [{ k: Kind.Ack, n: 1, b: 40 }, small, bigCall, small, compactFrame({ k: Kind.Return, p: 4, i: 3, v: text })];
    const line = stringifyFrames(frames);
    expect(line.startsWith(JSON.stringify(frames.slice(0, 2)).slice(0, -1) + ',')).toBe(true);
    const got = (JSON.parse(line) as unknown[]).map(expandFrame) as Record<string, unknown>[];
    expect(got.map((f) => f.k)).toEqual([Kind.Ack, Kind.Return, Kind.Call, Kind.Return, Kind.Return]);
    expect(got[2]!.a).toEqual([big]);
    expect(got[3]).toEqual({ k: Kind.Return, p: 4, i: 1, v: 3 });
    expect(got[4]!.v).toEqual(big);
    expect(frames.map((f) => frameBytes(expandFrame(f) as Frame))).toEqual(got.map((f) => frameBytes(f as unknown as Frame)));
  });

  it('counts a forged z as an ordinary value payload, never as NaN or a huge number', () => {
    for (const z of [-1, 1.5, 2 ** 40, '9', null]) expect(frameBytes({ k: Kind.Return, p: 1, i: 1, v: [1], z } as unknown as Frame)).toBe(32 + 64);
  });
});
