'use strict';
// The reference pools, in-process callers: workerpool with 2 child processes
// (workerType 'process') and piscina with 2 worker threads. POOL says which.
const { join } = require('node:path');
const lib = require('./lib.cjs');

const cfg = lib.config();
const which = process.env.POOL;

function open() {
  if (which === 'workerpool') {
    const workerpool = require('workerpool');
    const pool = workerpool.pool(join(__dirname, 'workerpool-worker.cjs'), {
      workerType: 'process',
      minWorkers: 2,
      maxWorkers: 2,
      // Without the profiler's flags, like the other scenarios' workers.
      forkOpts: { execArgv: process.execArgv.filter((a) => !a.startsWith('--cpu-prof')) },
    });
    return { call: () => pool.exec('add', [1, 2]), close: () => pool.terminate() };
  }
  if (which === 'piscina') {
    const { Piscina } = require('piscina');
    const pool = new Piscina({ filename: join(__dirname, 'piscina-worker.cjs'), minThreads: 2, maxThreads: 2 });
    return { call: () => pool.run([1, 2], { name: 'add' }), close: () => pool.destroy() };
  }
  throw new Error(`POOL must be workerpool or piscina, got ${JSON.stringify(which)}`);
}

async function main() {
  const pool = open();
  let result = null;
  try {
    const cases = await lib.runCases(cfg, [
      { name: 'lat', kind: 'latency', call: pool.call, expected: 3 },
      { name: 'pipe', kind: 'pipelined', call: pool.call, expected: 3, window: cfg.window },
    ]);
    result = { impl: which, cases };
  } finally {
    await pool.close();
  }
  await new Promise((resolve) => lib.emit(result, resolve));
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${which} failed: ${(err && err.stack) || err}\n`);
    process.exit(1);
  },
);
