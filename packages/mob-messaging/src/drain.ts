import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import { LINK_SERVER } from './link.js';

/**
 * Stops this worker's servers without dropping a request: each stops accepting (cluster
 * hands new connections to the other workers), answers what is in flight, and tells
 * keep-alive clients to reconnect (`Connection: close`) rather than cutting their sockets
 * under them, which is how reloads drop requests. A keep-alive socket is closed only once it
 * has been idle for `idleGraceMs`: a busy client sends on it sooner and gets its answer.
 * Resolves when every server has closed.
 */
export function drainServers(idleGraceMs = 1_000): Promise<void> {
  const getHandles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles;
  for (const h of getHandles?.call(process) ?? []) if (h instanceof NetServer) served.add(h);
  const servers = [...served].filter((s) => s.listening && !(s as { [LINK_SERVER]?: true })[LINK_SERVER]);
  served.clear();
  return Promise.all(servers.map((server) => drainServer(server, idleGraceMs))).then(() => undefined);
}

// Servers that listened or accepted a connection in this worker. A cluster worker's server
// holds no handle of its own (the primary accepts), so this is how they are found at shutdown.
const served = new Set<NetServer>();
let tracking = false;

/** Starts noting the servers of this process as they accept connections. */
export function trackServers(): void {
  if (tracking) return;
  tracking = true;
  subscribe('net.server.socket', (message) => {
    const server = (message as { socket?: { server?: unknown } }).socket?.server;
    if (server instanceof NetServer) served.add(server);
  });
  // A server that has not accepted a connection yet (one that just started listening) must
  // close too, or it takes every new connection once the others have closed. Node 20.20, 22
  // and 24 publish each listen() here.
  subscribe('tracing:net.server.listen:asyncStart', (message) => {
    const server = (message as { server?: unknown }).server;
    if (server instanceof NetServer) served.add(server);
  });
}

const LAST_USE = Symbol('mob.lastUse');
type Tracked = Socket & { [LAST_USE]?: number };

function drainServer(server: NetServer, idleGraceMs: number): Promise<void> {
  return new Promise((resolve) => {
    server.once('close', () => resolve());
    // An http(s) server (duck-typed: node:http stays unloaded where no server is).
    if (typeof (server as Partial<HttpServer>).closeIdleConnections === 'function') {
      const http = server as HttpServer;
      const since = Date.now();
      http.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
        res.shouldKeepAlive = false;
        (req.socket as Tracked)[LAST_USE] = Date.now();
      });
      const idle = idleConnections(http);
      const timer = setInterval(() => {
        if (!idle) return http.closeIdleConnections();
        const now = Date.now();
        for (const socket of idle() as Tracked[]) {
          // Node's "idle" list holds a connection whose request is in but not yet answered:
          // that one closes after its answer (no keep-alive now), as closeIdleConnections does.
          const res = (socket as { _httpMessage?: { finished?: boolean } })._httpMessage;
          if (res && !res.finished) continue;
          if (now - (socket[LAST_USE] ?? since) >= idleGraceMs) socket.destroy();
        }
      }, Math.max(50, idleGraceMs / 4));
      timer.unref();
      server.once('close', () => clearInterval(timer));
    }
    // net's close, not http's: http's would cut every idle keep-alive socket at once.
    NetServer.prototype.close.call(server);
  });
}

/** The idle keep-alive sockets of an http server (Node keeps them in an internal list). */
function idleConnections(server: HttpServer): (() => Socket[]) | undefined {
  const key = Object.getOwnPropertySymbols(server).find((s) => s.description === 'http.server.connections');
  const list = key ? (server as unknown as Record<symbol, { idle?: () => unknown[] }>)[key] : undefined;
  if (typeof list?.idle !== 'function') return undefined;
  return () => (list.idle!() as { socket?: Socket }[]).map((c) => c.socket ?? (c as unknown as Socket)).filter((s) => typeof s?.destroy === 'function');
}
