import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection, type Socket } from 'node:net';
import { MobError } from 'mob-messaging';
import { readLines } from './lines.js';
import { controlDir } from './paths.js';
import { CONTROL_VERSION, type ControlAnswer, type ControlError, type ControlRequest, type Op } from './protocol.js';
import type { AppStatus } from './status.js';

/**
 * A control request failed: no such app, no permission, a Kingpin of another protocol
 * version, or the Kingpin's own answer (an unknown role, a scale out of bounds). `code` says
 * which: E_MOB_NO_APP, E_MOB_NO_PERMISSION, E_MOB_CONTROL_VERSION (an answer of another
 * protocol version, whatever its shape), E_MOB_CONTROL_BAD_ANSWER (see assertStatus),
 * E_MOB_CONTROL_CLOSED, or the Kingpin's error code.
 *
 * @example
 * catch (err) { if (err.code === 'E_MOB_NO_APP') console.error(err.message); }
 */
export class ControlRequestError extends MobError {
  override name = 'ControlRequestError';
  /** the name of the Kingpin's error, when it answered with one */
  readonly remoteName: string | undefined;
  constructor(message: string, code: string, remoteName?: string) {
    super(message, code);
    this.remoteName = remoteName;
  }
}

/** A connection to one Kingpin's control socket. */
export interface ControlClient {
  /**
   * Sends a request and resolves with its answer's result; `onEvent` gets the events before
   * it (progress, log lines, status). Rejects with ControlRequestError.
   */
  request(op: Op, args?: Omit<ControlRequest, 'v' | 'id' | 'op'>, onEvent?: (event: string, data: unknown) => void): Promise<unknown>;
  close(): void;
  /** resolves when the connection is closed (by either side) */
  readonly closed: Promise<void>;
}

/**
 * Connects to the control socket at `path`. Rejects with ControlRequestError:
 * E_MOB_NO_APP when nothing listens there, E_MOB_NO_PERMISSION when it is another user's.
 *
 * @example
 * const c = await connectControl(socketPath('shop'));
 * const status = await c.request('status');
 * c.close();
 */
export function connectControl(path: string, app = path): Promise<ControlClient> {
  return new Promise((resolve, reject) => {
    const socket: Socket = createConnection(path);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EACCES' || err.code === 'EPERM') reject(new ControlRequestError(`no permission to use the control socket of app "${app}" (${path}): it belongs to another user`, 'E_MOB_NO_PERMISSION'));
      else reject(new ControlRequestError(`no app "${app}" is running (nothing answers on ${path})`, 'E_MOB_NO_APP'));
    });
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(client(socket, app));
    });
  });
}

function client(socket: Socket, app: string): ControlClient {
  let next = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; onEvent?: (event: string, data: unknown) => void }>();
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  /** why the Kingpin refused this connection, when it said so before any request (E_MOB_CONTROL_BUSY) */
  let refused: ControlRequestError | null = null;
  socket.on('error', () => {});
  socket.on('close', () => {
    for (const w of waiting.values()) w.reject(refused ?? new ControlRequestError(`the Kingpin of app "${app}" closed the connection`, 'E_MOB_CONTROL_CLOSED'));
    waiting.clear();
    resolveClosed();
  });
  readLines(socket, (line) => {
    let a: ControlAnswer | undefined;
    try {
      a = JSON.parse(line) as ControlAnswer;
    } catch {
      a = undefined;
    }
    if (typeof a !== 'object' || a === null || Array.isArray(a)) {
      if (!line.trim() || refused) return;
      // Not the control protocol: whatever listens there is no Kingpin of this mob (or a
      // broken one). Every request fails with what it said, rather than waiting for an answer.
      const shown = line.length > 60 ? `${line.slice(0, 60)}…` : line;
      refused = new ControlRequestError(`the control socket of app "${app}" answered with something that is not mob's control protocol: ${JSON.stringify(shown)}`, 'E_MOB_CONTROL_BAD_ANSWER');
      socket.destroy();
      return;
    }
    const w = waiting.get(a.id) ?? (a.id === 0 ? waiting.values().next().value : undefined);
    if (!w) {
      if (a.id === 0 && a.ok === false && refused === null) refused = remoteError(a.error, a.v);
      return;
    }
    // A Kingpin of another protocol version may answer in a shape this mob does not know:
    // nothing of it is read, whatever it says.
    if (a.v !== CONTROL_VERSION) {
      waiting.delete(a.id);
      w.reject(remoteError(a.ok === false ? a.error : undefined, a.v));
      return;
    }
    if (a.event !== undefined) {
      w.onEvent?.(a.event, a.data);
      return;
    }
    waiting.delete(a.id);
    if (a.ok) w.resolve(a.result);
    else w.reject(remoteError(a.error, a.v));
  });
  return {
    closed,
    close: () => socket.destroy(),
    request(op, args = {}, onEvent) {
      const id = next++;
      return new Promise((resolve, reject) => {
        if (refused) {
          reject(refused);
          return;
        }
        if (socket.destroyed) {
          reject(new ControlRequestError(`the connection to app "${app}" is closed`, 'E_MOB_CONTROL_CLOSED'));
          return;
        }
        waiting.set(id, { resolve, reject, ...(onEvent ? { onEvent } : {}) });
        socket.write(`${JSON.stringify({ ...args, v: CONTROL_VERSION, id, op })}\n`);
      });
    },
  };
}

