import { PayloadError } from './errors.js';

/** How payloads travel: JSON strings made by the sender, or values for V8's serializer. */
export type Serialization = 'json' | 'advanced';

/**
 * Throws a PayloadError naming the first place in `value` that the serialization cannot
 * carry. JSON: functions, symbols, BigInts, cycles, Maps, Sets and typed arrays (which JSON
 * would silently turn into `{}`). Advanced: functions and symbols.
 *
 * @example
 * assertPayload({ n: 1n }, 'message', 'json'); // throws PayloadError: message.n is a BigInt, ...
 */
export function assertPayload(value: unknown, where: string, serialization: Serialization): void {
  const bad = findUnsendable(value, serialization === 'json', []);
  if (bad) {
    throw new PayloadError(
      `${where}${bad.path.reverse().join('')} ${bad.what}, which cannot be sent between processes; ` +
        (serialization === 'json'
          ? `mob sends JSON (plain objects, arrays, strings, numbers, booleans, null); convert it, or start the app with { serialization: 'advanced' }`
          : `send data, not code (pass functions only as top-level call arguments)`),
    );
  }
}

interface Unsendable {
  /** what the value is ("is a function") */
  what: string;
  /** path segments, innermost first (built only on the way out of a failure) */
  path: string[];
}

// Hot path: it walks every payload, so it allocates nothing unless it finds a problem.
function findUnsendable(v: unknown, json: boolean, stack: object[]): Unsendable | undefined {
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'undefined':
      return undefined;
    case 'function':
      return { what: 'is a function', path: [] };
    case 'symbol':
      return { what: 'is a symbol', path: [] };
    case 'bigint':
      return json ? { what: 'is a BigInt', path: [] } : undefined;
  }
  if (v === null) return undefined;
  const o = v as object;
  if (json && typeof (o as { toJSON?: unknown }).toJSON === 'function') return undefined;
  if (stack.includes(o)) return json ? { what: 'is a cycle (it contains itself)', path: [] } : undefined;
  if (json) {
    if (o instanceof Map) return { what: 'is a Map', path: [] };
    if (o instanceof Set) return { what: 'is a Set', path: [] };
    if (ArrayBuffer.isView(o) || o instanceof ArrayBuffer) return { what: `is binary data (${o.constructor.name})`, path: [] };
  } else if (o instanceof Map || o instanceof Set || ArrayBuffer.isView(o) || o instanceof Date || o instanceof RegExp) {
    return undefined;
  }
  stack.push(o);
  let bad: Unsendable | undefined;
  if (Array.isArray(o)) {
    for (let i = 0; i < o.length; i++) {
      if ((bad = findUnsendable(o[i], json, stack))) {
        bad.path.push(`[${i}]`);
        break;
      }
    }
  } else {
    for (const key in o) {
      if (!Object.hasOwn(o, key)) continue;
      if ((bad = findUnsendable((o as Record<string, unknown>)[key], json, stack))) {
        bad.path.push(`.${key}`);
        break;
      }
    }
  }
  stack.pop();
  return bad;
}

/**
 * Encodes a payload for the wire. Under JSON serialization: a string becomes its JSON text
 * (so the Kingpin forwards one string instead of walking an object); a number, boolean or
 * null travels as itself (decodePayload passes non-strings through); an `owned` array (one
 * only mob holds, such as a call's argument list) of a few plain values travels as itself
 * too; anything else becomes its JSON text. Under advanced serialization the value itself.
 * Throws a PayloadError naming `where` for what the serialization cannot carry.
 *
 * @example
 * encodePayload({ n: 1 }, 'message', 'json'); // '{"n":1}'
 * encodePayload([1, 2], 'arguments', 'json', true); // [1, 2]
 */
export function encodePayload(value: unknown, where: string, serialization: Serialization, owned = false): unknown {
  if (serialization === 'advanced') {
    assertPayload(value, where, serialization);
    return value;
  }
  // Fast paths for the common small payloads: nothing to walk, nothing (or little) to copy.
  switch (typeof value) {
    case 'number':
    case 'boolean':
      return value;
    case 'string':
      return JSON.stringify(value);
    case 'undefined':
      return undefined;
  }
  if (value === null) return null;
  if (owned && Array.isArray(value) && isShortPlainArray(value)) return value;
  assertPayload(value, where, serialization);
  return JSON.stringify(value);
}

/** Most elements, and string characters, an owned array may have to travel as itself. */
const SHORT_ARRAY = 32;
const SHORT_CHARS = 1024;

/** An array of at most a few short strings, numbers, booleans, nulls and undefineds. */
function isShortPlainArray(a: unknown[]): boolean {
  if (a.length > SHORT_ARRAY) return false;
  let chars = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    switch (typeof x) {
      case 'number':
      case 'boolean':
      case 'undefined':
        continue;
      case 'string':
        if ((chars += x.length) > SHORT_CHARS) return false;
        continue;
      default:
        if (x !== null) return false;
    }
  }
  return true;
}

/**
 * The inverse of encodePayload.
 *
 * @example
 * decodePayload('[1,2]', 'json'); // [1, 2]
 */
export function decodePayload(payload: unknown, serialization: Serialization): unknown {
  if (serialization === 'advanced' || typeof payload !== 'string') return payload;
  return JSON.parse(payload) as unknown;
}
