import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from 'mob-messaging';

/** The longest path a Unix socket may have (sun_path holds 108 bytes on Linux, with its NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * The folder of this user's control sockets: `MOB_HOME` when set, else
 * `$XDG_RUNTIME_DIR/mob`, else `<os.tmpdir()>/mob-<uid>`.
 *
 * @example
 * controlDir(); // '/run/user/1000/mob'
 */
export function controlDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MOB_HOME) return env.MOB_HOME;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'mob');
  return join(tmpdir(), `mob-${process.getuid?.() ?? 'user'}`);
}

/**
 * The control socket of app `app` (and host `host`, when several hosts of one app share a
 * machine): `<controlDir>/<app>.sock`.
 *
 * @example
 * socketPath('shop'); // '/run/user/1000/mob/shop.sock'
 */
export function socketPath(app: string, dir = controlDir(), host?: string): string {
  const path = join(dir, host ? `${app}.${host}.sock` : `${app}.sock`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new ConfigError(
      `the control socket path ${path} is ${Buffer.byteLength(path)} bytes, over the ${MAX_SOCKET_PATH} a Unix socket allows: ` +
        'set MOB_HOME to a shorter folder, or give the app a shorter name',
    );
  }
  return path;
}

/**
 * Makes the folder (0700) if it is missing. A folder that exists must be this user's; one
 * that others may enter is narrowed to 0700. Throws a ConfigError that says what to do.
 */
export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new ConfigError(`the control folder ${dir} is not a directory: set MOB_HOME to another folder`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new ConfigError(`the control folder ${dir} belongs to user ${st.uid}, not to this user (${uid}): set MOB_HOME to a folder of yours`);
  }
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}
