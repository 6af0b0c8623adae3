import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ControlRequestError, assertStatus, connectControl, socketPath, type AppStatus, type ControlClient } from 'mob-control';
import { everyHost } from './hosts.js';
import { PAGE } from './page.js';

/** Options of the dashboard server. */
export interface DashboardOptions {
  /** the app to show */
  app: string;
  /** TCP port (0: any free one) */
  port?: number;
  /** the address it binds to, and only that one (default 127.0.0.1) */
  host?: string;
  /** the token every request must carry (default: 24 random bytes, made for this run) */
  token?: string;
  /** the app's control socket (default: socketPath(app)) */
  socket?: string;
}

/** A running dashboard. */
export interface Dashboard {
  readonly server: Server;
  /** the page's address, with its token: `http://127.0.0.1:<port>/?token=…` */
  readonly url: string;
  /** `http://127.0.0.1:<port>`: the only Origin its API accepts */
  readonly origin: string;
  readonly token: string;
  close(): Promise<void>;
}

/** The largest request body the API reads (bytes); a larger one gets 413. */
const MAX_BODY = 16 * 1024;

/** What readBody resolves with when the body is larger than MAX_BODY. */
const TOO_LARGE = Symbol('too large');

/**
 * Serves the live dashboard of one app: one page (no external assets), a status stream
 * (Server-Sent Events, once a second) and a small API that scripts may call too:
 * `GET /api/status` (what `mob status <app> --json` prints: an array with one entry per
 * host, this one's first), `POST /api/reload` with `{ role }`, `POST /api/scale` with
 * `{ role, n }`. A body larger than 16 KiB gets 413.
 *
 * Every request must carry the token (`?token=` or `Authorization: Bearer …`), the page
 * itself included, or gets 401; a request whose `Origin` is not the page's own gets 403.
 *
 * @example
 * const d = await serveDashboard({ app: 'shop', port: 9470 });
 * console.log(d.url);
 */
