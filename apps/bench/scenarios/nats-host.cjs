'use strict';
// One host of the mob over NATS: a Kingpin (forked by nats-main.cjs) that joins the other
// host through the nats-server in MOB_NATS under the name MOB_HOST. Role "back" has
// BENCH_BACK workers here, role "driver" BENCH_DRIVER (0: the role runs on the other host).
// It tells nats-main.cjs when its own workers are ready and which processes they are; on the
// driver's host it answers the driver's CPU snapshots (of every process of the scenario, on
// both hosts) and passes the driver's figures on.
const cluster = require('node:cluster');
const lib = require('./lib.cjs');

// `node --cpu-prof` profiles the Kingpin only, unless bench.mjs asks for the workers too.
if (process.env.BENCH_PROFILE_WORKERS !== '1') {
  cluster.setupPrimary({ execArgv: process.execArgv.filter((a) => !a.startsWith('--cpu-prof')) });
}

const mob = require('mob');
const HOST = process.env.MOB_HOST;
const kingpin = mob
  .start('bench-nats', {
    // mob-nats's default, direct paths (each worker its own connection); NATS_DIRECT=0
    // (nats-kingpins): direct: false, every frame between the hosts through their Kingpins.
    nats: process.env.NATS_DIRECT === '0' ? { servers: process.env.MOB_NATS, direct: false } : process.env.MOB_NATS,
    host: HOST,
    ...(process.env.BENCH_WORKER_ARGS !== undefined ? { execArgv: process.env.BENCH_WORKER_ARGS.split(' ').filter(Boolean) } : {}),
    log: (line) => process.stderr.write(`[host ${HOST}] ${line}\n`),
  })
  .base(module)
  .role('back', './nats-back.cjs', { workers: Number(process.env.BENCH_BACK) })
  .role('driver', './nats-driver.cjs', { workers: Number(process.env.BENCH_DRIVER) });

/** The other processes of the scenario (nats-server, the other host's): pid → name. */
let others = {};
/** This host's processes and the others, by name (`kingpin a`, `back b`, `nats-server`...). */
function names() {
  const out = { [process.pid]: `kingpin ${HOST}` };
  for (const w of kingpin.workers()) out[w.pid] = `${w.role} ${HOST}`;
  return { ...out, ...others };
}
// CPU of every process around each timed pipelined phase: this Kingpin (the meter's primary),
// its workers, and the others nats-main.cjs named.
const meter = lib.cpuMeter(() => Object.keys(names()).map(Number).filter((pid) => pid !== process.pid));

function toMain(msg) {
  if (process.connected) process.send(msg);
}

cluster.on('message', (worker, msg) => {
  if (!msg || typeof msg.bench !== 'string') return;
  if (msg.bench === 'cpu') {
    const cpu = meter(msg.phase);
    if (cpu) {
      const byName = names();
      cpu.byName = Object.fromEntries(Object.entries(cpu.byPid).map(([pid, sec]) => [byName[pid] ?? pid, sec]));
    }
    worker.send({ bench: 'cpu', cpu });
  } else if (msg.bench === 'result' || msg.bench === 'error') toMain(msg);
});

process.on('message', (msg) => {
  if (!msg || typeof msg.bench !== 'string') return;
  if (msg.bench === 'start') {
    others = msg.others ?? {};
    const [driver] = kingpin.workers('driver');
    const worker = Object.values(cluster.workers).find((w) => w && w.process.pid === driver.pid);
    worker.send({ bench: 'start' });
  } else if (msg.bench === 'stop') void stop(0);
});

// A role that cannot load would be revived until the harness's timeout: fail at once instead.
kingpin.on('crash', (report) => {
  if (report.origin !== 'load') return;
  toMain({ bench: 'error', error: `host ${HOST}: role "${report.role}" failed to load: ${report.error.stack || report.error.message}` });
  void stop(1);
});

// This host's own workers are ready (a role with workers: 0 counts as full here).
kingpin.once('full', () => toMain({ bench: 'up', host: HOST, pids: names() }));

// Without nats-main.cjs (it died), nothing would stop this host.
process.on('disconnect', () => void stop(1));

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  await kingpin.stop();
  process.exit(code);
}
