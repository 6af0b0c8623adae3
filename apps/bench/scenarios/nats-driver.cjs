'use strict';
// Role "driver" of the mob over NATS (host a): calls role "back", which runs on host b only
// (nats-mob) or on both hosts (nats-local: prefer-local keeps the calls on host a). Before it
// measures, it waits until the mob has formed: a call reaches host b. Afterwards it asks every
// back worker how many calls it served, so bench.mjs can check which host answered them.
const mob = require('mob');
const lib = require('./lib.cjs');

const cfg = lib.config();
const probe = lib.cpuProbe((msg) => process.send(msg), 'bench');

lib.driver(probe, run);

/** Calls where() on every host's workers until one on `host` answers (the mob has formed). */
async function formed(host, timeoutMs = 20_000) {
  const anywhere = mob.require('back', { locality: 'any', timeout: 1000 });
  const seen = new Set();
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const w = await anywhere.where();
      seen.add(w.host);
      if (w.host === host) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    } catch (err) {
      // Not formed yet: a call held for a role with no worker anywhere times out.
      if (!err || err.name !== 'TimeoutError') throw err;
    }
  }
  throw new Error(`the mob did not form within ${timeoutMs} ms: calls reached ${[...seen].join(', ') || 'no host'}, not host "${host}"`);
}

/** Calls served per host, by asking every back worker (on any host) until each has answered twice. */
async function servedByHost() {
  const anywhere = mob.require('back', { locality: 'any', timeout: 5000 });
  const byWorker = new Map();
  for (let i = 0; i < 32; i++) {
    const w = await anywhere.where();
    byWorker.set(`${w.host}/${w.pid}`, w);
  }
  const out = {};
  for (const w of byWorker.values()) out[w.host] = (out[w.host] ?? 0) + w.served;
  return { served: out, backWorkers: byWorker.size };
}

async function run() {
  await formed('b');
  const back = mob.require('back');
  let calls = 0;
  const add = () => {
    calls++;
    return back.add(1, 2);
  };
  const cases = await lib.runCases(
    cfg,
    [
      { name: 'lat', kind: 'latency', call: add, expected: 3 },
      { name: 'pipe', kind: 'pipelined', call: add, expected: 3, window: cfg.window },
    ],
    probe,
  );
  return { cases, calls, ...(await servedByHost()), links: mob.flowStats().links, host: mob.whoami().host };
}
