'use strict';
// mob across two hosts through NATS, on this machine: a nats-server on a free loopback port
// and two Kingpins of app "bench-nats" (nats-host.cjs), each its own process, host "a" and
// host "b". Host a runs the driver (1 worker); host b runs role "back" (1 worker). With
// NATS_LOCAL=1 (nats-local), host a runs a back worker too: prefer-local (the default) keeps
// the driver's calls on host a. Prints the driver's figures as one `@@bench` line once every
// process it started has exited.
const { fork } = require('node:child_process');
const { join } = require('node:path');
const lib = require('./lib.cjs');
const { MISSING, startNats } = require('./nats-server.cjs');

lib.config(); // fails early outside bench.mjs
const LOCAL = process.env.NATS_LOCAL === '1';
const HOSTS = { a: { driver: 1, back: LOCAL ? 1 : 0 }, b: { driver: 0, back: 1 } };

async function main() {
  const nats = await startNats();
  const hosts = {};
  try {
    const up = {};
    let result;
    await new Promise((resolve, reject) => {
      for (const [name, roles] of Object.entries(HOSTS)) {
        const child = fork(join(__dirname, 'nats-host.cjs'), {
          env: { ...process.env, MOB_NATS: nats.url, MOB_HOST: name, BENCH_DRIVER: String(roles.driver), BENCH_BACK: String(roles.back) },
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        const exited = new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })));
        hosts[name] = { child, exited };
        void exited.then(({ code, signal }) => {
          if (!hosts[name].stopping) reject(new Error(`host ${name} exited (${signal ?? code}) before the end`));
        });
        child.on('message', (msg) => {
          if (!msg || typeof msg.bench !== 'string') return;
          if (msg.bench === 'error') reject(new Error(msg.error));
          else if (msg.bench === 'result') {
            result = msg;
            resolve();
          } else if (msg.bench === 'up') {
            up[name] = msg.pids;
            if (Object.keys(up).length === Object.keys(HOSTS).length) {
              // Host a meters every process of the scenario: its own, and these.
              const others = { [nats.pid]: 'nats-server', ...up.b };
              hosts.a.child.send({ bench: 'start', others });
            }
          }
        });
      }
    });
    await stopHosts(hosts);
    await nats.stop();
    const pids = { bench: [process.pid], 'nats-server': [nats.pid] };
    for (const map of Object.values(up)) for (const [pid, name] of Object.entries(map)) (pids[name] ??= []).push(Number(pid));
    const { cases, calls, served, backWorkers, links, host } = result;
    await new Promise((resolve) => lib.emit({ impl: LOCAL ? 'nats-local' : 'nats-mob', cases, calls, served, backWorkers, links, host, pids }, resolve));
  } finally {
    // On a failure: every process this scenario started goes, whatever state it is in.
    for (const h of Object.values(hosts)) if (h.child.exitCode === null && h.child.signalCode === null) h.child.kill('SIGKILL');
    await Promise.all(Object.values(hosts).map((h) => h.exited));
    await nats.stop();
  }
}

/** Stops host a (the driver) and host b; each Kingpin stops its workers, says goodbye on NATS and exits. */
async function stopHosts(hosts) {
  for (const h of Object.values(hosts)) {
    h.stopping = true;
    h.child.send({ bench: 'stop' });
  }
  const timer = setTimeout(() => {
    for (const h of Object.values(hosts)) h.child.kill('SIGKILL');
  }, 15_000);
  const exits = await Promise.all(Object.values(hosts).map((h) => h.exited));
  clearTimeout(timer);
  const bad = exits.filter((e) => e.code !== 0);
  if (bad.length) throw new Error(`a host did not stop cleanly: ${JSON.stringify(exits)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    // A missing nats-server says only how to install it.
    process.stderr.write(`${err && err.message === MISSING ? MISSING : (err && err.stack) || err}\n`);
    process.exit(1);
  },
);
