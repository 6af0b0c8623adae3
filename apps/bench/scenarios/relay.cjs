'use strict';
// The hand-written baseline: a node:cluster relay, caller worker → primary → callee worker and
// back, with process.send and JSON. RELAY_BATCH=1 coalesces the messages of one event-loop
// turn (at most 250) into one IPC message on every hop; unset, each message travels alone.
// One file for both sides: the primary routes, RELAY_ROLE says what a worker is.
const cluster = require('node:cluster');
const lib = require('./lib.cjs');

const BATCH = process.env.RELAY_BATCH === '1';
const MAX_BATCH = 250;
const CALLEES = 2;

/** A send function for one channel (a cluster Worker, or `process` in a worker). */
function sender(channel) {
  if (!BATCH) return (msg) => channel.send(msg);
  let queue = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    channel.send(batch);
  };
  return (msg) => {
    queue.push(msg);
    if (queue.length >= MAX_BATCH) flush();
    else if (!scheduled) {
      scheduled = true;
      // After this turn's other messages: everything queued until then leaves together.
      process.nextTick(flush);
    }
  };
}

/** Control messages are `{ ctl }`; data messages arrive alone or as a batch (an array). */
function listen(emitter, onControl, onData) {
  emitter.on('message', (msg) => {
    if (Array.isArray(msg)) for (let i = 0; i < msg.length; i++) onData(msg[i]);
    else if (msg && msg.ctl) onControl(msg);
    else onData(msg);
  });
}

if (cluster.isPrimary) primary();
else if (process.env.RELAY_ROLE === 'callee') callee();
else caller();

function primary() {
  if (process.env.BENCH_PROFILE_WORKERS !== '1') {
    cluster.setupPrimary({ execArgv: process.execArgv.filter((a) => !a.startsWith('--cpu-prof')) });
  }
  const callees = [];
  const sendTo = new Map();
  let rr = 0;
  let ready = 0;
  const onReady = () => {
    if (++ready === CALLEES + 1) theCaller.send({ ctl: 'start' });
  };
  const theCaller = cluster.fork({ RELAY_ROLE: 'caller' });
  sendTo.set(theCaller.process.pid, sender(theCaller));
  const callerPid = theCaller.process.pid;
  // CPU of every process (this primary, the caller, the callees) around each timed pipelined phase.
  const meter = lib.cpuMeter(() => [callerPid, ...callees.map((c) => c.pid)]);
  listen(
    theCaller,
    (msg) => {
      if (msg.ctl === 'ready') onReady();
      else if (msg.ctl === 'cpu') theCaller.send({ ctl: 'cpu', cpu: meter(msg.phase) });
      else if (msg.ctl === 'result') {
        const pids = { primary: [process.pid], caller: [callerPid], callee: callees.map((c) => c.pid) };
        void finish({ impl: BATCH ? 'relay-batched' : 'relay', cases: msg.cases, pids }, 0);
      }
      else if (msg.ctl === 'error') {
        process.stderr.write(`caller failed: ${msg.error}\n`);
        void finish(null, 1);
      }
    },
    // A call: to the next callee, round-robin, stamped with the caller's pid for the answer.
    (msg) => callees[rr++ % CALLEES].send({ i: msg.i, m: msg.m, a: msg.a, p: callerPid }),
  );
  for (let n = 0; n < CALLEES; n++) {
    const w = cluster.fork({ RELAY_ROLE: 'callee' });
    const send = sender(w);
    callees.push({ send, pid: w.process.pid });
    // An answer: back to the caller that sent the call.
    listen(w, (msg) => msg.ctl === 'ready' && onReady(), (msg) => sendTo.get(msg.p)({ i: msg.i, v: msg.v }));
  }

  let finishing = false;
  async function finish(result, code) {
    if (finishing) return;
    finishing = true;
    if (result) await new Promise((resolve) => lib.emit(result, resolve));
    const workers = Object.values(cluster.workers).filter(Boolean);
    await Promise.all(
      workers.map(
        (w) =>
          new Promise((resolve) => {
            // Disconnected, a worker exits by itself (and writes its profile, if asked to).
            const kill = setTimeout(() => w.kill('SIGKILL'), 3000);
            w.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            w.disconnect();
          }),
      ),
    );
    process.exit(code);
  }
}

function callee() {
  const fns = { add: (a, b) => a + b, addPad: lib.addPad };
  const send = sender(process);
  listen(process, () => {}, (msg) => send({ i: msg.i, p: msg.p, v: fns[msg.m](...msg.a) }));
  process.send({ ctl: 'ready' });
}

function caller() {
  const cfg = lib.config();
  const send = sender(process);
  const probe = lib.cpuProbe((msg) => process.send(msg), 'ctl');
  const pending = new Map();
  let next = 0;
  const call = (m, a) =>
    new Promise((resolve) => {
      const i = next++;
      pending.set(i, resolve);
      send({ i, m, a });
    });
  listen(
    process,
    (msg) => {
      if (msg.ctl === 'cpu') return probe.reply(msg);
      if (msg.ctl !== 'start') return;
      const pad = lib.makePad();
      lib
        .runCases(
          cfg,
          [
            { name: 'lat', kind: 'latency', call: () => call('add', [1, 2]), expected: 3 },
            { name: 'pipe', kind: 'pipelined', call: () => call('add', [1, 2]), expected: 3, window: cfg.window },
            { name: 'lat10k', kind: 'latency', call: () => call('addPad', [1, 2, pad]), expected: 3 },
            { name: 'pipe10k', kind: 'pipelined', call: () => call('addPad', [1, 2, pad]), expected: 3, window: cfg.window },
          ],
          probe,
        )
        .then(
          (cases) => process.send({ ctl: 'result', cases }),
          (err) => process.send({ ctl: 'error', error: String((err && err.stack) || err) }),
        );
    },
    (msg) => {
      const resolve = pending.get(msg.i);
      pending.delete(msg.i);
      resolve(msg.v);
    },
  );
  process.send({ ctl: 'ready' });
}
