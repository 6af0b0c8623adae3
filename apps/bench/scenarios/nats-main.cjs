'use strict';
// mob across two hosts through NATS, on this machine: a nats-server on a free loopback port
// and two Kingpins of app "bench-nats" (nats-host.cjs), each its own process, host "a" and
// host "b". Host a runs the driver (1 worker); host b runs role "back" (1 worker). With
// NATS_LOCAL=1 (nats-local), host a runs a back worker too: prefer-local (the default) keeps
// the driver's calls on host a. Prints the driver's figures as one `@@bench` line once every
// process it started has exited.
const { join } = require('node:path');
const lib = require('./lib.cjs');
const { forkParts, killParts, runMain, startNats, stopParts } = require('./nats-server.cjs');

lib.config(); // fails early outside bench.mjs
const LOCAL = process.env.NATS_LOCAL === '1';
const HOSTS = { a: { driver: 1, back: LOCAL ? 1 : 0 }, b: { driver: 0, back: 1 } };

async function main() {
  const nats = await startNats();
  const hosts = {};
  try {
    const up = {};
    const specs = {};
    for (const [name, roles] of Object.entries(HOSTS)) {
      specs[name] = {
        file: join(__dirname, 'nats-host.cjs'),
        env: { MOB_NATS: nats.url, MOB_HOST: name, BENCH_DRIVER: String(roles.driver), BENCH_BACK: String(roles.back) },
      };
    }
    const result = await forkParts(hosts, specs, 'host', (name, msg) => {
      up[name] = msg.pids;
      if (Object.keys(up).length === Object.keys(HOSTS).length) {
        // Host a meters every process of the scenario: its own, and these.
        const others = { [nats.pid]: 'nats-server', ...up.b };
        hosts.a.child.send({ bench: 'start', others });
      }
    });
    // Host a (the driver) and host b: each Kingpin stops its workers, says goodbye on NATS and exits.
    await stopParts(hosts, 'host');
    await nats.stop();
    const pids = { bench: [process.pid], 'nats-server': [nats.pid] };
    for (const map of Object.values(up)) for (const [pid, name] of Object.entries(map)) (pids[name] ??= []).push(Number(pid));
    const { cases, calls, served, backWorkers, links, host } = result;
    await new Promise((resolve) => lib.emit({ impl: LOCAL ? 'nats-local' : 'nats-mob', cases, calls, served, backWorkers, links, host, pids }, resolve));
  } finally {
    await killParts(hosts);
    await nats.stop();
  }
}

runMain(main);
