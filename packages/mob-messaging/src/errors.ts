import type { SerializedError } from './protocol.js';

/**
 * The base of every error mob raises. `name` is fixed per class and `code` is stable, so
 * callers branch on either.
 *
 * @example
 * try { await back.foo(); } catch (err) {
 *   if (err instanceof MobError && err.code === 'E_MOB_WORKER_EXITED') retry();
 * }
 */
export class MobError extends Error {
  override name = 'MobError';
  /** stable code, `E_MOB_*` */
  readonly code: string;
  constructor(message: string, code = 'E_MOB', options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * Bad configuration or arguments: thrown at the call that was wrong.
 *
 * @example
 * kingpin.role('bad name!', './x.js'); // throws ConfigError (E_MOB_CONFIG)
 */
export class ConfigError extends MobError {
  override name = 'ConfigError';
  constructor(message: string) {
    super(message, 'E_MOB_CONFIG');
  }
}

/**
 * A payload that the channel's serialization cannot carry (a function, a BigInt, a cycle
 * under JSON). Thrown at the send or call that carried it.
 *
 * @example
 * mob.any('back').send({ fn() {} }); // throws PayloadError: message.fn is a function
 */
export class PayloadError extends MobError {
  override name = 'PayloadError';
  constructor(message: string) {
    super(message, 'E_MOB_PAYLOAD');
  }
}

/**
 * A target role that the app does not define.
 *
 * @example
 * mob.any('nope').send(1); // throws NoSuchRoleError: role "nope" is not defined (roles: back, front)
 */
export class NoSuchRoleError extends MobError {
  override name = 'NoSuchRoleError';
  readonly role: string;
  constructor(role: string, roles: readonly string[]) {
    super(
      `role "${role}" is not defined (roles: ${roles.join(', ') || 'none'}); define it with .role("${role}", path) ` +
        `in the main script (with mob-messaging alone: list it in createRouter({ roles }))`,
      'E_MOB_NO_ROLE',
    );
    this.role = role;
  }
}

/**
 * The worker running a call exited before it answered.
 *
 * @example
 * catch (err) { if (err.name === 'WorkerExitedError') console.log(err.role, err.pid, err.exitCode, err.signal); }
 */
export class WorkerExitedError extends MobError {
  override name = 'WorkerExitedError';
  readonly role: string;
  readonly pid: number;
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** the worker's host, when it ran on another host (mob-nats) */
  readonly host?: string;
  /** why a worker on another host is gone: `'host lost'` when its host stopped answering */
  readonly reason?: string;
  constructor(role: string, pid: number, exitCode: number | null, signal: string | null, what = 'the call', remote?: { host: string; reason?: string }) {
    super(
      remote?.reason
        ? `worker ${pid} of role "${role}" on host "${remote.host}" is gone (${remote.reason}) before ${what} was answered`
        : `worker ${pid} of role "${role}"${remote ? ` on host "${remote.host}"` : ''} exited (${signal ? `signal ${signal}` : `code ${exitCode}`}) before ${what} was answered`,
      'E_MOB_WORKER_EXITED',
    );
    this.role = role;
    this.pid = pid;
    this.exitCode = exitCode;
    this.signal = signal;
    if (remote) {
      this.host = remote.host;
      if (remote.reason) this.reason = remote.reason;
    }
  }
}

/**
 * A call was not answered in time (`mob.require(role, { timeout })`).
 *
 * @example
 * const back = mob.require('back', { timeout: 300 });
 * await back.slow().catch((err) => err.name); // 'TimeoutError'
 */
export class TimeoutError extends MobError {
  override name = 'TimeoutError';
  constructor(message: string) {
    super(message, 'E_MOB_TIMEOUT');
  }
}

/**
 * Too many calls are held for a role that has no ready worker: the call rejects at once.
 * (An `any()` message over the bound is dropped, and the Kingpin warns once.)
 *
 * @example
 * catch (err) { if (err.name === 'QueueFullError') backOff(); }
 */
export class QueueFullError extends MobError {
  override name = 'QueueFullError';
  constructor(message: string) {
    super(message, 'E_MOB_QUEUE_FULL');
  }
}

/**
 * The refusal of a call or `any()` message to a role that has no ready worker and holds as
 * much as its queue bounds allow: one text for the Kingpin and for the sender that knows it.
 *
 * @example
 * throw heldQueueFull('back', 100, 3200, 100, 64 * 1024 * 1024, 'any("back").send()');
 */
export function heldQueueFull(role: string, held: number, bytes: number, maxCount: number, maxBytes: number, where?: string): QueueFullError {
  return new QueueFullError(
    `${where ? `${where}: ` : ''}role "${role}" has no ready worker and its queue is full (${held} held, ${bytes} bytes; ` +
      `limits ${maxCount} / ${maxBytes}); raise the role's queue option or wait until it is up`,
  );
}

/**
 * A call that no worker will answer because the cluster is stopping.
 *
 * @example
 * catch (err) { if (err.name === 'ShutdownError') return; }
 */
export class ShutdownError extends MobError {
  override name = 'ShutdownError';
  constructor(message: string) {
    super(message, 'E_MOB_SHUTDOWN');
  }
}

/**
 * A call to a name the role does not export.
 *
 * @example
 * await back.nope(); // rejects: role "back" has no export "nope" (exports: foo, bar)
 */
export class NoSuchExportError extends MobError {
  override name = 'NoSuchExportError';
  constructor(message: string) {
    super(message, 'E_MOB_NO_EXPORT');
  }
}

/**
 * A worker-only function called in the Kingpin (or a Kingpin-only one in a worker).
 *
 * @example
 * // main.js, in the Kingpin:
 * mob.require('back'); // throws WrongProcessError: ...put application logic in a role module
 */
export class WrongProcessError extends MobError {
  override name = 'WrongProcessError';
  constructor(message: string) {
    super(message, 'E_MOB_WRONG_PROCESS');
  }
}

const mobErrors: Record<string, new (...a: any[]) => MobError> = {
  MobError,
  ConfigError,
  PayloadError,
  NoSuchRoleError,
  WorkerExitedError,
  TimeoutError,
  QueueFullError,
  ShutdownError,
  NoSuchExportError,
  WrongProcessError,
};

const builtins: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

const skip = new Set(['name', 'message', 'stack', 'code', 'remote']);

/**
 * Turns anything thrown into a value that crosses processes.
 *
 * @example
 * const wire = serializeError(new TypeError('boom')); // { name: 'TypeError', message: 'boom', stack }
 */
export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) {
    return { name: 'Error', message: `non-error thrown: ${safeString(err)}`, props: { thrown: jsonSafe(err) } };
  }
  const out: SerializedError = { name: String(err.name), message: String(err.message) };
  const e = err as Error & { code?: unknown };
  if (typeof e.code === 'string' || typeof e.code === 'number') out.code = e.code;
  if (typeof err.stack === 'string') out.stack = err.stack;
  if (err instanceof MobError) out.mob = true;
  for (const key of Object.keys(err)) {
    if (skip.has(key)) continue;
    const v = jsonSafe((err as unknown as Record<string, unknown>)[key]);
    if (v !== undefined) (out.props ??= {})[key] = v;
  }
  return out;
}

