'use strict';
// Time until 8 workers are ready under the Kingpin (a role with 8 workers, until ready()
// resolves on 'full'), counted from the top of this script, mob's require included; then
// the Kingpin's RSS while the 8 workers sit idle.
const { performance } = require('node:perf_hooks');

const t0 = performance.now();
const lib = require('./lib.cjs');
const mob = require('mob');

const cfg = lib.config();
const WORKERS = 8;
const kingpin = mob.start('benchready', process.env.BENCH_WORKER_ARGS !== undefined ? { execArgv: process.env.BENCH_WORKER_ARGS.split(' ').filter(Boolean) } : {}).base(module).role('idle', './idle-worker.cjs', { workers: WORKERS });

kingpin.ready().then(async () => {
  const ms = performance.now() - t0;
  const workers = kingpin.workers('idle').filter((w) => w.state === 'ready').length;
  const mib = await lib.idleRss(cfg.idleMs);
  const alive = kingpin.workers().length;
  await finish({ impl: 'mob', cases: { ready: { ms, workers }, rss: { mib, workers: alive } } }, 0);
});

// A role that cannot load would be revived until the harness's timeout: fail at once instead.
kingpin.on('crash', (report) => {
  if (report.origin !== 'load') return;
  process.stderr.write(`role "${report.role}" failed to load: ${report.error.stack || report.error.message}\n`);
  void finish(null, 1);
});

let finishing = false;
async function finish(result, code) {
  if (finishing) return;
  finishing = true;
  if (result) await new Promise((resolve) => lib.emit(result, resolve));
  await kingpin.stop();
  process.exit(code);
}
