'use strict';
// The mob scenarios' main script: the Kingpin, with role "back" (2 workers) and role "driver"
// (1 worker, the caller). Prints the driver's figures as one `@@bench` line, then stops.
const cluster = require('node:cluster');
const lib = require('./lib.cjs');

// `node --cpu-prof` profiles the Kingpin only, unless bench.mjs asks for the workers too.
if (process.env.BENCH_PROFILE_WORKERS !== '1') {
  cluster.setupPrimary({ execArgv: process.execArgv.filter((a) => !a.startsWith('--cpu-prof')) });
}

const mob = require('mob');
const kingpin = mob
  .start('bench', { log: (line) => process.stderr.write(`${line}\n`) })
  .base(module)
  .role('back', './mob-back.cjs', { workers: 2 })
  .role('driver', './mob-driver.cjs', { workers: 1 });

cluster.on('message', (_worker, msg) => {
  if (!msg || typeof msg.bench !== 'string') return;
  if (msg.bench === 'result') void finish({ impl: 'mob', cases: msg.cases, pids: pids() }, 0);
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
