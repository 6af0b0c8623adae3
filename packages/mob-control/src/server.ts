import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { MobError } from 'mob-messaging';
import type { Kingpin, LogLine } from 'mob-kingpin';
import { connectControl, withTimeout, type ControlClient } from './client.js';
import { readLines } from './lines.js';
import { renderMetrics } from './metrics.js';
import { controlDir, ensureDir, socketPath } from './paths.js';
import { CONTROL_VERSION, MAX_REQUEST, OPS, type ControlAnswer, type ControlRequest } from './protocol.js';
import { toStatus, withOthers } from './status.js';

/** Options of the control server. */
export interface ControlOptions {
  /** the folder of the socket (default: controlDir()) */
  dir?: string;
  /** the host's name, when several hosts of one app share a machine: `<app>.<host>.sock` */
  host?: string;
  /** connections served at once (default 64); more are closed at once */
  maxConnections?: number;
}

/** A running control server. */
export interface ControlServer {
  /** the socket's path */
  readonly path: string;
  close(): Promise<void>;
}

/**
 * Another Kingpin of the same app name answers on this host's control socket: two apps of
 * one name could not be told apart by `mob status`, so the second one does not start.
 *
 * @example
 * err.code; // 'E_MOB_APP_RUNNING'
 */
export class AppRunningError extends MobError {
  override name = 'AppRunningError';
  readonly app: string;
  readonly pid: number | null;
  readonly path: string;
  constructor(app: string, pid: number | null, path: string) {
    // One of several hosts of the app on this machine (`<app>.<host>.sock`) is named app@host.
    const file = path.slice(path.lastIndexOf('/') + 1);
    const host = file.startsWith(`${app}.`) && file.endsWith('.sock') ? file.slice(app.length + 1, -5) : '';
    const target = host ? `${app}@${host}` : app;
    super(
      `an app named "${app}" is already running on this host (Kingpin ${pid ?? 'pid unknown'}, control socket ${path}): ` +
        `give this one another name (start("${app}-2")), or stop the other (npx mob stop ${target}), or set MOB_HOME to keep them apart`,
      'E_MOB_APP_RUNNING',
    );
    this.app = app;
    this.pid = pid;
    this.path = path;
  }
}

/** Bytes waiting to be written to one client beyond which it is dropped (it does not read). */
const MAX_BACKLOG = 4 * 1024 * 1024;

/**
 * Serves a Kingpin's control socket: `<dir>/<app>.sock`, the folder 0700 and the socket
 * 0600, so only this user can use it. A socket left by a Kingpin that was killed is
 * replaced; a live Kingpin of the same app name makes this one fail with AppRunningError.
 * The socket is removed when the server closes and when the process exits.
 *
 * @example
 * const control = await serveControl(kingpin);
 * console.log(control.path); // /run/user/1000/mob/shop.sock
 */
export async function serveControl(kingpin: Kingpin, options: ControlOptions = {}): Promise<ControlServer> {
  const dir = options.dir ?? controlDir();
  const path = socketPath(kingpin.name, dir, options.host);
  ensureDir(dir);
  await claim(kingpin.name, path);
  const clients = new Set<Socket>();
  const max = options.maxConnections ?? 64;
  const hub = createHub(kingpin);
  const server = createServer((socket) => {
    if (clients.size >= max) {
      // Told why, then closed: the command says it, not only that the connection closed.
      socket.on('error', () => {});
      const why = fail(
        0,
        'E_MOB_CONTROL_BUSY',
        `app "${kingpin.name}" has ${max} control connections open, its bound: close some (a mob logs, mob status --watch or dashboard left running?) and try again`,
      );
      socket.end(`${JSON.stringify(why)}\n`);
      // What it sent is read and dropped, so that its close is seen; one that neither reads
      // nor closes is cut after a second. (Left unread, each refused socket stayed open.)
      socket.resume();
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    clients.add(socket);
    socket.on('close', () => clients.delete(socket));
    serveClient(kingpin, hub, socket, path);
  });
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  server.unref();
  const remove = (): void => {
    try {
      unlinkSync(path);
    } catch {
      // gone already
    }
  };
  process.once('exit', remove);
  let closing: Promise<void> | null = null;
  return {
    path,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        // No new clients; the socket goes now. Answers on their way (a stop's) leave first.
        server.close(() => resolve());
        hub.close();
        remove();
        process.off('exit', remove);
        setTimeout(() => {
          for (const c of clients) c.destroy();
        }, 100).unref();
      })),
  };
}

/** Takes the socket path: free, or left by a dead Kingpin (removed); a live one throws. */
async function claim(app: string, path: string): Promise<void> {
  let c: ControlClient;
  try {
    c = await connectControl(path, app);
  } catch {
    // Nothing there, or a stale socket nobody answers on (ECONNREFUSED).
    try {
      unlinkSync(path);
    } catch {
      // nothing there
    }
    return;
  }
  let pid: number | null = null;
  try {
    const hello = (await withTimeout(c.request('hello'), 1000)) as { pid?: unknown };
    if (typeof hello.pid === 'number') pid = hello.pid;
  } catch {
    // it answers, but not as we expect: still someone's
  } finally {
    c.close();
  }
  throw new AppRunningError(app, pid, path);
}

