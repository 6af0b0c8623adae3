'use strict';
// What the scenarios across hosts (mob over NATS, Moleculer) share: a real nats-server on a
// free loopback port, and the processes of a scenario (each host or broker its own process).
// Where nats-server is missing, the scenario fails with the command that installs it: it is
// never skipped.
const { fork, spawn } = require('node:child_process');
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

/**
 * Forks the processes of a scenario into `parts` (by name: `file`, and `env` over this
 * process's). Resolves with the first `result` message one of them sends; rejects on an
 * `error` message, or when one exits before stopParts(). `onUp(name, msg)` hears their `up`
 * messages. `what` names a part in errors ('host', 'broker').
 */
function forkParts(parts, specs, what, onUp) {
  return new Promise((resolve, reject) => {
    for (const [name, { file, env }] of Object.entries(specs)) {
      const child = fork(file, { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const exited = new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })));
      parts[name] = { child, exited, stopping: false };
      void exited.then(({ code, signal }) => {
        if (!parts[name].stopping) reject(new Error(`${what} ${name} exited (${signal ?? code}) before the end`));
      });
      child.on('message', (msg) => {
        if (!msg || typeof msg.bench !== 'string') return;
        if (msg.bench === 'error') reject(new Error(msg.error));
        else if (msg.bench === 'result') resolve(msg);
        else if (msg.bench === 'up') onUp(name, msg);
      });
    }
  });
}

/** Asks every part to stop (SIGKILL after 15 s); throws unless each exited 0. */
async function stopParts(parts, what) {
  for (const p of Object.values(parts)) {
    p.stopping = true;
    p.child.send({ bench: 'stop' });
  }
  const timer = setTimeout(() => {
    for (const p of Object.values(parts)) p.child.kill('SIGKILL');
  }, 15_000);
  const exits = await Promise.all(Object.values(parts).map((p) => p.exited));
  clearTimeout(timer);
  if (exits.some((e) => e.code !== 0)) throw new Error(`a ${what} did not stop cleanly: ${JSON.stringify(exits)}`);
}

/** On a failure: every part goes, whatever state it is in. */
async function killParts(parts) {
  for (const p of Object.values(parts)) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(Object.values(parts).map((p) => p.exited));
}

/** Runs a scenario's main(): exit 0, or 1 with the error (a missing nats-server says only how to install it). */
function runMain(main) {
  main().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`${err && err.message === MISSING ? MISSING : (err && err.stack) || err}\n`);
      process.exit(1);
    },
  );
}

module.exports = { natsServerBinary, startNats, forkParts, stopParts, killParts, runMain, MISSING };
