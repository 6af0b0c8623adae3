import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from 'mob-messaging';

/** What `base()` accepts: a CommonJS `module`, an `import.meta.url`, a file or directory path. */
export type BaseLike = string | URL | { filename: string };

/** The directory roles resolve against. */
export function baseDir(x: BaseLike): string {
  let p: string;
  if (x instanceof URL) p = fileURLToPath(x);
  else if (typeof x === 'string') p = x.startsWith('file:') ? fileURLToPath(x) : resolve(x);
  else if (x && typeof x === 'object' && typeof x.filename === 'string') p = x.filename;
  else {
    throw new ConfigError(
      `base(x): expected a CommonJS \`module\`, \`import.meta.url\` or a directory path, got ${describe(x)}`,
    );
  }
  if (!existsSync(p)) throw new ConfigError(`base(x): ${p} does not exist`);
  return statSync(p).isDirectory() ? p : dirname(p);
}

/** The main script's folder: where roles resolve without `base()`. */
export function defaultBase(): string {
  const main = process.argv[1];
  if (main && existsSync(main)) {
    const real = realpathSync(main);
    return statSync(real).isDirectory() ? real : dirname(real);
  }
  return process.cwd();
}

/** Resolves a role module as `require` would from `base` (relative paths, extensions, packages). */
export function resolveRole(base: string, path: string, where: string): string {
  if (typeof path !== 'string' || path === '') {
    throw new ConfigError(`${where}: path must be a non-empty string (the role's module), got ${describe(path)}`);
  }
  const direct = isAbsolute(path) ? path : resolve(base, path);
  if (existsSync(direct) && statSync(direct).isFile()) return direct;
  try {
    // As `require` from a file in `base` (this package is CommonJS: no node:module to load).
    return require.resolve(path, { paths: [base] });
  } catch {
    throw new ConfigError(
      `${where}: cannot find the role module "${path}" (looked for ${direct}, resolving from ${base}); ` +
        `check the path, or call .base(module) / .base(import.meta.url) before .role()`,
    );
  }
}

export function describe(x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x);
  if (x === null || x === undefined) return String(x);
  if (typeof x === 'object') return `an object with keys ${Object.keys(x).slice(0, 5).join(', ') || '(none)'}`;
  return typeof x === 'number' || typeof x === 'boolean' ? `${typeof x} ${x}` : typeof x;
}
