'use strict';
// Measurement helpers shared by every scenario. Each scenario is a child process of bench.mjs:
// it reads its settings from BENCH_CONFIG, measures, and prints one line `@@bench {json}`.

const { execFileSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const { performance } = require('node:perf_hooks');

const RESULT_PREFIX = '@@bench ';

/** The scenario's settings (durations in ms), set by bench.mjs. */
function config() {
  const raw = process.env.BENCH_CONFIG;
  if (!raw) throw new Error('BENCH_CONFIG is not set: scenarios are started by bench.mjs');
  return JSON.parse(raw);
}

const now = () => performance.now();

/** The 10 KB argument: a JSON object whose encoding is 10,240 characters or a little more. */
function makePad(bytes = 10 * 1024) {
  const items = [];
  let size = 12;
  for (let i = 0; size < bytes; i++) {
    const item = { id: i, name: `item-${i}`, tags: ['a', 'b'], ok: i % 2 === 0 };
    items.push(item);
    size += JSON.stringify(item).length + 1;
  }
  return { items };
}

/** What addPad returns for a pad that arrived intact: 1 + 2, else NaN (checked as wrong). */
function addPad(a, b, pad) {
  const ok = pad && Array.isArray(pad.items) && pad.items.length > 0 && pad.items[pad.items.length - 1].id === pad.items.length - 1;
  return ok ? a + b : NaN;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/**
 * One call at a time: unrecorded calls for `warmupMs` and at least `warmupCalls` of them (a
 * slow path needs the count: V8 compiles its code over the first thousands of calls), then
 * calls for `durationMs` (at most `maxSamples`), each timed alone. Returns p50/p99 in microseconds and the count of wrong results.
 */
async function latency(call, expected, { warmupMs, warmupCalls = 0, durationMs, maxSamples = 50_000, onWarm }) {
  let wrong = 0;
  const warmEnd = now() + warmupMs;
  for (let n = 0; n < warmupCalls || now() < warmEnd; n++) if ((await call()) !== expected) wrong++;
  if (onWarm) await onWarm();
  const samples = [];
  const end = now() + durationMs;
  while (samples.length < maxSamples && (samples.length < 20 || now() < end)) {
    const t = now();
    const v = await call();
    samples.push((now() - t) * 1000);
    if (v !== expected) wrong++;
  }
  samples.sort((x, y) => x - y);
  return { n: samples.length, p50: percentile(samples, 50), p99: percentile(samples, 99), mean: samples.reduce((s, x) => s + x, 0) / samples.length, wrong };
}

/**
 * `window` calls in flight: every answer starts the next call until `durationMs` is over,
 * then the last ones drain. Returns answered calls per second (all of them over the time to
 * the last answer) and the count of wrong results.
 */
function pipelined(call, expected, { window, durationMs }) {
  return new Promise((resolve, reject) => {
    let inflight = 0;
    let done = 0;
    let wrong = 0;
    let failed = false;
    const t0 = now();
    const end = t0 + durationMs;
    const launch = () => {
      inflight++;
      call().then(
        (v) => {
          inflight--;
          done++;
          if (v !== expected) wrong++;
          if (now() < end) launch();
          else if (inflight === 0) {
            const seconds = (now() - t0) / 1000;
            resolve({ n: done, seconds, callsPerSec: done / seconds, wrong });
          }
        },
        (err) => {
          if (!failed) reject(err);
          failed = true;
        },
      );
    };
    for (let i = 0; i < window; i++) launch();
  });
}

/** A warm-up of the pipelined case (JIT, buffers) whose figures are thrown away. */
async function warmPipelined(call, expected, { window, warmupMs }) {
  if (warmupMs <= 0) return 0;
  const r = await pipelined(call, expected, { window, durationMs: warmupMs });
  return r.wrong;
}

/**
 * The standard RPC cases of one implementation: each `{ name, kind, call, expected, window }`,
 * `kind` is 'latency' or 'pipelined'. With a `probe` (see cpuProbe), the timed phase of each
 * pipelined case is bracketed by CPU snapshots of every process of the scenario, taken by its
 * primary: the case gets `cpu` (see cpuMeter) and `cpu.usPerCall`, over the calls it answered.
 */
async function runCases(cfg, cases, probe = null) {
  const out = {};
  for (const c of cases) {
    if (!cfg.cases.includes(c.name)) continue;
    if (c.kind === 'latency') {
      // MOB_BENCH_VERBOSE: the CPU of every process over the timed phase too (after its warm-up).
      const meter = probe && process.env.MOB_BENCH_VERBOSE === '1';
      const r = await latency(c.call, c.expected, { warmupMs: cfg.warmupMs, warmupCalls: cfg.warmupCalls, durationMs: cfg.latencyMs, onWarm: meter ? () => probe.ask('start') : undefined });
      if (meter) {
        r.cpu = await probe.ask('stop');
        r.cpu.usPerCall = (r.cpu.allSec * 1e6) / r.n;
      }
      out[c.name] = r;
    } else {
      const warmWrong = await warmPipelined(c.call, c.expected, { window: c.window, warmupMs: cfg.warmupMs });
      // The warm-up has drained: nothing is in flight while the snapshots are taken.
      if (probe) await probe.ask('start');
      const r = await pipelined(c.call, c.expected, { window: c.window, durationMs: cfg.pipelineMs });
      if (probe) {
        r.cpu = await probe.ask('stop');
        r.cpu.usPerCall = (r.cpu.allSec * 1e6) / r.n;
        r.cpu.writesPer1k = (r.cpu.writes * 1000) / r.n;
      }
      r.wrong += warmWrong;
      r.window = c.window;
      out[c.name] = r;
    }
  }
  return out;
}

/** Clock ticks per second of /proc/<pid>/stat's times (`getconf CLK_TCK`; 100 where it cannot say). */
function clockTick() {
  try {
    const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return hz > 0 ? hz : 100;
  } catch {
    return 100;
  }
}

/** utime + stime of process `pid` in clock ticks (every thread of it), NaN if it is gone. */
function procTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The name field may hold spaces and parentheses (mob retitles processes): skip past it.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return NaN;
  }
}