export async function serveDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? randomBytes(24).toString('base64url');
  const socket = options.socket ?? socketPath(options.app);
  const app = options.app;
  let origin = '';
  const streams = new Set<ServerResponse>();
  let feed: ControlClient | null = null;
  /** the last status, one entry per host (the shape of `mob status --json`) */
  let last: AppStatus[] = [];

  const request = async (op: 'status' | 'reload' | 'scale', args: { role?: string; n?: number } = {}): Promise<unknown> => {
    const c = await connectControl(socket, app);
    try {
      return await c.request(op, args);
    } finally {
      c.close();
    }
  };

  // One subscription to the Kingpin, shared by every open page.
  const startFeed = async (): Promise<void> => {
    if (feed) return;
    try {
      const c = (feed = await connectControl(socket, app));
      void c.closed.then(() => {
        feed = null;
        broadcast('gone', { app });
      });
      c.request('subscribe', { interval: 1000 }, (event, data) => {
        if (event === 'status') {
          // The stream carries what GET /api/status answers: one entry per host, not `others`.
          try {
            last = everyHost([assertStatus(data, app)]);
          } catch {
            return;
          }
          broadcast('status', last);
        } else if (event === 'progress') broadcast('progress', data);
      }).catch(() => {});
    } catch {
      feed = null;
      broadcast('gone', { app });
    }
  };
  const broadcast = (event: string, data: unknown): void => {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of streams) {
      if (res.writableLength > 1024 * 1024) res.destroy();
      else res.write(text);
    }
  };

  /** The methods each path takes, for a 405's Allow header. */
  const ROUTES = new Map([
    ['/', 'GET, HEAD'],
    ['/api/status', 'GET, HEAD'],
    ['/api/events', 'GET'],
    ['/api/reload', 'POST'],
    ['/api/scale', 'POST'],
  ]);

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: Error) => json(res, 500, { error: err.message }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    res.setHeader('cache-control', 'no-store');
    res.setHeader('x-content-type-options', 'nosniff');
    const auth = authorized(req, url, token);
    if (auth === 'none') return json(res, 401, { error: 'a token is needed: open the URL that `mob dashboard` printed' });
    if (auth === 'wrong') return json(res, 401, { error: 'the token is wrong: open the URL that this run of `mob dashboard` printed (each run makes a new one)' });
    const from = req.headers.origin;
    if (from !== undefined && from !== origin) return json(res, 403, { error: `requests from ${from} are not accepted; only from ${origin}` });
    // HEAD is GET without the body (Node's response leaves it out); not for the event stream.
    const method = req.method === 'HEAD' && url.pathname !== '/api/events' ? 'GET' : req.method;
    const route = `${method} ${url.pathname}`;
    switch (route) {
      case 'GET /':
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
          'referrer-policy': 'no-referrer',
        });
        res.end(PAGE);
        return;
      case 'GET /api/status':
        try {
          return json(res, 200, everyHost([assertStatus(await request('status'), app)]));
        } catch (err) {
          return json(res, 503, { error: (err as Error).message });
        }
      case 'GET /api/events': {
        res.writeHead(200, { 'content-type': 'text/event-stream', connection: 'keep-alive' });
        res.write(': mob\n\n');
        streams.add(res);
        req.on('close', () => streams.delete(res));
        if (last.length) res.write(`event: status\ndata: ${JSON.stringify(last)}\n\n`);
        await startFeed();
        return;
      }
      case 'POST /api/reload':
      case 'POST /api/scale': {
        const body = await readBody(req);
        if (body === TOO_LARGE) return tooLarge(res);
        if (body === null || typeof body !== 'object') return json(res, 400, { error: 'send a JSON object: { "role": "back" }' });
        const { role, n } = body as { role?: unknown; n?: unknown };
        if (typeof role !== 'string') return json(res, 400, { error: 'role must be a string' });
        try {
          if (url.pathname === '/api/reload') return json(res, 200, { ok: true, result: await request('reload', { role }) });
          if (!Number.isInteger(n)) return json(res, 400, { error: 'n must be a whole number of workers' });
          return json(res, 200, { ok: true, result: await request('scale', { role, n: n as number }) });
        } catch (err) {
          const code = err instanceof ControlRequestError ? err.code : 'E_MOB';
          return json(res, 409, { ok: false, error: (err as Error).message, code });
        }
      }
      default: {
        const allow = ROUTES.get(url.pathname);
        if (allow) {
          res.setHeader('allow', allow);
          return json(res, 405, { error: `${url.pathname} takes ${allow}, not ${req.method ?? '?'}` });
        }
        return json(res, 404, { error: `no ${req.method ?? '?'} ${url.pathname}` });
      }
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => {});
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port;
  origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    server,
    url: `${origin}/?token=${encodeURIComponent(token)}`,
    origin,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of streams) s.destroy();
        feed?.close();
        server.close(() => resolve());
      }),
  };
}

/** Whether the request carries the token: none, a wrong one, or the right one. */
function authorized(req: IncomingMessage, url: URL, token: string): 'none' | 'wrong' | 'ok' {
  const auth = req.headers.authorization;
  const given = url.searchParams.get('token') ?? (auth?.startsWith('Bearer ') ? auth.slice(7) : null);
  if (given === null) return 'none';
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b) ? 'ok' : 'wrong';
}

/**
 * 413 for a body over MAX_BODY. The rest of the body is dropped, not kept: the answer says
 * `Connection: close`, so Node's server closes the connection once the answer is flushed.
 * (Destroying the socket on the first byte too many, the client got a reset and no answer.)
 */
function tooLarge(res: ServerResponse): void {
  res.shouldKeepAlive = false;
  json(res, 413, { error: `the request body is larger than ${MAX_BODY} bytes (16 KiB), the most this API reads`, limit: MAX_BODY });
}

function json(res: ServerResponse, code: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The request's JSON body; null when it is not JSON; TOO_LARGE past MAX_BODY bytes. */
function readBody(req: IncomingMessage): Promise<unknown> {
  if (Number(req.headers['content-length']) > MAX_BODY) return Promise.resolve(TOO_LARGE);
  return new Promise((resolve) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      if (size > MAX_BODY) return;
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
      else {
        // Not destroyed here: the 413 must reach the client first (see tooLarge). What
        // follows is read and dropped until the connection closes.
        chunks.length = 0;
        resolve(TOO_LARGE);
      }
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'));
      } catch {
        resolve(null);
      }
    });
    req.on('error', () => resolve(null));
  });
}
