'use strict';
// Moleculer 0.15 across two nodes through NATS, on this machine: a nats-server on a free
// loopback port and two broker processes (moleculer-node.cjs), node "callee" with service
// math.add and node "caller", which measures. The counterpart of nats-main.cjs (mob over NATS).
// Prints the caller's figures as one `@@bench` line once every process it started has exited.
const { join } = require('node:path');
const lib = require('./lib.cjs');
const { forkParts, killParts, runMain, startNats, stopParts } = require('./nats-server.cjs');

lib.config(); // fails early outside bench.mjs
const NODES = ['callee', 'caller'];

async function main() {
  const nats = await startNats();
  const nodes = {};
  try {
    const up = {};
    const specs = {};
    for (const role of NODES) specs[role] = { file: join(__dirname, 'moleculer-node.cjs'), env: { NODE_ROLE: role, BENCH_NATS: nats.url } };
    const result = await forkParts(nodes, specs, 'broker', (role, msg) => {
      up[role] = msg.pid;
      if (Object.keys(up).length === NODES.length) nodes.caller.child.send({ bench: 'start', others: { [nats.pid]: 'nats-server', [up.callee]: 'callee' } });
    });
    await stopParts(nodes, 'broker');
    await nats.stop();
    const { cases, calls, served } = result;
    const pids = { bench: [process.pid], 'nats-server': [nats.pid], caller: [up.caller], callee: [up.callee] };
    await new Promise((resolve) => lib.emit({ impl: 'moleculer', cases, calls, served, pids }, resolve));
  } finally {
    await killParts(nodes);
    await nats.stop();
  }
}

runMain(main);
