'use strict';
// The plain cluster equivalent of ready-mob.cjs: 8 workers forked in parallel, each sending a
// ready message; then the primary's RSS while they sit idle.
const { performance } = require('node:perf_hooks');

const t0 = performance.now();
const cluster = require('node:cluster');

const WORKERS = 8;

if (cluster.isPrimary) {
  const lib = require('./lib.cjs');
  const cfg = lib.config();
  let ready = 0;
  for (let i = 0; i < WORKERS; i++) {
    cluster.fork().on('message', (msg) => {
      if (msg && msg.ready && ++ready === WORKERS) void measured(performance.now() - t0);
    });
  }
  async function measured(ms) {
    const mib = await lib.idleRss(cfg.idleMs);
    const workers = Object.values(cluster.workers).filter((w) => w && w.isConnected()).length;
    await new Promise((resolve) => lib.emit({ impl: 'plain', cases: { ready: { ms, workers: ready }, rss: { mib, workers } } }, resolve));
    await Promise.all(
      Object.values(cluster.workers).map(
        (w) =>
          new Promise((resolve) => {
            w.once('exit', resolve);
            w.kill();
          }),
      ),
    );
    process.exit(0);
  }
} else {
  process.send({ ready: true });
}
