'use strict';
// One Moleculer 0.15 broker of the Moleculer scenario (forked by moleculer-main.cjs), on the
// nats-server in BENCH_NATS with Moleculer's NATS transporter (the `nats` v2 client) and its
// defaults (JSON serializer, round-robin, no metrics, no tracing).
//   NODE_ROLE=callee: node "callee", service "math" with add({ a, b }) and where().
//   NODE_ROLE=caller: node "caller"; on "start" it waits for service math, then measures
//   broker.call('math.add', { a: 1, b: 2 }) one at a time and with 1000 in flight, with CPU
//   snapshots of every process of the scenario around the timed pipelined phase.
const { ServiceBroker } = require('moleculer');
const lib = require('./lib.cjs');

const ROLE = process.env.NODE_ROLE;
const cfg = lib.config();
const broker = new ServiceBroker({ nodeID: ROLE, namespace: 'bench', transporter: process.env.BENCH_NATS, logger: false });

if (ROLE === 'callee') {
  let served = 0;
  broker.createService({
    name: 'math',
    actions: {
      add(ctx) {
        served++;
        return ctx.params.a + ctx.params.b;
      },
      where() {
        return { nodeID: broker.nodeID, pid: process.pid, served };
      },
    },
  });
}

process.on('message', (msg) => {
  if (!msg || typeof msg.bench !== 'string') return;
  if (msg.bench === 'start') {
    measure(msg.others).then(
      (result) => process.send({ bench: 'result', ...result }),
      (err) => process.send({ bench: 'error', error: String((err && err.stack) || err) }),
    );
  } else if (msg.bench === 'stop') void stop(0);
});
process.on('disconnect', () => void stop(1));

broker.start().then(
  () => process.send({ bench: 'up', pid: process.pid }),
  (err) => {
    process.send({ bench: 'error', error: `broker ${ROLE} did not start: ${(err && err.stack) || err}` });
    void stop(1);
  },
);

/** The caller's side: `others` names the other processes (pid → name) for the CPU figures. */
async function measure(others) {
  await broker.waitForServices('math', 20_000);
  const first = await broker.call('math.where');
  if (first.nodeID !== 'callee') throw new Error(`math.where answered by node ${first.nodeID}, not "callee"`);
  const names = { [process.pid]: 'caller', ...others };
  // This process is the meter's primary: it reads its own CPU, and the others' from /proc.
  const meter = lib.cpuMeter(() => Object.keys(others).map(Number));
  const probe = {
    ask: async (phase) => {
      const cpu = meter(phase);
      if (cpu) cpu.byName = Object.fromEntries(Object.entries(cpu.byPid).map(([pid, sec]) => [names[pid] ?? pid, sec]));
      return cpu;
    },
  };
  let calls = 0;
  const add = () => {
    calls++;
    return broker.call('math.add', { a: 1, b: 2 });
  };
  const cases = await lib.runCases(
    cfg,
    [
      { name: 'lat', kind: 'latency', call: add, expected: 3 },
      { name: 'pipe', kind: 'pipelined', call: add, expected: 3, window: cfg.window },
    ],
    probe,
  );
  const last = await broker.call('math.where');
  return { cases, calls, served: { [last.nodeID]: last.served - first.served } };
}

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  await broker.stop().catch(() => {});
  process.exit(code);
}
