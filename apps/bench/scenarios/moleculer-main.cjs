'use strict';
// Moleculer 0.15 across two nodes through NATS, on this machine: a nats-server on a free
// loopback port and two broker processes (moleculer-node.cjs), node "callee" with service
// math.add and node "caller", which measures. The counterpart of nats-main.cjs (mob over NATS).
// Prints the caller's figures as one `@@bench` line once every process it started has exited.
const { fork } = require('node:child_process');
const { join } = require('node:path');
const lib = require('./lib.cjs');
const { MISSING, startNats } = require('./nats-server.cjs');

lib.config(); // fails early outside bench.mjs
const NODES = ['callee', 'caller'];

async function main() {
  const nats = await startNats();
  const nodes = {};
  try {
    const up = {};
    const result = await new Promise((resolve, reject) => {
      for (const role of NODES) {
        const child = fork(join(__dirname, 'moleculer-node.cjs'), {
          env: { ...process.env, NODE_ROLE: role, BENCH_NATS: nats.url },
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        const exited = new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })));
        nodes[role] = { child, exited };
        void exited.then(({ code, signal }) => {
          if (!nodes[role].stopping) reject(new Error(`broker ${role} exited (${signal ?? code}) before the end`));
        });
        child.on('message', (msg) => {
          if (!msg || typeof msg.bench !== 'string') return;
          if (msg.bench === 'error') reject(new Error(msg.error));
          else if (msg.bench === 'result') resolve(msg);
          else if (msg.bench === 'up') {
            up[role] = msg.pid;
            if (Object.keys(up).length === NODES.length) nodes.caller.child.send({ bench: 'start', others: { [nats.pid]: 'nats-server', [up.callee]: 'callee' } });
          }
        });
      }
    });
    for (const n of Object.values(nodes)) {
      n.stopping = true;
      n.child.send({ bench: 'stop' });
    }
    const timer = setTimeout(() => Object.values(nodes).forEach((n) => n.child.kill('SIGKILL')), 15_000);
    const exits = await Promise.all(Object.values(nodes).map((n) => n.exited));
    clearTimeout(timer);
    if (exits.some((e) => e.code !== 0)) throw new Error(`a broker did not stop cleanly: ${JSON.stringify(exits)}`);
    await nats.stop();
    const { cases, calls, served } = result;
    const pids = { bench: [process.pid], 'nats-server': [nats.pid], caller: [up.caller], callee: [up.callee] };
    await new Promise((resolve) => lib.emit({ impl: 'moleculer', cases, calls, served, pids }, resolve));
  } finally {
    // On a failure: every process this scenario started goes, whatever state it is in.
    for (const n of Object.values(nodes)) if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
    await Promise.all(Object.values(nodes).map((n) => n.exited));
    await nats.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    // A missing nats-server says only how to install it.
    process.stderr.write(`${err && err.message === MISSING ? MISSING : (err && err.stack) || err}\n`);
    process.exit(1);
  },
);
