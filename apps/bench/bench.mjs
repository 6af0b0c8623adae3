// mob's benchmark: runs every scenario in its own process (group), several times, and reports
// medians against the hand-written relay baseline.
//
//   node bench.mjs             full run: table, targets, results/latest.json, results/chart.svg, PERFORMANCE.md
//   MOB_BENCH_QUICK=1 node bench.mjs   (or --quick) each case ~1 s, once; checks results, not timings
//   node bench.mjs --profile   CPU profiles of every process (mob with and without links, the relays, mob over NATS) under 1000 calls in flight
//   node bench.mjs --profile-case=pipe10k   the same with the 10 KB argument
//
// Environment: MOB_BENCH_RUNS (full runs, at least 3; default 3), MOB_BENCH_QUIET_WAIT (seconds to
// wait for a quiet machine; default 60), MOB_BENCH_KEEP_PROFILE=1 (keep the .cpuprofile files),
// MOB_BENCH_ONLY=id,id (run only these scenarios, e.g. nats-mob,moleculer,nats-local,mob-links;
// such a run writes no results).
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killAll, runScenario } from './harness/child.mjs';
import { codeInfo, machineInfo, waitForQuiet } from './harness/machine.mjs';
import { printSummary, summarize } from './harness/profile.mjs';
import { chartSvg, computeFigures, computeTargets, cpuByProcess, markdown, processCpu, textTable } from './harness/report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const QUICK = process.env.MOB_BENCH_QUICK === '1' || argv.includes('--quick');
const PROFILE = argv.some((a) => a.startsWith('--profile'));
// --profile-case=pipe10k profiles the 10 KB case instead of add(1,2) (mob and the unbatched relay).
const PROFILE_CASE = (argv.find((a) => a.startsWith('--profile-case=')) ?? '--profile-case=pipe').split('=')[1];
const RUNS = QUICK ? 1 : Math.max(3, Number(process.env.MOB_BENCH_RUNS) || 3);
// Readiness and RSS are cheap to measure and noisy: they get more runs.
const READY_RUNS = QUICK ? 1 : Math.max(RUNS, 5);
// So do mob over NATS and Moleculer: one call at a time, each takes turns with a nats-server
// through four processes, and its p50 moves by 10% from one round to the next here.
const NATS_RUNS = READY_RUNS;
const QUIET_WAIT_MS = QUICK ? 0 : Number(process.env.MOB_BENCH_QUIET_WAIT ?? 60) * 1000;

const settings = QUICK
  ? { warmupMs: 150, warmupCalls: 500, latencyMs: 500, pipelineMs: 700, idleMs: 300, balanceCalls: 120, timeoutMs: 45_000 }
  : { warmupMs: 500, warmupCalls: 5000, latencyMs: 2000, pipelineMs: 2500, idleMs: 1500, balanceCalls: 600, timeoutMs: 180_000 };
const base = { ...settings, window: 1000, balanceWindow: 8, workers: 8 };

const RPC_CASES = ['lat', 'pipe', 'lat10k', 'pipe10k'];
/**
 * Every scenario: a child process, the cases it must report. `installed`: it runs from a copy
 * of the scenarios beside mob laid out as npm installs it (see installMob). `cpu`: the
 * pipelined cases whose CPU of every process is measured (`processes` of them). `links`:
 * whether the driver must have had direct links open (true) or none (false). `servedBy`: the
 * host (or Moleculer node) that must have answered every call the driver made, and no other.
 * The order puts each target's two sides next to each other: this machine changes speed over
 * minutes, and neighbours run in the same minute. mob (links) is the baseline of five others,
 * so they sit around it by how close their figures must be: the raw IPC ping-pong and
 * workerpool beside it, prefer-local over NATS and metrics off two places away, mob (routed)
 * and mob (links) with one back worker three. mob over NATS runs beside Moleculer.
 */
