import { readFileSync } from 'node:fs';
import { ConfigError } from 'mob-messaging';
import { client } from './client.js';

/**
 * The `nats` option of `start()`: a server URL (or several, comma-separated), or the NATS
 * client's connection options, passed through to `@nats-io/transport-node`'s `connect()`,
 * with mob's own timing options beside them.
 */
export interface NatsOptions {
  /** `nats://host:4222`, or several: the servers of one NATS cluster (default `nats://127.0.0.1:4222`). */
  servers?: string | string[];
  /** user and password */
  user?: string;
  pass?: string;
  /** an authentication token */
  token?: string;
  /** an NKey seed (`SU...`): authenticates with the NKey */
  nkey?: string;
  /** a credentials file (`.creds`, a JWT and its NKey seed) */
  credentials?: string;
  /** TLS options of the client (`{ caFile, certFile, keyFile }`, ...), passed through */
  tls?: Record<string, unknown> | null;
  /** ms between two heartbeats of this host (default 1,000) */
  heartbeat?: number;
  /** ms without a heartbeat after which another host is lost (default 3,000) */
  lostAfter?: number;
  /** ms between two reconnection attempts (default 500; the client retries without a limit) */
  reconnectTimeWait?: number;
  /**
   * `true` (the default): each worker holds its own connection to the server, and its calls
   * to other hosts' workers go straight to them (about 4× the calls/s and a third of the
   * latency of `false`). `false`: every frame between hosts goes through the two Kingpins
   * (one connection per host).
   */
  direct?: boolean;
  /** any other option of the NATS client's `connect()`, passed through */
  [option: string]: unknown;
}

/** Heartbeat and loss defaults. */
export const DEFAULT_HEARTBEAT = 1000;
export const DEFAULT_LOST_AFTER = 3000;

/** The options as the bridge uses them: the client's, and mob's timings. */
export interface Resolved {
  connect: Record<string, unknown>;
  heartbeat: number;
  lostAfter: number;
  /** the servers, for log lines (no credentials) */
  where: string;
  /** workers connect too (the `direct` option) */
  direct: boolean;
  /** the option as given, without mob's timings: what workers connect with */
  given: string | Record<string, unknown>;
}

/**
 * Checks the `nats` option (or `MOB_NATS`) and makes the client's connection options: the
 * client reconnects without a limit, and waits for a server that is not up yet.
 *
 * @example
 * resolveOptions('nats://10.0.0.5:4222').connect; // { servers: ['nats://10.0.0.5:4222'], maxReconnectAttempts: -1, ... }
 */
export function resolveOptions(nats: string | NatsOptions, where = 'start(name, { nats })'): Resolved {
  const given: NatsOptions = typeof nats === 'string' ? { servers: nats } : nats;
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    throw new ConfigError(`${where}: use a server URL ('nats://host:4222') or the client's options ({ servers, user, pass, ... }), got ${JSON.stringify(nats)}`);
  }
  const { heartbeat = DEFAULT_HEARTBEAT, lostAfter = DEFAULT_LOST_AFTER, direct = true, nkey, credentials, servers, ...rest } = given;
  if (typeof direct !== 'boolean') throw new ConfigError(`${where}: direct must be true or false, got ${JSON.stringify(direct)}`);
  const list = typeof servers === 'string' ? servers.split(',').map((s) => s.trim()).filter(Boolean) : servers;
  if (list !== undefined && !(Array.isArray(list) && list.length > 0 && list.every((s) => typeof s === 'string' && s !== ''))) {
    throw new ConfigError(`${where}: servers must be a URL or a list of URLs ('nats://host:4222'), got ${JSON.stringify(servers)}`);
  }
  for (const [key, v, min] of [['heartbeat', heartbeat, 50], ['lostAfter', lostAfter, 100]] as const) {
    if (!(Number.isFinite(v) && v >= min)) throw new ConfigError(`${where}: ${key} must be a number of ms >= ${min}, got ${JSON.stringify(v)}`);
  }
  if (lostAfter <= heartbeat) {
    throw new ConfigError(`${where}: lostAfter (${lostAfter} ms) must be longer than heartbeat (${heartbeat} ms); 3 heartbeats is usual`);
  }
  const connect: Record<string, unknown> = {
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    ...rest,
    ...(list ? { servers: list } : {}),
  };
  if (nkey !== undefined || credentials !== undefined) {
    // The authenticators come with the client, which is loaded only now.
    const nats = client();
    if (typeof nkey === 'string') connect.authenticator = nats.nkeyAuthenticator(new TextEncoder().encode(nkey));
    else if (typeof credentials === 'string') {
      let creds: Uint8Array;
      try {
        creds = readFileSync(credentials);
      } catch (err) {
        throw new ConfigError(`${where}: cannot read the credentials file ${credentials} (${(err as Error).message})`);
      }
      connect.authenticator = nats.credsAuthenticator(creds);
    } else throw new ConfigError(`${where}: nkey must be an NKey seed string and credentials a file path`);
  }
  const { heartbeat: _h, lostAfter: _l, direct: _d, ...plain } = given;
  return { connect, heartbeat, lostAfter, direct, given: typeof nats === 'string' ? nats : plain, where: (list ?? ['nats://127.0.0.1:4222']).map(redact).join(',') };
}

/** A server URL without its user and password. */
function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}
