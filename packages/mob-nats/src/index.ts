/**
 * mob-nats: one mob over many hosts. Kingpins that give the same app name and the same NATS
 * server form one mob: each is a host; calls, callbacks and messages cross between hosts, and
 * heartbeats tell when a host is lost. `mob` loads this package when `start(name, { nats })`
 * or `MOB_NATS` is set.
 */
import type { Kingpin } from 'mob-kingpin';
import { Bridge } from './bridge.js';
import { resolveOptions, type NatsOptions } from './options.js';

export { Bridge, HOSTS_VERSION, subjects } from './bridge.js';
export { direct } from './worker.js';
export { resolveOptions, DEFAULT_HEARTBEAT, DEFAULT_LOST_AFTER, type NatsOptions, type Resolved } from './options.js';

/**
 * Joins a Kingpin to its app's other hosts through a NATS server. Call it right after
 * `createKingpin()`, before the Kingpin starts (mob's `start()` does, for the `nats` option).
 * It connects in the background, retrying without a limit: the host's own roles run at once.
 *
 * @example
 * const { createKingpin } = require('mob-kingpin');
 * const { join } = require('mob-nats');
 * const kingpin = createKingpin('shop', { host: 'a' });
 * join(kingpin, 'nats://10.0.0.5:4222');
 */
export function join(kingpin: Kingpin, nats: string | NatsOptions, log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Bridge {
  const bridge = new Bridge(kingpin, resolveOptions(nats), log);
  bridge.start();
  return bridge;
}