/**
 * Write system calls so far of process `pid` (syscw of /proc/<pid>/io), NaN where unreadable.
 * (Reads are not comparable: libuv reads an IPC channel with recvmsg, which syscr does not count.)
 */
function procWrites(pid) {
  try {
    return Number(/^syscw: (\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/**
 * The primary's side of the CPU measurement. `pids()` names the scenario's other processes.
 * `meter('start')` takes a snapshot; `meter('stop')` another, and returns what every process
 * used in between: `allSec` (user + system CPU seconds of the primary and every other
 * process), `primarySec`, `wallSec` (the primary's wall time between the snapshots),
 * `primaryCores` (primarySec / wallSec: 0.05 is 5% of one core) and `byPid`. The primary
 * reads its own time with process.cpuUsage() (microseconds); the others' come from
 * /proc/<pid>/stat (clock ticks: 10 ms at CLK_TCK 100). Also `writes`: the write system calls
 * of every process (/proc/<pid>/io), which tell how well messages were batched.
 */
function cpuMeter(pids) {
  const hz = clockTick();
  const snap = () => {
    const ticks = {};
    let writes = procWrites(process.pid);
    for (const pid of pids()) {
      ticks[pid] = procTicks(pid);
      writes += procWrites(pid);
    }
    return { t: now(), self: process.cpuUsage(), ticks, writes };
  };
  let at = null;
  return (phase) => {
    if (phase === 'start') {
      at = snap();
      return null;
    }
    const end = snap();
    const self = process.cpuUsage(at.self);
    const primarySec = (self.user + self.system) / 1e6;
    const byPid = { [process.pid]: primarySec };
    let allSec = primarySec;
    for (const [pid, t0] of Object.entries(at.ticks)) {
      const sec = (end.ticks[pid] - t0) / hz;
      byPid[pid] = sec;
      allSec += sec;
    }
    const wallSec = (end.t - at.t) / 1000;
    const writes = end.writes - at.writes;
    return { allSec, primarySec, wallSec, primaryCores: primarySec / wallSec, byPid, processes: Object.keys(byPid).length, writes };
  };
}

/**
 * The caller's side: `ask(phase)` sends `{ [tag]: 'cpu', phase }` with `send` and resolves with
 * the primary's answer, which `reply(msg)` is given when it arrives.
 */
function cpuProbe(send, tag) {
  let waiting = null;
  return {
    ask: (phase) =>
      new Promise((resolve) => {
        waiting = resolve;
        send({ [tag]: 'cpu', phase });
      }),
    reply: (msg) => {
      const w = waiting;
      waiting = null;
      if (w) w(msg.cpu);
    },
  };
}

/**
 * A driver worker's side of the harness: answers the CPU probe's snapshots, and on `start` runs
 * `run()` and sends `{ bench: 'result', ...what it resolves with }` (or the error) with the
 * app's own process.send (which mob passes through untouched).
 */
function driver(probe, run) {
  process.on('message', (msg) => {
    if (!msg) return;
    if (msg.bench === 'cpu') return probe.reply(msg);
    if (msg.bench !== 'start') return;
    run().then(
      (result) => process.send({ bench: 'result', ...result }),
      (err) => process.send({ bench: 'error', error: String((err && err.stack) || err) }),
    );
  });
}

/** Prints the scenario's result line for bench.mjs; calls `done` once it is written. */
function emit(result, done) {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`, done);
}

/** Blocks this process's event loop for `ms` without using CPU (a synchronous wait, as on a lock). */
const sleeper = new Int32Array(new SharedArrayBuffer(4));
function blockFor(ms) {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
}

/** A deterministic pseudo-random sequence (mulberry32), so both balancing runs see the same calls. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uneven call durations: mostly short, 1 in 8 long (ms), the same list for every run. */
function unevenDurations(count) {
  const rnd = prng(42);
  const out = [];
  for (let i = 0; i < count; i++) out.push(rnd() < 0.125 ? 20 : 1);
  return out;
}

/**
 * Runs `durations` through `call(ms)` with `window` calls in flight; each call blocks its
 * worker for `ms` and returns `ms`. Returns the total time and calls/s.
 */
function unevenRun(call, durations, window) {
  return new Promise((resolve, reject) => {
    let next = 0;
    let done = 0;
    let wrong = 0;
    const t0 = now();
    const launch = () => {
      const ms = durations[next++];
      call(ms).then((v) => {
        if (v !== ms) wrong++;
        done++;
        if (next < durations.length) launch();
        else if (done === durations.length) {
          const totalMs = now() - t0;
          resolve({ n: done, totalMs, callsPerSec: done / (totalMs / 1000), wrong });
        }
      }, reject);
    };
    for (let i = 0; i < Math.min(window, durations.length); i++) launch();
  });
}

/** Median of the primary's RSS over `ms`, sampled every 50 ms, in MiB. */
async function idleRss(ms) {
  const samples = [];
  const end = now() + ms;
  do {
    await new Promise((r) => setTimeout(r, 50));
    samples.push(process.memoryUsage().rss / (1024 * 1024));
  } while (now() < end);
  samples.sort((x, y) => x - y);
  return samples[Math.floor(samples.length / 2)];
}

module.exports = {
  config,
  now,
  makePad,
  addPad,
  latency,
  pipelined,
  runCases,
  cpuMeter,
  cpuProbe,
  driver,
  emit,
  blockFor,
  unevenDurations,
  unevenRun,
  idleRss,
};
