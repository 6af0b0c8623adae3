// A real nats-server on a free loopback port, for the multi-host tests. Where it is missing,
// the tests fail with the command that installs it: they are never skipped.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from '../../mob-messaging/test/harness.js';

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly proc: ChildProcess;
  /** kill it (SIGKILL) and wait until it is gone */
  kill(): Promise<void>;
}

const servers: NatsServer[] = [];

export function natsServerBinary(): string {
  const found = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).stdout.trim();
  if (!found) {
    throw new Error('nats-server is not installed; these tests need a real one: apt-get install -y nats-server (Debian/Ubuntu), or see https://docs.nats.io/running-a-nats-service/introduction/installation');
  }
  return found;
}

/**
 * A free loopback port below the kernel's range of ephemeral ports: a server restarted on it
 * cannot find it taken by a client's own outgoing connection (a client that reconnects to a
 * port nobody listens on can, rarely, be given that very port and connect to itself).
 */
export async function freePort(): Promise<number> {
  let low = 32768;
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    // not Linux: the usual range
  }
  for (let i = 0; i < 50 && low > 11000; i++) {
    const port = 10000 + Math.floor(Math.random() * (low - 11000));
    if (await listens(port)) return port;
  }
  return listens(0);
}

/** Binds `port` on 127.0.0.1 and lets it go: the port bound, or 0 when it was taken. */
function listens(port: number): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.on('error', () => resolve(0));
    srv.listen(port, '127.0.0.1', () => {
      const bound = (srv.address() as { port: number }).port;
      srv.close(() => resolve(bound));
    });
  });
}

/** Starts nats-server on `port` (a free one by default) and resolves once it accepts clients. */
export async function startNats(port?: number, config?: string): Promise<NatsServer> {
  const bin = natsServerBinary();
  const p = port ?? (await freePort());
  // `config`: lines of a configuration file (for what has no flag, as max_payload).
  const conf = config === undefined ? [] : ['-c', writeConfig(config)];
  // A port just let go of may still be held for a moment (a client's socket on it, see
  // freePort): a start that finds it in use tries again, for 5 s.
  let proc: ChildProcess;
  for (const until = Date.now() + 5000; ; ) {
    const started = await launch(bin, p, conf);
    if (started.ok) {
      proc = started.proc;
      break;
    }
    if (!/address already in use/i.test(started.log) || Date.now() > until) throw new Error(started.log);
    await new Promise((r) => setTimeout(r, 100));
  }
  const exited = new Promise<void>((resolve) => (proc.exitCode !== null ? resolve() : proc.once('exit', () => resolve())));
  const server: NatsServer = {
    url: `nats://127.0.0.1:${p}`,
    port: p,
    proc,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
      if (isAlive(proc.pid!)) throw new Error(`nats-server ${proc.pid} is still alive`);
    },
  };
  servers.push(server);
  return server;
}

/** One start of nats-server on `port`: the process once it accepts clients, or why it did not. */
function launch(bin: string, port: number, conf: string[]): Promise<{ ok: true; proc: ChildProcess } | { ok: false; log: string }> {
  const proc = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), ...conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      resolve({ ok: false, log: `nats-server did not start within 10 s:\n${log}` });
    }, 10_000);
    const onData = (c: Buffer): void => {
      log += c.toString();
      if (/Server is ready/.test(log)) {
        clearTimeout(timer);
        proc.removeAllListeners('exit');
        resolve({ ok: true, proc });
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ ok: false, log: `nats-server exited (${code}):\n${log}` });
    });
  });
}

/** Kills every nats-server a test started. */
export async function stopNats(): Promise<void> {
  await Promise.all(servers.splice(0).map((s) => s.kill()));
}

/** A nats-server configuration file with `text`, in a folder of its own under the system's temporary folder. */
function writeConfig(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'mob-nats-conf-')), 'nats.conf');
  writeFileSync(file, `${text}\n`);
  return file;
}
