'use strict';
// Role "driver" of the mob scenarios: the one worker that calls role "back" (over direct
// links, or through the Kingpin when the main script turned links off). It starts when the
// main script says every worker is ready, and sends its figures back with the app's own
// process.send (which mob passes through untouched), with how many links it had open.
const mob = require('mob');
const lib = require('./lib.cjs');

const cfg = lib.config();
// Asks the Kingpin for CPU snapshots around each timed pipelined phase.
const probe = lib.cpuProbe((msg) => process.send(msg), 'bench');

lib.driver(probe, async () => {
  const cases = await (cfg.mode === 'balance' ? balance() : rpc());
  return { cases, links: mob.flowStats().links };
});

function rpc() {
  const back = mob.require('back');
  const pad = lib.makePad();
  return lib.runCases(
    cfg,
    [
      { name: 'lat', kind: 'latency', call: () => back.add(1, 2), expected: 3 },
      { name: 'pipe', kind: 'pipelined', call: () => back.add(1, 2), expected: 3, window: cfg.window },
      { name: 'lat10k', kind: 'latency', call: () => back.addPad(1, 2, pad), expected: 3 },
      { name: 'pipe10k', kind: 'pipelined', call: () => back.addPad(1, 2, pad), expected: 3, window: cfg.window },
    ],
    probe,
  );
}

async function balance() {
  const roundRobin = mob.require('back');
  const leastPending = mob.require('back', { balance: 'least-pending' });
  const durations = lib.unevenDurations(cfg.balanceCalls);
  // Warm both paths with short calls first.
  for (let i = 0; i < 20; i++) await Promise.all([roundRobin.work(0), leastPending.work(0)]);
  const runs = { rr: () => lib.unevenRun((ms) => roundRobin.work(ms), durations, cfg.balanceWindow),
    lp: () => lib.unevenRun((ms) => leastPending.work(ms), durations, cfg.balanceWindow) };
  // Alternate which goes first from run to run, so neither always runs on a colder process.
  const order = cfg.run % 2 === 0 ? ['rr', 'lp'] : ['lp', 'rr'];
  const out = {};
  for (const k of order) out[k] = await runs[k]();
  return { balanceRoundRobin: out.rr, balanceLeastPending: out.lp };
}
