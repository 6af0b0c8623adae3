import { MobError } from 'mob-messaging';

/**
 * A role cannot start: its workers keep dying before any of them is ready (its module
 * throws at load, its port is in use, ...). `kingpin.ready()` rejects with it once a role
 * with no ready worker has had `deaths` early deaths in a row (3); the Kingpin keeps trying,
 * with backoff.
 *
 * @example
 * kingpin.ready().catch((err) => {
 *   if (err.name === 'RoleFailedError') console.error(err.role, err.lastError?.message);
 * });
 */
export class RoleFailedError extends MobError {
  override name = 'RoleFailedError';
  readonly role: string;
  readonly deaths: number;
  /** what its last worker reported before it exited, if it could */
  readonly lastError: { name: string; message: string } | null;
  constructor(role: string, deaths: number, how: string, lastError: { name: string; message: string } | null) {
    super(
      `role "${role}" cannot start: ${deaths} workers in a row exited before ready (last: ${how}` +
        `${lastError ? `, ${lastError.name}: ${lastError.message}` : ''}); the Kingpin keeps reviving it with backoff`,
      'E_MOB_ROLE_FAILED',
    );
    this.role = role;
    this.deaths = deaths;
    this.lastError = lastError;
  }
}

/** Why a new worker did not become ready: it exited first, or the role's `readyTimeout` passed. */
export interface NotReady {
  /** the new worker's pid */
  pid: number;
  /** `'exited'` before ready, or `'timeout'` */
  why: 'exited' | 'timeout';
  /** its exit code or signal, when it exited */
  code: number | null;
  signal: string | null;
  /** what it reported before it exited (a failed load, an uncaught error), if it could */
  error: { name: string; message: string } | null;
  /** the bound it had, in ms (the role's `readyTimeout`) */
  timeout: number;
}

/** `worker 123 exited (code 1) before it was ready: Error: broken` / `worker 123 was not ready within 60000 ms` */
function notReadyText(n: NotReady): string {
  if (n.why === 'timeout') return `the new worker ${n.pid} was not ready within ${n.timeout} ms (the role's readyTimeout)`;
  // pid 0: no process was started (too many open files, no memory).
  if (n.pid === 0) return `a new worker could not be started${n.error ? `: ${n.error.message}` : ''}`;
  const how = n.signal ? `signal ${n.signal}` : `code ${n.code}`;
  return `the new worker ${n.pid} exited (${how}) before it was ready${n.error ? `: ${n.error.name}: ${n.error.message}` : ''}`;
}

/**
 * A rolling reload stopped: one of the role's new workers exited before it was ready (its
 * module throws at load, its port is in use, ...) or was not ready within the role's
 * `readyTimeout`. The old workers that were not replaced yet keep running. `kingpin.reload()`
 * rejects with it; `mob reload` prints its message and exits 1.
 *
 * @example
 * kingpin.reload('back').catch((err) => {
 *   if (err.code === 'E_MOB_RELOAD_FAILED') console.error(err.role, err.replaced, err.lastError?.message);
 * });
 */
export class ReloadFailedError extends MobError {
  override name = 'ReloadFailedError';
  readonly role: string;
  /** the new worker that failed, or null when the Kingpin began to stop meanwhile */
  readonly pid: number | null;
  /** old workers replaced before it stopped, of `total` */
  readonly replaced: number;
  readonly total: number;
  /** what the new worker reported before it exited, if it could */
  readonly lastError: { name: string; message: string } | null;
  constructor(role: string, replaced: number, total: number, why: NotReady | 'stopping') {
    const reason = why === 'stopping' ? 'the Kingpin is stopping' : notReadyText(why);
    super(
      `reload of role "${role}" stopped: ${reason} (${replaced} of ${total} workers replaced)` +
        (why === 'stopping' ? '' : '; the old workers keep running'),
      'E_MOB_RELOAD_FAILED',
    );
    this.role = role;
    this.pid = why === 'stopping' ? null : why.pid;
    this.replaced = replaced;
    this.total = total;
    this.lastError = why === 'stopping' ? null : why.error;
  }
}

/**
 * Scaling a role up did not reach its count: a new worker exited before it was ready or was
 * not ready within the role's `readyTimeout`. The role keeps the new target: the Kingpin
 * keeps reviving the missing workers with its crash-loop backoff (scale again to give up).
 * `kingpin.scale()` rejects with it; `mob scale` prints its message and exits 1.
 *
 * @example
 * kingpin.scale('jobs', 6).catch((err) => {
 *   if (err.code === 'E_MOB_SCALE_FAILED') console.error(err.role, err.ready, err.target, err.lastError?.message);
 * });
 */
export class ScaleFailedError extends MobError {
  override name = 'ScaleFailedError';
  readonly role: string;
  /** the first new worker that failed */
  readonly pid: number;
  /** the role's ready workers when it rejected, and its target */
  readonly ready: number;
  readonly target: number;
  /** what that worker reported before it exited, if it could */
  readonly lastError: { name: string; message: string } | null;
  constructor(role: string, ready: number, target: number, why: NotReady) {
    super(
      `scaling role "${role}" to ${target} failed: ${notReadyText(why)}; ${ready} of ${target} workers are ready, ` +
        'and the Kingpin keeps reviving the missing ones with backoff',
      'E_MOB_SCALE_FAILED',
    );
    this.role = role;
    this.pid = why.pid;
    this.ready = ready;
    this.target = target;
    this.lastError = why.error;
  }
}
