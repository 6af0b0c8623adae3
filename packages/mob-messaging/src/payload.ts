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
  const bad = findUnsendable(value, where, serialization === 'json', []);
  if (bad) {
    throw new PayloadError(
      `${bad}, which cannot be sent between processes; ` +
        (serialization === 'json'
          ? `mob sends JSON (plain objects, arrays, strings, numbers, booleans, null); convert it, or start the app with { serialization: 'advanced' }`
          : `send data, not code (pass functions only as top-level call arguments)`),
    );
  }
}

function findUnsendable(v: unknown, path: string, json: boolean, stack: object[]): string | undefined {
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'undefined':
      return undefined;
    case 'function':
      return `${path} is a function`;
    case 'symbol':
      return `${path} is a symbol`;
    case 'bigint':
      return json ? `${path} is a BigInt` : undefined;
  }
  if (v === null) return undefined;
  const o = v as object;
  if (json && typeof (o as { toJSON?: unknown }).toJSON === 'function') return undefined;
  if (stack.includes(o)) return json ? `${path} is a cycle (it contains itself)` : undefined;
  if (json) {
    if (o instanceof Map) return `${path} is a Map`;
    if (o instanceof Set) return `${path} is a Set`;
    if (ArrayBuffer.isView(o) || o instanceof ArrayBuffer) return `${path} is binary data (${o.constructor.name})`;
  } else if (o instanceof Map || o instanceof Set || ArrayBuffer.isView(o) || o instanceof Date || o instanceof RegExp) {
    return undefined;
  }
  stack.push(o);
  try {
    if (Array.isArray(o)) {
      for (let i = 0; i < o.length; i++) {
        const bad = findUnsendable(o[i], `${path}[${i}]`, json, stack);
        if (bad) return bad;
      }
    } else {
      for (const key of Object.keys(o)) {
        const bad = findUnsendable((o as Record<string, unknown>)[key], `${path}.${key}`, json, stack);
        if (bad) return bad;
      }
    }
  } finally {
    stack.pop();
  }
  return undefined;
}

/**
 * Encodes a payload for the wire: a JSON string under JSON serialization (so the Kingpin
 * forwards a string instead of walking an object), the value itself under advanced.
 *
 * @example
 * encodePayload([1, 2], 'arguments', 'json'); // '[1,2]'
 */
export function encodePayload(value: unknown, where: string, serialization: Serialization): unknown {
  if (serialization === 'advanced') {
    assertPayload(value, where, serialization);
    return value;
  }
  // Fast path for the common small payloads: nothing to walk.
  const t = typeof value;
  if (t === 'string' || t === 'boolean' || value === null || (t === 'number' && Number.isFinite(value))) {
    return JSON.stringify(value);
  }
  if (value === undefined) return undefined;
  assertPayload(value, where, serialization);
  return JSON.stringify(value);
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
