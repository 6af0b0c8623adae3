// @ts-check
// The `api` role: plain exported functions, sync or async, are the role's remote API.

/** @param {number} a @param {number} b */
export function add(a, b) {
  return a + b;
}

/** @param {string} name */
export async function greet(name) {
  await new Promise((r) => setTimeout(r, 10));
  return `Hello, ${name}, from ${process.pid}`;
}

/** Reports progress through a callback that may be called many times (keep). @param {number} steps @param {(pct: number) => void} onProgress */
export async function work(steps, onProgress) {
  for (let i = 1; i <= steps; i++) {
    await new Promise((r) => setTimeout(r, 5));
    onProgress(Math.round((i / steps) * 100));
  }
  return 'done';
}

/** @param {number} n */
export function sqrt(n) {
  if (n < 0) {
    const err = new RangeError(`cannot take the square root of ${n}`);
    Object.assign(err, { code: 'E_NEGATIVE' });
    throw err;
  }
  return Math.sqrt(n);
}
