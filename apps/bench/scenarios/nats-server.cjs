'use strict';
// A real nats-server on a free loopback port, for the scenarios across hosts (mob over NATS,
// Moleculer). Where it is missing, the scenario fails with the command that installs it: it is
// never skipped.
const { spawn } = require('node:child_process');
const { accessSync, constants } = require('node:fs');
const { createServer } = require('node:net');
const { delimiter, join } = require('node:path');

const MISSING = 'nats-server is not installed: apt-get install -y nats-server';

/** The nats-server binary: on PATH, or where Debian puts it (/usr/sbin, not on every PATH). */
function natsServerBinary() {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin'];
  for (const dir of dirs) {
    const file = join(dir, 'nats-server');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  throw new Error(MISSING);
}

/** A loopback port nobody listens on (the server binds it right after: a race we accept). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts nats-server on a free loopback port and resolves once it says "Server is ready".
 * Returns `{ url, pid, stop() }`; `stop()` ends it (SIGTERM, SIGKILL after 3 s) and resolves
 * once it has exited.
 */
async function startNats() {
  const bin = natsServerBinary();
  const port = await freePort();
  const proc = spawn(bin, ['-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start within 10 s:\n${log}`)), 10_000);
    const onData = (chunk) => {
      // Keep the start-up log (for an error), and keep draining the pipes so it never blocks.
      if (log.length < 64 * 1024) log += chunk;
      if (/Server is ready/.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout.setEncoding('utf8').on('data', onData);
    proc.stderr.setEncoding('utf8').on('data', onData);
    proc.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`nats-server (${bin}) did not start: ${err.message}`));
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited (${signal ?? code}) before it was ready:\n${log}`));
    });
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    pid: proc.pid,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

module.exports = { natsServerBinary, startNats, MISSING };