/** Streaming requests (logs that follow, subscribe, progress of reload/scale/stop) one connection may hold. */
const MAX_STREAMS = 8;
/** A connection that sends no request within this long is closed. */
const FIRST_REQUEST_MS = 10_000;
/** status and metrics requests one connection may have unanswered at once. */
const MAX_PENDING = 8;
/** subscribe's interval, in ms: at least, at most. */
const MIN_INTERVAL = 250;
const MAX_INTERVAL = 60_000;

/**
 * The Kingpin's events, listened to once per server and passed to every stream that wants
 * them: however many clients follow, the Kingpin holds one listener per event.
 */
interface Hub {
  progress: Set<(data: { type: string; role: string }) => void>;
  log: Set<(line: LogLine) => void>;
  close(): void;
}

function createHub(kingpin: Kingpin): Hub {
  const hub: Hub = { progress: new Set(), log: new Set(), close: () => {} };
  const offs: (() => void)[] = [];
  for (const name of ['fork', 'ready', 'exit', 'revive', 'reload', 'crash'] as const) {
    const fn = (info: { role: string }): void => {
      for (const sub of hub.progress) sub({ type: name, ...info });
    };
    kingpin.on(name, fn);
    offs.push(() => kingpin.off(name, fn));
  }
  const onLog = (line: LogLine): void => {
    for (const sub of hub.log) sub(line);
  };
  kingpin.on('log', onLog);
  offs.push(() => kingpin.off('log', onLog));
  hub.close = () => {
    for (const off of offs) off();
    hub.progress.clear();
    hub.log.clear();
  };
  return hub;
}

function serveClient(kingpin: Kingpin, hub: Hub, socket: Socket, path: string): void {
  const stops: (() => void)[] = [];
  const pending = { n: 0 };
  // A connection that asks nothing takes one of the bounded places: it is closed.
  let silent: NodeJS.Timeout | null = setTimeout(() => socket.destroy(), FIRST_REQUEST_MS);
  silent.unref();
  socket.on('error', () => {});
  socket.on('close', () => {
    if (silent) clearTimeout(silent);
    for (const stop of stops) stop();
  });
  const send = (a: ControlAnswer): void => {
    if (socket.destroyed) return;
    if (socket.writableLength > MAX_BACKLOG) {
      socket.destroy();
      return;
    }
    socket.write(`${JSON.stringify(a)}\n`);
  };
  readLines(
    socket,
    (line) => {
      if (silent) clearTimeout(silent);
      silent = null;
      if (line.trim()) handle(kingpin, hub, line, send, stops, pending, path);
    },
    MAX_REQUEST,
    () => {
      send(fail(0, 'E_MOB_CONTROL_TOO_LARGE', `a request is at most ${MAX_REQUEST} bytes`));
      socket.end();
      socket.destroySoon();
    },
  );
}

function fail(id: number, code: string, message: string): ControlAnswer {
  return { v: CONTROL_VERSION, id, ok: false, error: { name: 'ControlError', code, message } };
}

function errorAnswer(id: number, err: unknown): ControlAnswer {
  const e = err instanceof Error ? err : new Error(String(err));
  const code: unknown = (e as Error & { code?: unknown }).code;
  return { v: CONTROL_VERSION, id, ok: false, error: { name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}) } };
}