/**
 * Rebuilds an error that crossed processes: the same `name`, `message`, `code` and `stack`,
 * the built-in class for built-in names (a remote TypeError is a TypeError here), the mob
 * class for mob's own errors, and `remote: { role, pid }` telling where it was thrown.
 *
 * @example
 * const err = restoreError(wire, { role: 'back', pid: 1234 });
 * err.name; // 'TypeError'
 */
export function restoreError(data: SerializedError, remote?: { role: string; pid: number; host?: string }): Error {
  const name = typeof data?.name === 'string' ? data.name : 'Error';
  const message = typeof data?.message === 'string' ? data.message : String(data?.message);
  const Ctor = data?.mob ? mobErrors[name] : undefined;
  let err: Error;
  if (Ctor && Object.hasOwn(mobErrors, name)) {
    err = Object.create(Ctor.prototype) as Error;
    Object.defineProperty(err, 'message', { value: message, writable: true, configurable: true });
  } else {
    const Base = Object.hasOwn(builtins, name) ? builtins[name]! : Error;
    err = new Base(message);
  }
  Object.defineProperty(err, 'name', { value: name, writable: true, configurable: true });
  if (data?.code !== undefined) (err as Error & { code: unknown }).code = data.code;
  const props = data?.props;
  if (props && typeof props === 'object') {
    for (const key of Object.keys(props)) {
      if (key === '__proto__' || key === 'constructor' || skip.has(key)) continue;
      (err as unknown as Record<string, unknown>)[key] = props[key];
    }
  }
  // Thrown on another host: its host and its pid there (not this host's alias of it).
  const at = data?.at;
  if (remote && at && typeof at.h === 'string' && at.h.length <= 64 && Number.isInteger(at.p) && at.p > 0) remote = { role: remote.role, pid: at.p, host: at.h };
  if (typeof data?.stack === 'string') {
    const where = remote ? `    at <remote role "${remote.role}", pid ${remote.pid}${remote.host === undefined ? '' : ` on host "${remote.host}"`}>` : '';
    err.stack = where ? `${data.stack}\n${where}` : data.stack;
  }
  if (remote) Object.defineProperty(err, 'remote', { value: remote, enumerable: false, configurable: true });
  return err;
}

function safeString(x: unknown): string {
  try {
    return typeof x === 'string' ? JSON.stringify(x) : String(x);
  } catch {
    return Object.prototype.toString.call(x);
  }
}

function jsonSafe(v: unknown): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'object') {
    try {
      return JSON.parse(JSON.stringify(v)) as unknown;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
