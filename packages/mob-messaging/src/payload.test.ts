import { describe, expect, it } from 'vitest';
import { PayloadError } from './errors.js';
import { assertPayload, decodePayload, encodePayload } from './payload.js';

function payloadError(fn: () => unknown): PayloadError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PayloadError) return err;
    throw err;
  }
  throw new Error('expected a PayloadError, nothing was thrown');
}

describe('encodePayload / decodePayload (json)', () => {
  it.each([
    ['a string', 'hi', '"hi"'],
    ['an object', { a: [1, { b: 'c' }] }, '{"a":[1,{"b":"c"}]}'],
    ['an array', [1, null, 'x'], '[1,null,"x"]'],
  ])('encodes %s as a JSON string and decodes it back', (_what, value, wire) => {
    const encoded = encodePayload(value, 'message', 'json');
    expect(encoded).toBe(wire);
    expect(decodePayload(encoded, 'json')).toEqual(value);
  });

  it.each([
    ['a number', 42],
    ['a boolean', false],
    ['null', null],
  ])('sends %s as itself (the channel encodes it) and decodes it back', (_what, value) => {
    const encoded = encodePayload(value, 'result', 'json');
    expect(encoded).toBe(value);
    expect(decodePayload(JSON.parse(JSON.stringify(encoded)), 'json')).toBe(value);
  });

  it('sends a short owned array of plain values as itself, and copies one that is not owned', () => {
    const args = [1, 'two', true, null];
    expect(encodePayload(args, 'arguments', 'json', true)).toBe(args);
    expect(encodePayload(args, 'arguments', 'json')).toBe('[1,"two",true,null]');
    expect(decodePayload(JSON.parse(JSON.stringify(args)), 'json')).toEqual(args);
  });

  it.each([
    ['an object in it', [1, { a: 1 }]],
    ['too many elements', Array.from({ length: 33 }, (_, i) => i)],
    ['long strings', ['x'.repeat(600), 'y'.repeat(600)]],
  ])('encodes an owned array with %s as a JSON string', (_what, args) => {
    expect(encodePayload(args, 'arguments', 'json', true)).toBe(JSON.stringify(args));
  });

  it('still rejects an owned array with what JSON cannot carry', () => {
    expect(() => encodePayload([1, 2n], 'arguments', 'json', true)).toThrow(/arguments\[1\] is a BigInt/);
  });

  it('encodes undefined as absent', () => {
    expect(encodePayload(undefined, 'message', 'json')).toBeUndefined();
    expect(decodePayload(undefined, 'json')).toBeUndefined();
  });

  it('accepts values with toJSON (a Date travels as its ISO string)', () => {
    const encoded = encodePayload({ at: new Date(0) }, 'message', 'json');
    expect(decodePayload(encoded, 'json')).toEqual({ at: '1970-01-01T00:00:00.000Z' });
  });

  it('trusts toJSON: what it hides is not walked', () => {
    const value = { secret: new Map([[1, () => 1]]), toJSON: () => ({ n: 1 }) };
    expect(encodePayload({ v: value }, 'message', 'json')).toBe('{"v":{"n":1}}');
  });

  it('accepts the same object twice (shared, not a cycle)', () => {
    const shared = { n: 1 };
    expect(encodePayload([shared, { again: shared }], 'message', 'json')).toBe('[{"n":1},{"again":{"n":1}}]');
  });

  it('passes non-string payloads through decode (advanced-mode values, absent results)', () => {
    const value = { a: 1 };
    expect(decodePayload(value, 'json')).toBe(value);
  });

  it.each([
    ['a function', () => 1, 'message is a function'],
    ['a symbol', Symbol('s'), 'message is a symbol'],
    ['a BigInt', 10n, 'message is a BigInt'],
    ['a nested function', { a: { b: [0, () => 1] } }, 'message.a.b[1] is a function'],
    ['a Map', { m: new Map() }, 'message.m is a Map'],
    ['a Set', [new Set()], 'message[0] is a Set'],
    ['a typed array', { buf: new Uint8Array(2) }, 'message.buf is binary data (Uint8Array)'],
    ['an ArrayBuffer', { buf: new ArrayBuffer(2) }, 'message.buf is binary data (ArrayBuffer)'],
  ])('rejects %s with a PayloadError naming its path', (_what, value, path) => {
    const err = payloadError(() => encodePayload(value, 'message', 'json'));
    expect(err.name).toBe('PayloadError');
    expect(err.code).toBe('E_MOB_PAYLOAD');
    expect(err.message.startsWith(`${path}, which cannot be sent between processes`)).toBe(true);
    expect(err.message).toContain("serialization: 'advanced'");
  });

  it('rejects a cycle, naming where it closes', () => {
    const o: { self?: unknown; list: unknown[] } = { list: [] };
    o.list.push(o);
    const err = payloadError(() => encodePayload(o, 'result', 'json'));
    expect(err.message).toMatch(/^result\.list\[0\] is a cycle \(it contains itself\)/);
  });
});

describe('encodePayload / assertPayload (advanced)', () => {
  it('returns values themselves, Maps, Sets, BigInts and binary data included', () => {
    const value = { m: new Map([[1, 2]]), s: new Set([1]), n: 5n, b: new Uint8Array(1), d: new Date(0), r: /x/ };
    expect(encodePayload(value, 'message', 'advanced')).toBe(value);
    expect(decodePayload(value, 'advanced')).toBe(value);
  });

  it('allows cycles (the structured clone handles them)', () => {
    const o: { self?: unknown } = {};
    o.self = o;
    expect(() => assertPayload(o, 'message', 'advanced')).not.toThrow();
  });

  it('still rejects functions and symbols, with advice for that mode', () => {
    const fn = payloadError(() => encodePayload({ cb: () => 1 }, 'arguments', 'advanced'));
    expect(fn.message).toMatch(/^arguments\.cb is a function, which cannot be sent between processes; send data, not code/);
    const sym = payloadError(() => assertPayload([Symbol('x')], 'message', 'advanced'));
    expect(sym.message).toMatch(/^message\[0\] is a symbol/);
  });
});
