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
