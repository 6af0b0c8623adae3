'use strict';
// The mob scenarios' main script: the Kingpin, with role "back" (2 workers) and role "driver"
// (1 worker, the caller). Prints the driver's figures as one `@@bench` line, then stops.
// MOB_LINKS=0 starts mob with `links: false`: every call goes through the Kingpin (routed);
// otherwise mob's default, direct links between workers. MOB_BENCH_BACK=1: role "back" has one
// worker (the driver's calls need not take turns).
const cluster = require('node:cluster');
const lib = require('./lib.cjs');

// `node --cpu-prof` profiles the Kingpin only, unless bench.mjs asks for the workers too.
if (process.env.BENCH_PROFILE_WORKERS !== '1') {
  cluster.setupPrimary({ execArgv: process.execArgv.filter((a) => !a.startsWith('--cpu-prof')) });
}

const mob = require('mob');
const LINKS = process.env.MOB_LINKS !== '0';
const BACK = Number(process.env.MOB_BENCH_BACK ?? 2);
const kingpin = mob
  .start('bench', {
    log: (line) => process.stderr.write(`${line}\n`),
    ...(process.env.BENCH_WORKER_ARGS !== undefined ? { execArgv: process.env.BENCH_WORKER_ARGS.split(' ').filter(Boolean) } : {}),
    ...(LINKS ? {} : { links: false }),
    // MOB_BENCH_STATS=0: the workers time no call and report no figures (metrics off).
    ...(process.env.MOB_BENCH_STATS === '0' ? { stats: false } : {}),
  })
  .base(module)
  .role('back', './mob-back.cjs', { workers: BACK })
  .role('driver', './mob-driver.cjs', { workers: 1 });

// CPU of every process (this Kingpin and its 3 workers) around each timed pipelined phase.
const meter = lib.cpuMeter(() => kingpin.workers().map((w) => w.pid));

cluster.on('message', (worker, msg) => {
  if (!msg || typeof msg.bench !== 'string') return;
  if (msg.bench === 'cpu') worker.send({ bench: 'cpu', cpu: meter(msg.phase) });
  else if (msg.bench === 'result') void finish({ impl: LINKS ? (BACK === 1 ? 'mob-links-1' : 'mob-links') : 'mob-routed', cases: msg.cases, links: msg.links, pids: pids() }, 0);
  else if (msg.bench === 'error') {
    process.stderr.write(`driver failed: ${msg.error}\n`);
    void finish(null, 1);
  }
});

// A role that cannot load would be revived until the harness's timeout: fail at once instead.
kingpin.on('crash', (report) => {
  if (report.origin !== 'load') return;
  process.stderr.write(`role "${report.role}" failed to load: ${report.error.stack || report.error.message}\n`);
  void finish(null, 1);
});

kingpin.once('full', () => {
  const [driver] = kingpin.workers('driver');
  const worker = Object.values(cluster.workers).find((w) => w && w.process.pid === driver.pid);
  worker.send({ bench: 'start' });
});

/** Which process is which, to name the profiles. */
function pids() {
  const out = { kingpin: [process.pid] };
  for (const w of kingpin.workers()) (out[w.role] ??= []).push(w.pid);
  return out;
}

let finishing = false;
async function finish(result, code) {
  if (finishing) return;
  finishing = true;
  if (result) await new Promise((resolve) => lib.emit(result, resolve));
  await kingpin.stop();
  process.exit(code);
}