function handle(
  kingpin: Kingpin,
  hub: Hub,
  line: string,
  send: (a: ControlAnswer) => void,
  stops: (() => void)[],
  pending: { n: number },
  path: string,
): void {
  let req: ControlRequest;
  try {
    req = JSON.parse(line) as ControlRequest;
  } catch {
    send(fail(0, 'E_MOB_CONTROL_BAD_REQUEST', 'a request is one line of JSON: {"v":1,"id":1,"op":"status"}'));
    return;
  }
  if (typeof req !== 'object' || req === null || Array.isArray(req)) {
    send(fail(0, 'E_MOB_CONTROL_BAD_REQUEST', 'a request is a JSON object: {"v":1,"id":1,"op":"status"}'));
    return;
  }
  const id = Number.isSafeInteger(req.id) ? req.id : 0;
  if (req.v !== CONTROL_VERSION) {
    send(fail(id, 'E_MOB_CONTROL_VERSION', `this Kingpin speaks control protocol ${CONTROL_VERSION}, the request ${JSON.stringify(req.v)}: use the mob command of the app's own mob version (npx mob, from the app's folder)`));
    return;
  }
  if (!(OPS as readonly string[]).includes(req.op)) {
    send(fail(id, 'E_MOB_CONTROL_BAD_OP', `no op ${JSON.stringify(req.op)}; ops: ${OPS.join(', ')}`));
    return;
  }
  if (['reload', 'scale', 'stop', 'logs', 'subscribe'].includes(req.op) && stops.length >= MAX_STREAMS) {
    send(fail(id, 'E_MOB_CONTROL_BUSY', `at most ${MAX_STREAMS} streaming requests per connection; open another connection`));
    return;
  }
  if ((req.op === 'status' || req.op === 'metrics') && pending.n >= MAX_PENDING) {
    send(fail(id, 'E_MOB_CONTROL_BUSY', `at most ${MAX_PENDING} status or metrics requests unanswered per connection; wait for the answers`));
    return;
  }
  const ok = (result: unknown): void => send({ v: CONTROL_VERSION, id, ok: true, result });
  const event = (name: string, data: unknown): void => send({ v: CONTROL_VERSION, id, event: name, data });
  const role = typeof req.role === 'string' ? req.role : undefined;
  if (req.role !== undefined && (role === undefined || !kingpin.roles().includes(role))) {
    send(fail(id, 'E_MOB_NO_ROLE', `app "${kingpin.name}" has no role ${JSON.stringify(req.role)} (roles: ${kingpin.roles().join(', ')})`));
    return;
  }
  switch (req.op) {
    case 'hello':
      ok({ app: kingpin.name, pid: process.pid, protocol: CONTROL_VERSION, roles: kingpin.roles(), socket: path });
      return;
    case 'status':
    case 'metrics': {
      pending.n++;
      const op = req.op;
      kingpin
        .freshStats()
        .then((stats) => ok(op === 'status' ? withOthers(toStatus(stats, path), kingpin.otherHosts()) : renderMetrics(stats)))
        .catch((err: unknown) => send(errorAnswer(id, err)))
        .finally(() => pending.n--);
      return;
    }
    case 'reload': {
      stops.push(progress(hub, role, event));
      kingpin.reload(role).then(
        () => ok({ reloaded: role ?? kingpin.roles() }),
        (err) => send(errorAnswer(id, err)),
      );
      return;
    }
    case 'scale': {
      if (role === undefined) {
        send(fail(id, 'E_MOB_CONTROL_BAD_REQUEST', 'scale needs a role and n'));
        return;
      }
      stops.push(progress(hub, role, event));
      let p: Promise<void>;
      try {
        p = kingpin.scale(role, req.n as number);
      } catch (err) {
        send(errorAnswer(id, err));
        return;
      }
      p.then(
        () => ok({ role, workers: kingpin.workers(role).filter((w) => w.state === 'ready').length }),
        (err) => send(errorAnswer(id, err)),
      );
      return;
    }
    case 'stop': {
      stops.push(progress(hub, undefined, event));
      kingpin.shutdown('stop asked on the control socket (mob stop)').then(
        (r) => {
          ok(r);
          // As after SIGTERM: the Kingpin exits once every worker is gone (the answer first).
          setTimeout(() => process.exit(0), 50);
        },
        (err) => send(errorAnswer(id, err)),
      );
      return;
    }
    case 'logs': {
      const n = Number.isInteger(req.lines) && (req.lines as number) >= 0 ? Math.min(req.lines as number, 10_000) : 20;
      const pid = Number.isInteger(req.pid) ? req.pid : undefined;
      // A pid that is none of the app's workers (live, or gone with lines still kept) would
      // show nothing, and follow nothing, forever.
      if (pid !== undefined && !kingpin.workers().some((w) => w.pid === pid) && kingpin.logs(1, { pid }).length === 0) {
        const pids = kingpin.workers().map((w) => w.pid);
        send(fail(id, 'E_MOB_NO_WORKER', `app "${kingpin.name}" has no worker ${pid} (its workers: ${pids.length ? pids.join(', ') : 'none'})`));
        return;
      }
      for (const l of kingpin.logs(n, { ...(role ? { role } : {}), ...(pid !== undefined ? { pid } : {}) })) event('log', l);
      if (req.follow === false) {
        ok({ lines: n });
        return;
      }
      const onLog = (l: LogLine): void => {
        if ((role === undefined || l.role === role) && (pid === undefined || l.pid === pid)) event('log', l);
      };
      hub.log.add(onLog);
      stops.push(() => hub.log.delete(onLog));
      return;
    }
    case 'subscribe': {
      const interval = Math.min(MAX_INTERVAL, Math.max(MIN_INTERVAL, Number.isFinite(req.interval) ? (req.interval as number) : 1000));
      stops.push(progress(hub, undefined, event));
      const onLog = (l: LogLine): void => event('log', l);
      hub.log.add(onLog);
      let busy = false;
      const tick = (): void => {
        if (busy) return;
        busy = true;
        kingpin
          .freshStats()
          .then((stats) => {
            busy = false;
            event('status', withOthers(toStatus(stats, path), kingpin.otherHosts()));
          })
          .catch(() => (busy = false));
      };
      tick();
      const timer = setInterval(tick, interval);
      timer.unref();
      stops.push(() => {
        clearInterval(timer);
        hub.log.delete(onLog);
      });
      return;
    }
  }
}

/** Streams the Kingpin's lifecycle events (of one role, or all) as `progress` events; returns the unsubscriber. */
function progress(hub: Hub, role: string | undefined, event: (name: string, data: unknown) => void): () => void {
  const fn = (data: { type: string; role: string }): void => {
    if (role === undefined || data.role === role) event('progress', data);
  };
  hub.progress.add(fn);
  return () => hub.progress.delete(fn);
}
