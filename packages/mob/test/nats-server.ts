// A real nats-server on a free loopback port, for the multi-host tests. Where it is missing,
// the tests fail with the command that installs it: they are never skipped.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
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

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Starts nats-server on `port` (a free one by default) and resolves once it accepts clients. */
export async function startNats(port?: number, config?: string): Promise<NatsServer> {
  const bin = natsServerBinary();
  const p = port ?? (await freePort());
  // `config`: lines of a configuration file (for what has no flag, as max_payload).
  const conf = config === undefined ? [] : ['-c', writeConfig(config)];
  const proc = spawn(bin, ['-a', '127.0.0.1', '-p', String(p), ...conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start within 10 s:\n${log}`)), 10_000);
    const onData = (c: Buffer): void => {
      log += c.toString();
      if (/Server is ready/.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited (${code}):\n${log}`));
    });
  });
  proc.removeAllListeners('exit');
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