const SCENARIOS = [
  // What taking turns between two callees costs, one call at a time: mob with one back worker,
  // and the raw Unix ping-pong with two servers in turn (see PERFORMANCE.md).
  { id: 'unix-alt', file: 'scenarios/pingpong.cjs', env: { PINGPONG: 'unix', PINGPONG_SERVERS: '2' }, cases: ['lat'] },
  { id: 'unix', file: 'scenarios/pingpong.cjs', env: { PINGPONG: 'unix' }, cases: ['lat'] },
  { id: 'mob-links-1', file: 'scenarios/mob-main.cjs', env: { MOB_BENCH_BACK: '1' }, mode: 'rpc', cases: ['lat'], links: true, installed: true },
  // prefer-local across two hosts through a nats-server on this machine (each host its own
  // Kingpin process), against mob (links) on one host.
  { id: 'nats-local', file: 'scenarios/nats-main.cjs', env: { NATS_LOCAL: '1' }, cases: ['lat', 'pipe'], cpu: ['pipe'], processes: 6, links: true, servedBy: 'a', installed: true },
  { id: 'ipc', file: 'scenarios/pingpong.cjs', env: { PINGPONG: 'ipc' }, cases: ['lat'] },
  { id: 'mob-links', file: 'scenarios/mob-main.cjs', env: {}, mode: 'rpc', cases: RPC_CASES, cpu: ['pipe', 'pipe10k'], processes: 4, links: true, installed: true },
  { id: 'workerpool', file: 'scenarios/pools.cjs', env: { POOL: 'workerpool' }, cases: ['lat', 'pipe'] },
  { id: 'mob-nostats', file: 'scenarios/mob-main.cjs', env: { MOB_BENCH_STATS: '0' }, mode: 'rpc', cases: RPC_CASES, cpu: ['pipe', 'pipe10k'], processes: 4, links: true, installed: true },
  { id: 'mob-routed', file: 'scenarios/mob-main.cjs', env: { MOB_LINKS: '0' }, mode: 'rpc', cases: RPC_CASES, cpu: ['pipe', 'pipe10k'], processes: 4, links: false, installed: true },
  { id: 'relay', file: 'scenarios/relay.cjs', env: { RELAY_BATCH: '0' }, cases: RPC_CASES, cpu: ['pipe', 'pipe10k'], processes: 4 },
  { id: 'relay-batched', file: 'scenarios/relay.cjs', env: { RELAY_BATCH: '1' }, cases: ['lat', 'pipe'], cpu: ['pipe'], processes: 4 },
  { id: 'piscina', file: 'scenarios/pools.cjs', env: { POOL: 'piscina' }, cases: ['lat', 'pipe'] },
  { id: 'ready-mob', file: 'scenarios/ready-mob.cjs', env: {}, cases: ['ready', 'rss'], runs: READY_RUNS, installed: true },
  { id: 'ready-plain', file: 'scenarios/ready-plain.cjs', env: {}, cases: ['ready', 'rss'], runs: READY_RUNS, installed: true },
  { id: 'balance', file: 'scenarios/mob-main.cjs', env: {}, mode: 'balance', cases: ['balanceRoundRobin', 'balanceLeastPending'], links: true, installed: true },
  // Across two hosts through a nats-server on this machine (each host its own Kingpin process).
  { id: 'nats-mob', file: 'scenarios/nats-main.cjs', env: {}, runs: NATS_RUNS, cases: ['lat', 'pipe'], cpu: ['pipe'], processes: 5, links: false, servedBy: 'b', installed: true },
  { id: 'moleculer', file: 'scenarios/moleculer-main.cjs', env: {}, runs: NATS_RUNS, cases: ['lat', 'pipe'], cpu: ['pipe'], processes: 3, servedBy: 'callee' },
  { id: 'nats-kingpins', file: 'scenarios/nats-main.cjs', env: { NATS_DIRECT: '0' }, cases: ['lat', 'pipe'], cpu: ['pipe'], processes: 5, links: false, servedBy: 'b', installed: true },
];
const scenario = (id) => SCENARIOS.find((s) => s.id === id);

// MOB_BENCH_ONLY=id,id: only these scenarios (their figures and targets; no files written).
const ONLY = (process.env.MOB_BENCH_ONLY ?? '').split(',').map((x) => x.trim()).filter(Boolean);
for (const id of ONLY) {
  if (!scenario(id)) throw new Error(`MOB_BENCH_ONLY: no scenario "${id}" (scenarios: ${SCENARIOS.map((s) => s.id).join(', ')})`);
}
const SELECTED = ONLY.length ? SCENARIOS.filter((s) => ONLY.includes(s.id)) : SCENARIOS;

