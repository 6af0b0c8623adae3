import { pathToFileURL } from 'node:url';
import { ConfigError, Kind, ready, serializeError, transport, type CrashReport } from 'mob-messaging';
import { setTitle } from './title.js';

/** A loaded role module. */
export interface RoleModule {
  /** `module.exports` of a CommonJS module, the namespace of an ES module */
  exports: unknown;
  /** true for an ES module (its default export is the module's own function) */
  esm: boolean;
  /** the resolved path */
  file: string;
  /** the role's name */
  role: string;
}

/** Hooks of runMobster. */
export interface MobsterHooks {
  /** Called once the role module has loaded, before the worker is ready (mob serves its exports here). */
  serve?: (mod: RoleModule) => void;
}

/**
 * Loads a role module, CommonJS or ESM, as Node would.
 *
 * @example
 * const { exports, esm } = await loadRole('/app/back.mjs');
 */
export async function loadRole(file: string): Promise<{ exports: unknown; esm: boolean }> {
  if (!file.endsWith('.mjs')) {
    try {
      // This package is built as CommonJS: its own `require` (no node:module to load). A role
      // module is loaded by path at run time, which is what this rule is not about.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const exports: unknown = require(file);
      const esm = (exports as { [Symbol.toStringTag]?: unknown } | null)?.[Symbol.toStringTag] === 'Module';
      return { exports, esm };
    } catch (err) {
      const code = (err as { code?: string }).code;
      // An ES module with top-level await (or a Node without require(esm)) loads with import().
      if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE') throw err;
    }
  }
  return { exports: (await import(pathToFileURL(file).href)) as unknown, esm: true };
}

/**
 * The worker side of the Kingpin: titles the process, reports uncaught errors to the
 * Kingpin, loads the role module named by the environment (`MOB_ROLE`, `MOB_MODULE`) and
 * says ready. The Kingpin's workers run it; mob's own worker entry passes `serve`.
 *
 * @example
 * // worker-main.js
 * require('mob-kingpin').runMobster();
 */
export async function runMobster(hooks: MobsterHooks = {}): Promise<void> {
  const role = process.env.MOB_ROLE ?? '';
  const file = process.env.MOB_MODULE ?? '';
  setTitle(`${process.env.MOB_APP ?? 'mob'} - ${role} (mobster)`);
  const t = transport();
  // Ctrl+C in a terminal sends SIGINT to the whole process group: the Kingpin turns it into
  // a graceful stop of every worker, so a worker does not die of it on its own. (A worker
  // whose Kingpin is gone exits when its channel closes.)
  process.on('SIGINT', () => {});
  // The same for SIGTERM to the whole group (systemd's default KillMode, `timeout`): the
  // Kingpin stops every worker in two phases. Sent to this worker alone (`kill <pid>`), the
  // Kingpin replaces it gracefully. Without a Kingpin to tell, the worker exits.
  process.on('SIGTERM', () => {
    try {
      t.post({ k: Kind.Term });
      t.flush();
    } catch {
      process.exit(143);
    }
  });
  const report = (error: unknown, origin: CrashReport['origin']): void => {
    const r: CrashReport = { error: serializeError(error), origin, role, pid: process.pid, file, time: new Date().toISOString() };
    t.post({ k: Kind.Crash, report: r });
  };
  // An uncaught error (or unhandled rejection) that the app does not handle itself: report
  // it (written into the channel at once) and exit 1, as Node would, but without Node's own
  // print of the stack: the Kingpin logs the report, so the stack appears once.
  const onUncaught = (err: unknown, origin: NodeJS.UncaughtExceptionOrigin): void => {
    if (process.listenerCount('uncaughtException') > 1) return; // the app's own handler decides
    report(err, origin);
    flushNow();
    process.exit(1);
  };
  process.on('uncaughtException', onUncaught);
  let mod: { exports: unknown; esm: boolean };
  try {
    mod = await loadRole(file);
  } catch (err) {
    report(err, 'load');
    flushNow();
    process.exitCode = 1;
    // Leave once the report is written; the Kingpin logs it.
    setImmediate(() => process.exit(1));
    return;
  }
  hooks.serve?.({ ...mod, file, role });
  ready();
}

function flushNow(): void {
  try {
    transport().flush();
  } catch {
    // the channel is gone: nothing to report to
  }
}

/**
 * From a worker: asks the Kingpin to add (`n > 0`) or remove (`n < 0`) workers of this
 * worker's role, within its minWorkers..maxWorkers. Removed workers stop gracefully.
 *
 * @example
 * // in a role module, under load:
 * mob.scale(+2);
 */
export function scale(n: number): void {
  if (!Number.isInteger(n)) throw new ConfigError(`scale(n): n must be an integer (+2, -1), got ${String(n)}`);
  if (n !== 0) transport().post({ k: Kind.Scale, n });
}

const waiting: ((report: CrashReport | null) => void)[] = [];
let lastErrHandled = false;

/**
 * From a worker: the last crash report of this worker's role (the uncaught error that took
 * the previous worker down: name, message, code, stack, pid, time), or null; the Kingpin
 * clears it once read. Also takes the original's callback form `(err, report)`.
 *
 * @example
 * const last = await mob.lastErr();
 * if (last) console.log('previous worker died of', last.error.message);
 */
export function lastErr(): Promise<CrashReport | null>;
export function lastErr(callback: (err: Error | null, report: CrashReport | null) => void): void;
export function lastErr(callback?: (err: Error | null, report: CrashReport | null) => void): Promise<CrashReport | null> | void {
  const t = transport();
  if (!lastErrHandled) {
    lastErrHandled = true;
    t.handle(Kind.LastErr, (fr) => {
      const report = fr.report && typeof fr.report === 'object' ? fr.report : null;
      waiting.shift()?.(report);
    });
  }
  const promise = new Promise<CrashReport | null>((resolve) => waiting.push(resolve));
  t.post({ k: Kind.LastErr });
  if (!callback) return promise;
  promise.then((r) => callback(null, r), (err: Error) => callback(err, null));
}
