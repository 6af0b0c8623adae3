import { describe, expect, it } from 'vitest';
import { tooDeep } from '../src/bridge.js';

const bytes = (s: string): Uint8Array => Buffer.from(s);

describe('tooDeep', () => {
  it('counts arrays and objects open at once, not brackets inside strings', () => {
    expect(tooDeep(bytes('{"a":[1,{"b":[2]}]}'), 4)).toBe(false);
    expect(tooDeep(bytes('{"a":[1,{"b":[2]}]}'), 3)).toBe(true);
    expect(tooDeep(bytes('{"s":"[[[[[[[[{{{{"}'), 1)).toBe(false);
    // an escaped quote does not end the string; an escaped backslash does not escape the quote
    expect(tooDeep(bytes('{"s":"\\"[[[["}'), 1)).toBe(false);
    expect(tooDeep(bytes('{"s":"\\\\","t":[[1]]}'), 2)).toBe(true);
    expect(tooDeep(bytes('[]'.repeat(1000)), 1)).toBe(false);
  });

  it('refuses 200 KB of [[[…]]] (the flood that kept Kingpins from their heartbeats)', () => {
    expect(tooDeep(bytes('['.repeat(100_000) + ']'.repeat(100_000)), 16)).toBe(true);
  });
});