const MOB_PACKAGES = ['mob', 'mob-messaging', 'mob-kingpin', 'mob-proxy', 'mob-callbacks', 'mob-control', 'mob-cli', 'mob-nats'];
/** mob-nats's runtime dependencies (and theirs), copied whole as npm installed them. */
const MOB_DEPS = ['@nats-io/transport-node', '@nats-io/nats-core', '@nats-io/nkeys', '@nats-io/nuid', 'tweetnacl'];

/**
 * mob as a user gets it: a temporary folder with `node_modules/<package>/` holding each
 * package's package.json and dist (what `npm pack` ships and npm installs), and a copy of
 * the scenarios beside it. In the workspace, node_modules/mob* are symlinks into packages/,
 * whose resolution costs every process time and memory that an installed app does not pay.
 * Returns the folder; it is removed at exit.
 */
function installMob() {
  const dir = mkdtempSync(join(os.tmpdir(), 'mob-bench-app-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const packages = join(here, '..', '..', 'packages');
  for (const name of MOB_PACKAGES) {
    const to = join(dir, 'node_modules', name);
    mkdirSync(to, { recursive: true });
    cpSync(join(packages, name, 'package.json'), join(to, 'package.json'));
    cpSync(join(packages, name, 'dist'), join(to, 'dist'), { recursive: true });
  }
  const modules = join(here, '..', '..', 'node_modules');
  for (const name of MOB_DEPS) {
    const from = join(modules, name);
    if (!existsSync(join(from, 'package.json'))) throw new Error(`${name} (needed by mob-nats) is not in ${modules}: run npm install at the root`);
    cpSync(from, join(dir, 'node_modules', name), { recursive: true });
  }
  cpSync(join(here, 'scenarios'), join(dir, 'scenarios'), { recursive: true });
  return dir;
}

const log = (line = '') => process.stdout.write(`${line}\n`);

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}
process.on('exit', killAll);

/** What a case must hold to count as run with correct results (never a timing). */
function problems(s, result) {
  const cases = result?.cases;
  const out = [];
  // Across hosts: every call the driver made was answered by the host it had to reach.
  if (s.servedBy !== undefined) {
    const served = result?.served ?? {};
    const by = Object.entries(served).map(([h, n]) => `${h}: ${n}`).join(', ') || 'none';
    const elsewhere = Object.entries(served).reduce((sum, [h, n]) => sum + (h === s.servedBy ? 0 : n), 0);
    if (!(result?.calls > 0) || served[s.servedBy] !== result.calls || elsewhere !== 0) {
      out.push(`calls answered by ${by} of ${result?.calls} made: all had to be answered by "${s.servedBy}"`);
    }
  }
  // A links run that went routed (or the reverse) would measure the other path.
  if (s.links === true && !(result?.links > 0)) out.push(`no direct link was open (links: ${result?.links}): the calls went through the Kingpin`);
  if (s.links === false && result?.links !== 0) out.push(`${result?.links} direct link(s) open although links were off`);
  for (const name of s.cpu ?? []) {
    const cpu = cases?.[name]?.cpu;
    if (!cpu) out.push(`case "${name}": no CPU figures`);
    else if (cpu.processes !== s.processes) out.push(`case "${name}": CPU of ${cpu.processes} of ${s.processes} processes`);
    else if (!(Number.isFinite(cpu.usPerCall) && cpu.usPerCall > 0 && Number.isFinite(cpu.primaryCores) && cpu.primaryCores >= 0)) {
      out.push(`case "${name}": CPU figures missing (${JSON.stringify(cpu)})`);
    }
  }
  for (const name of s.cases) {
    const c = cases?.[name];
    if (!c) {
      out.push(`case "${name}" did not run`);
      continue;
    }
    if (c.wrong !== undefined && c.wrong !== 0) out.push(`case "${name}": ${c.wrong} wrong result(s)`);
    if (c.n !== undefined && !(c.n > 0)) out.push(`case "${name}": no call answered`);
    if (name.startsWith('balance') && c.n !== base.balanceCalls) out.push(`case "${name}": ${c.n} of ${base.balanceCalls} calls answered`);
    if ((name === 'ready' || name === 'rss') && c.workers !== base.workers) out.push(`case "${name}": ${c.workers} of ${base.workers} workers`);
    const figure = c.p50 ?? c.callsPerSec ?? c.ms ?? c.mib;
    if (!(Number.isFinite(figure) && figure > 0)) out.push(`case "${name}": no figure (${JSON.stringify(c)})`);
  }
  return out;
}

function configFor(s, run, extra = {}) {
  return { ...base, mode: s.mode ?? 'rpc', cases: s.cases, run, ...extra };
}

// A run during which the rest of the machine kept more than this much of a core busy is
// contended: it is run again (after waiting for quiet), at most MAX_RETRIES times.
const CONTENDED_CORES = 0.25;
const MAX_RETRIES = 2;

/** CPU seconds by pid, keyed by the role each pid had (`back 1234`). */
function named(byPid, pids = {}) {
  const role = {};
  for (const [n, list] of Object.entries(pids)) for (const pid of [].concat(list)) role[pid] = n;
  return Object.fromEntries(Object.entries(byPid).map(([pid, sec]) => [`${role[pid] ?? '?'} ${pid}`, sec]));
}

async function runAll() {
  const runs = Object.fromEntries(SELECTED.map((s) => [s.id, []]));
  const meta = Object.fromEntries(SELECTED.map((s) => [s.id, []]));
  const failures = [];
  const contended = [];
  let passed = 0;
  const rounds = Math.max(...SELECTED.map((s) => s.runs ?? RUNS));
  const app = installMob();
  // Round after round, every scenario once, so a drift of the machine hits them all alike;
  // odd rounds go in reverse, so no scenario always runs right after the same neighbour.
  for (let run = 0; run < rounds; run++) {
    const order = run % 2 ? [...SELECTED].reverse() : SELECTED;
    for (const s of order) {
      if (run >= (s.runs ?? RUNS)) continue;
      const tag = `[${run + 1}/${s.runs ?? RUNS}] ${s.id}`;
      for (let attempt = 0; ; attempt++) {
        // Something else may have started since the last scenario.
        if (!QUICK) await waitForQuiet({ need: 1, maxWaitMs: QUIET_WAIT_MS, log });
        let outcome;
        try {
          const cwd = s.installed ? app : here;
          outcome = await runScenario({
            file: join(cwd, s.file),
            env: { ...s.env, BENCH_CONFIG: JSON.stringify(configFor(s, run)) },
            timeoutMs: base.timeoutMs,
            cwd,
          });
        } catch (err) {
          failures.push(`${tag}: ${err.message}`);
          log(`  ${tag}: FAILED ${err.message}`);
          break;
        }
        const { result, ms, contention } = outcome;
        const others = contention ? contention.othersCores : 0;
        const busy = others > CONTENDED_CORES;
        const note = contention ? `; others used ${others.toFixed(2)} cores` : '';
        if (busy && !QUICK && attempt < MAX_RETRIES) {
          log(`  ${tag}: contended (${(ms / 1000).toFixed(1)} s${note}): running it again`);
          continue;
        }
        const bad = problems(s, result);
        if (bad.length) {
          failures.push(`${tag}: ${bad.join('; ')}`);
          log(`  ${tag}: FAILED ${bad.join('; ')}`);
        } else {
          passed += s.cases.length;
          runs[s.id].push(result.cases);
          meta[s.id].push({ round: run + 1, attempts: attempt + 1, othersCores: others });
          if (busy) contended.push(`${tag} (others used ${others.toFixed(2)} cores)`);
          log(`  ${tag}: ok (${(ms / 1000).toFixed(1)} s${note})${busy && !QUICK ? ' CONTENDED, kept' : ''}`);
          if (process.env.MOB_BENCH_VERBOSE === '1') {
            const pipe = result.cases.pipe;
            const lat = result.cases.lat;
            if (lat?.cpu) log(`    lat p50 ${lat.p50.toFixed(1)} µs; CPU µs per call: ${Object.entries(lat.cpu.byName ?? named(lat.cpu.byPid, result.pids)).map(([n, sec]) => `${n} ${((sec * 1e6) / lat.n).toFixed(1)}`).join(', ')}`);
            if (pipe?.cpu) log(`    pipe ${Math.round(pipe.callsPerSec)}/s, ${pipe.cpu.writesPer1k?.toFixed(1)} writes per 1k calls; CPU s per 100k calls: ${Object.entries(pipe.cpu.byName ?? named(pipe.cpu.byPid, result.pids)).map(([n, sec]) => `${n} ${((sec * 1e5) / pipe.n).toFixed(2)}`).join(', ')}`);
          }
        }
        break;
      }
    }
  }
  return { runs, meta, failures, passed, contended };
}

async function profile(machine) {
  const dir = mkdtempSync(join(os.tmpdir(), 'mob-bench-prof-'));
  if (PROFILE_CASE !== 'pipe' && PROFILE_CASE !== 'pipe10k') throw new Error(`--profile-case: use pipe or pipe10k, got ${PROFILE_CASE}`);
  const targets = [
    { title: 'mob (links)', s: scenario('mob-links') },
    { title: 'mob (routed)', s: scenario('mob-routed') },
    ...(PROFILE_CASE === 'pipe' ? [{ title: 'batched relay', s: scenario('relay-batched') }] : []),
    { title: 'unbatched relay', s: scenario('relay') },
    ...(PROFILE_CASE === 'pipe' ? [{ title: 'mob over NATS', s: scenario('nats-mob') }, { title: 'mob over NATS, prefer-local', s: scenario('nats-local') }] : []),
  ].filter((t) => !ONLY.length || ONLY.includes(t.s.id));
  const pipelineMs = QUICK ? 1000 : 6000;
  const what = PROFILE_CASE === 'pipe' ? 'add(1,2)' : 'addPad(1,2, 10 KB)';
  log(`profiling every process under 1000 ${what} calls in flight for ${pipelineMs / 1000} s (node --cpu-prof)`);
  try {
    for (const t of targets) {
      const out = join(dir, t.s.id);
      mkdirSync(out);
      const { result } = await runScenario({
        file: join(here, t.s.file),
        env: {
          ...t.s.env,
          BENCH_PROFILE_WORKERS: '1',
          BENCH_CONFIG: JSON.stringify(configFor(t.s, 0, { cases: process.env.MOB_BENCH_PROFILE_LAT === '1' ? ['lat', PROFILE_CASE] : [PROFILE_CASE], pipelineMs })),
        },
        nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${out}`],
        timeoutMs: base.timeoutMs,
        cwd: here,
      });
      // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: the pid says whose it is.
      const roleOf = new Map();
      for (const [role, pids] of Object.entries(result.pids ?? {})) for (const pid of pids) roleOf.set(pid, role);
      const files = readdirSync(out).filter((f) => f.endsWith('.cpuprofile'));
      log('');
      const c = result.cases[PROFILE_CASE];
      const cpu = c.cpu ? `; ${c.cpu.usPerCall.toFixed(1)} µs CPU per call over all processes, primary ${(c.cpu.primaryCores * 100).toFixed(1)}% of a core` : '';
      log(`== ${t.title}: ${Math.round(c.callsPerSec).toLocaleString('en-US')} calls/s while profiled${cpu}`);
      if (c.cpu?.byName) {
        const per = Object.entries(c.cpu.byName).map(([n, sec]) => `${n} ${((sec * 1e5) / c.n).toFixed(2)}`);
        log(`CPU seconds per 100k calls while profiled: ${per.join(', ')}`);
      }
      // Kingpins and relay primaries first; the NATS scenario's own main process (bench) idles.
      const isPrimary = (role) => role.startsWith('kingpin') || role === 'primary';
      const named = files
        .map((f) => ({ f, role: roleOf.get(Number(f.split('.')[3])) ?? 'unknown' }))
        .filter(({ role }) => role !== 'bench')
        .sort((a, b) => Number(isPrimary(b.role)) - Number(isPrimary(a.role)) || a.role.localeCompare(b.role));
      for (const { f, role } of named) {
        const primary = isPrimary(role);
        log(printSummary(`${t.title} ${role} (pid ${f.split('.')[3]})`, summarize(join(out, f), primary ? 15 : 8), primary ? 10 : 5));
      }
    }
  } finally {
    if (process.env.MOB_BENCH_KEEP_PROFILE === '1') log(`\nprofiles kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  log(`\n${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`);
}

async function main() {
  const started = Date.now();
  const machine = machineInfo();
  log(`mob bench${QUICK ? ' (quick: results checked, timings not judged)' : ''}: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.date}`);
  const quiet = await waitForQuiet({ maxWaitMs: QUIET_WAIT_MS, log });
  const busy = quiet.busy === null ? 'unknown' : `${(quiet.busy * 100).toFixed(0)}% busy`;
  if (quiet.quiet) log(`machine quiet (${busy}, load ${quiet.load.map((l) => l.toFixed(2)).join(' ')})`);
  else log(`WARNING: the machine is not quiet (${busy} over the last second, load ${quiet.load.map((l) => l.toFixed(2)).join(' ')}); figures may be off`);

  if (PROFILE) return profile(machine);

  const code = codeInfo(here);
  log(`mob at ${code.commit ?? 'unknown commit'}${code.packagesChanged ? ' with uncommitted changes in packages/' : ''}, build ${code.mobBuild}`);
  log(`${RUNS} run(s) of each case (${READY_RUNS} of readiness and RSS, ${NATS_RUNS} of mob over NATS and Moleculer), each scenario in its own process group`);
  if (ONLY.length) log(`only ${SELECTED.map((s) => s.id).join(', ')} (MOB_BENCH_ONLY): no files written`);
  const { runs, meta, failures, passed, contended } = await runAll();
  // Another process may rebuild mob meanwhile: figures from two builds are not one measurement.
  const after = codeInfo(here);
  const rebuilt = after.mobBuild !== code.mobBuild;
  if (rebuilt) log(`WARNING: mob's build changed during the run (${code.mobBuild} → ${after.mobBuild}); run it again`);
  const figures = computeFigures(runs);
  const targets = computeTargets(figures);
  // A partial run shows the figures and targets it measured, not the others as missing.
  const shown = ONLY.length ? figures.filter((f) => f.runs.some(Number.isFinite)) : figures;
  const judged = ONLY.length ? targets.filter((t) => Number.isFinite(t.actual)) : targets;
  log('');
  log(textTable(shown, judged, { quick: QUICK }));
  const byProcess = cpuByProcess(runs);
  if (byProcess) log(`\n${byProcess}`);
  log('');

  // Results of a failed run, or of two builds of mob, are not written over the last good ones.
  if (!QUICK && !ONLY.length && failures.length === 0 && !rebuilt) {
    const results = join(here, 'results');
    mkdirSync(results, { recursive: true });
    const json = {
      machine,
      code: { ...code, buildChangedDuringRun: rebuilt },
      quiet,
      contendedRuns: contended,
      contentionThresholdCores: CONTENDED_CORES,
      scenarioRuns: meta,
      runs: RUNS,
      readyRuns: READY_RUNS,
      natsRuns: NATS_RUNS,
      settings: base,
      figures: figures.map(({ id, label, unit, better, impl, value, runs: r, baselineValue, ratio, isBaseline }) => ({
        id, label, unit, better, impl, value, runs: r, baseline: baselineValue, ratio, isBaseline,
      })),
      targets,
      cpuSecondsPer100kCallsByProcess: processCpu(runs),
    };
    writeFileSync(join(results, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
    writeFileSync(join(results, 'chart.svg'), chartSvg(figures, { machine, runs: RUNS }));
    writeFileSync(join(here, 'PERFORMANCE.md'), markdown(figures, targets, { machine, runs: RUNS, quiet, contended, code }));
    log('wrote results/latest.json, results/chart.svg, PERFORMANCE.md');
  }
  if (contended.length) log(`WARNING: ${contended.length} run(s) kept although the machine was busy: ${contended.join(', ')}`);
  for (const f of failures) log(`FAILED ${f}`);
  log(`bench took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // The plain closing line that test runners' readers understand: cases, not timings.
  log(`bench: ${passed} passed, ${failures.length} failed`);
  if (failures.length) process.exitCode = 1;
}

main().catch((err) => {
  log(`bench failed: ${(err && err.stack) || err}`);
  killAll();
  process.exit(1);
});
