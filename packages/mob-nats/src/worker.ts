import { debuglog } from 'node:util';
import { connectRemote, interruptRemote, type RemoteFrame, type RemoteWire } from 'mob-messaging';
import { client } from './client.js';
import { resolveOptions } from './options.js';
import { subjects } from './bridge.js';

const debug = debuglog('mob');

let started = false;
/** ms after a reconnection before direct paths are used again, at least (3 x reconnectTimeWait if more). */
const RECONNECT_GRACE_MS = 1_500;
/** Subjects of one host's workers kept at once. */
const MAX_SUBJECTS = 4096;

/**
 * Connects this worker to the NATS server the Kingpin told it about (mob's worker entry
 * calls it on the Kingpin's Remote frame): the worker subscribes to its own subject,
 * `mob.<app>.w.<host>.<pid>`, and its calls to other hosts' workers, and its answers and
 * callback invocations to them, go directly instead of through the two Kingpins. Until it is
 * connected, and while the server is away, they go through the Kingpin.
 *
 * @example
 * const { direct } = require('mob-nats');
 * transport().handle(Kind.Remote, (frame) => direct(frame));
 */
export function direct(fr: RemoteFrame): void {
  // One connection per worker, whatever comes.
  if (started) return;
  if (typeof fr.a !== 'string' || typeof fr.h !== 'string' || (typeof fr.o !== 'string' && (typeof fr.o !== 'object' || fr.o === null))) return;
  let options: ReturnType<typeof resolveOptions>;
  try {
    options = resolveOptions(fr.o as string | Record<string, unknown>, 'the Kingpin\'s nats option');
  } catch (err) {
    debug('remote: no direct path (%s)', (err as Error).message);
    return;
  }
  started = true;
  const subject = subjects(fr.a);
  const host = fr.h;
  // Each peer's subject, made once (the peers a worker knows are bounded by mob-messaging).
  const made = new Map<string, Map<number, string>>();
  const subjectOf = (h: string, pid: number): string => {
    let byPid = made.get(h);
    if (!byPid) made.set(h, (byPid = new Map()));
    let s = byPid.get(pid);
    if (s === undefined) {
      if (byPid.size >= MAX_SUBJECTS) byPid.clear();
      byPid.set(pid, (s = subject.worker(h, pid)));
    }
    return s;
  };
  let connected = false;
  const { connect } = client();
  connect({ name: `mob ${fr.a} ${fr.h} ${process.pid}`, noEcho: true, ...options.connect }).then(
    (nc) => {
      const wire: RemoteWire = {
        get connected() {
          return connected && !nc.isClosed();
        },
        // The server's, read at each use: after a reconnection it may be another's.
        get maxPayload() {
          return nc.info?.max_payload ?? 1024 * 1024;
        },
        publish(host, pid, body) {
          try {
            // Bytes from Buffer's pool: no ArrayBuffer of its own per batch, as a string's encoding would make.
            nc.publish(subjectOf(host, pid), Buffer.from(body));
            return true;
          } catch (err) {
            debug('remote: not published to %s/%d: %s', host, pid, (err as Error).message);
            return false;
          }
        },
        flush: () => nc.flush(),
      };
      let receive: (text: string) => void = () => {};
      nc.subscribe(subject.worker(host, process.pid), {
        callback: (_err, msg) => {
          // The client hands a view of its read buffer: decoded by Buffer's own UTF-8 (cheaper
          // per message than the client's TextDecoder).
          const data = msg.data;
          receive(Buffer.isBuffer(data) ? data.toString() : msg.string());
        },
      });
      connected = true;
      // Once the server has the subscription, the other hosts may send here.
      void nc.flush().then(
        () => (receive = connectRemote(wire)),
        (err: Error) => debug('remote: not subscribed (%s); calls go through the Kingpin', err.message),
      );
      // After a reconnection, direct paths wait a while before they are used again: the other
      // workers reconnect on their own schedule, and a batch published to one that has not
      // subscribed again is lost (its calls were never answered). Meanwhile they go through
      // the Kingpins.
      const grace = Math.max(RECONNECT_GRACE_MS, 3 * (Number(options.connect.reconnectTimeWait) || 500));
      let epoch = 0;
      void (async () => {
        for await (const s of nc.status()) {
          if (s.type === 'disconnect') {
            connected = false;
            epoch++;
            // What was in flight to other hosts' workers, or on its way back, may be lost.
            interruptRemote('this worker lost the NATS server; the call may have run');
          } else if (s.type === 'reconnect') {
            const mine = ++epoch;
            nc.flush().then(
              () => setTimeout(() => epoch === mine && (connected = true), grace).unref(),
              () => {},
            );
          }
        }
      })().catch(() => {});
    },
    (err: Error) => debug('remote: cannot connect to NATS at %s (%s); calls go through the Kingpin', options.where, err.message),
  );
}
