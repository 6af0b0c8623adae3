import nodeModule from 'node:module';

/**
 * Turns on Node's module compile cache (Node 22.1 and later; Node 20 has none) for what this
 * process loads next: mob's packages, the role module and its dependencies are compiled once
 * and read from V8's code cache by every later worker, revival and restart.
 * NODE_COMPILE_CACHE=<dir> chooses the folder (default `<os.tmpdir()>/node-compile-cache`);
 * NODE_DISABLE_COMPILE_CACHE=1 turns it off. A cache Node cannot use costs nothing.
 *
 * @example
 * enableCompileCache(); // first, then require what should be cached
 */
export function enableCompileCache(): void {
  try {
    cache.enableCompileCache?.();
  } catch {
    // a quiet optimisation: never a reason for a worker not to start
  }
}

/**
 * Writes what this process compiled to the cache now (Node 22.10 and later), not only when it
 * exits: a worker revived after the first crash, or forked by a scale-up, finds it there.
 *
 * @example
 * serve(roleModule);
 * setImmediate(flushCompileCache);
 */
export function flushCompileCache(): void {
  try {
    cache.flushCompileCache?.();
  } catch {
    // as above
  }
}

const cache = nodeModule as typeof nodeModule & { enableCompileCache?: () => unknown; flushCompileCache?: () => void };