function remoteError(e: ControlError | undefined, v: unknown): ControlRequestError {
  const code = typeof e?.code === 'string' ? e.code : 'E_MOB_CONTROL';
  const message = typeof e?.message === 'string' ? e.message : undefined;
  if (v !== CONTROL_VERSION) return versionError(v);
  if (code === 'E_MOB_CONTROL_VERSION') return new ControlRequestError(message ?? versionError(v).message, code);
  return new ControlRequestError(message ?? 'the Kingpin refused the request', code, typeof e?.name === 'string' ? e.name : undefined);
}

function versionError(v: unknown): ControlRequestError {
  return new ControlRequestError(
    `a Kingpin of another protocol version (${JSON.stringify(v) ?? 'none'}; this mob speaks ${CONTROL_VERSION}): use the mob command of the app's own mob version (npx mob, from the app's folder)`,
    'E_MOB_CONTROL_VERSION',
  );
}

/**
 * Checks that a `status` answer has the documented shape (`{ name, pid, roles: [{ name,
 * workers: [...] }] }`) and returns it; else throws ControlRequestError
 * (E_MOB_CONTROL_BAD_ANSWER), so a command prints one short line instead of failing on it.
 *
 * @example
 * const status = assertStatus(await c.request('status'), 'shop');
 */
export function assertStatus(x: unknown, app: string): AppStatus {
  const s = x as AppStatus | null;
  const ok =
    typeof s === 'object' &&
    s !== null &&
    typeof s.name === 'string' &&
    typeof s.pid === 'number' &&
    Array.isArray(s.roles) &&
    s.roles.every((r) => typeof r === 'object' && r !== null && typeof r.name === 'string' && Array.isArray(r.workers)) &&
    (s.others === undefined || (Array.isArray(s.others) && s.others.every((o) => typeof o === 'object' && o !== null && Array.isArray(o.roles))));
  if (!ok) throw new ControlRequestError(`the Kingpin of app "${app}" answered a status this mob cannot read (another mob version?)`, 'E_MOB_CONTROL_BAD_ANSWER');
  return s;
}

/** A socket in the control folder: its app's status, or why it did not answer. */
export interface Listed {
  socket: string;
  status?: AppStatus;
  error?: ControlRequestError;
}

/**
 * Every app running on this host for this user: each socket in the control folder asked
 * for its status (sockets nobody answers on are left out; a Kingpin of another protocol
 * version, another user's socket, one that does not answer within 3 s, and a control folder
 * this user cannot read are listed with their error).
 *
 * @example
 * for (const { status } of await listApps()) console.log(status?.name, status?.pid);
 */
export async function listApps(dir = controlDir()): Promise<Listed[]> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.sock')).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // No folder: no app has run here. One this user cannot read is another user's.
    if (code !== 'EACCES' && code !== 'EPERM') return [];
    return [{ socket: dir, error: new ControlRequestError(`no permission to read the control folder ${dir}: it belongs to another user (run mob as the app's user, or set MOB_HOME)`, 'E_MOB_NO_PERMISSION') }];
  }
  const out = await Promise.all(
    names.map(async (name): Promise<Listed | null> => {
      const socket = join(dir, name);
      let c: ControlClient;
      try {
        c = await connectControl(socket, name.slice(0, -5));
      } catch (err) {
        return (err as ControlRequestError).code === 'E_MOB_NO_PERMISSION' ? { socket, error: err as ControlRequestError } : null;
      }
      try {
        return { socket, status: assertStatus(await withTimeout(c.request('status'), 3000), name.slice(0, -5)) };
      } catch (err) {
        return { socket, error: err instanceof ControlRequestError ? err : new ControlRequestError(String((err as Error).message), 'E_MOB_CONTROL') };
      } finally {
        c.close();
      }
    }),
  );
  return out.filter((x): x is Listed => x !== null);
}

/**
 * `p`, or a ControlRequestError (E_MOB_CONTROL_TIMEOUT) after `ms`: a Kingpin that is stopped
 * (SIGSTOP) or stuck accepts a connection and never answers.
 *
 * @example
 * const status = await withTimeout(client.request('status'), 5000);
 */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => (t = setTimeout(() => reject(new ControlRequestError(`no answer within ${ms} ms`, 'E_MOB_CONTROL_TIMEOUT')), ms))),
  ]).finally(() => clearTimeout(t));
}
