// Runs one scenario in its own process group and collects its `@@bench` line. Every process
// it starts is gone when the promise settles: the group is killed on a timeout or a failure,
// and a scenario that leaves a process behind fails.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const PREFIX = '@@bench ';
const live = new Set();

/** Kill every scenario group still running (on the harness's own exit or a signal). */
export function killAll() {
  for (const pgid of live) killGroup(pgid, 'SIGKILL');
  live.clear();
}

function killGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // no such group: every process of it is gone
  }
}

function groupAlive(pgid) {
  return killGroup(pgid, 0);
}

/** Waits up to `ms` for a process group to empty (workers leave after their primary). */
async function groupGone(pgid, ms) {
  const end = Date.now() + ms;
  while (groupAlive(pgid)) {
    if (Date.now() > end) return false;
    await sleep(25);
  }
  return true;
}

/** Busy and total jiffies of the whole machine, from /proc/stat (null where there is none). */
function machineJiffies() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
  } catch {
    return null;
  }
}

/** utime + stime (jiffies) of every live process of group `pgid`, by pid. */
function groupJiffies(pgid, into) {
  let pids;
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The name field may hold spaces and parentheses (mob retitles processes): skip past it.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[2]) !== pgid) continue;
      const cpu = Number(rest[11]) + Number(rest[12]);
      if (cpu > (into.get(pid) ?? 0)) into.set(pid, cpu);
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * Watches how much CPU the rest of the machine uses while a scenario runs: the machine's busy
 * time less the scenario group's and this harness's. `stop()` gives it in cores (1 = one core
 * busy all along). Samples every 200 ms; what a process does in its last 200 ms counts as the
 * others', so the figure errs towards "contended".
 */
function watchContention(pgid) {
  const m0 = machineJiffies();
  const self0 = process.cpuUsage();
  const t0 = Date.now();
  const group = new Map();
  groupJiffies(pgid, group);
  const timer = setInterval(() => groupJiffies(pgid, group), 200);
  return () => {
    clearInterval(timer);
    const m1 = machineJiffies();
    if (!m0 || !m1) return null;
    const self = process.cpuUsage(self0);
    const hz = (m1.total - m0.total) / ((Date.now() - t0) / 1000) / (readCores() || 1);
    const groupSec = [...group.values()].reduce((a, b) => a + b, 0) / hz;
    const busySec = (m1.busy - m0.busy) / hz;
    const selfSec = (self.user + self.system) / 1e6;
    const wallSec = (Date.now() - t0) / 1000;
    return { othersCores: Math.max(0, busySec - groupSec - selfSec) / wallSec, groupCores: groupSec / wallSec, wallSec };
  };
}

function readCores() {
  try {
    return readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d/.test(l)).length;
  } catch {
    return 0;
  }
}

/**
 * Runs `node [nodeArgs] file` with `env`, bounded by `timeoutMs`. Resolves with the parsed
 * result line, the wall time and what the rest of the machine used meanwhile (`contention`);
 * rejects with the scenario's stderr on any failure.
 */
export async function runScenario({ file, env, nodeArgs = [], timeoutMs, cwd }) {
  const t0 = Date.now();
  const child = spawn(process.execPath, [...nodeArgs, file], {
    cwd,
    env: { ...process.env, ...env },
    // Its own process group: the scenario and every worker it forks are killed together.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pgid = child.pid;
  live.add(pgid);
  const contention = watchContention(pgid);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s) => (stderr += s));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(pgid, 'SIGKILL');
  }, timeoutMs);
  const [code, signal] = await new Promise((resolve) => {
    child.once('error', (err) => {
      stderr += `${err.message}\n`;
      resolve([null, null]);
    });
    child.once('close', (c, s) => resolve([c, s]));
  });
  clearTimeout(timer);
  const others = contention();
  const clean = await groupGone(pgid, 3000);
  if (!clean) killGroup(pgid, 'SIGKILL');
  await groupGone(pgid, 2000);
  live.delete(pgid);
  const where = `${file}${env.POOL ? ` (${env.POOL})` : ''}${env.RELAY_BATCH === '1' ? ' (batched)' : ''}${env.MOB_LINKS === '0' ? ' (links: false)' : ''}${env.PINGPONG ? ` (${env.PINGPONG})` : ''}${env.NATS_LOCAL === '1' ? ' (callee on both hosts)' : ''}`;
  const tail = stderr.trim().split('\n').slice(-30).join('\n');
  if (timedOut) throw new Error(`${where} did not finish within ${timeoutMs} ms; killed its process group\n${tail}`);
  if (code !== 0) throw new Error(`${where} exited with ${signal ? `signal ${signal}` : `code ${code}`}\n${tail}`);
  if (!clean) throw new Error(`${where} left processes running after it exited; killed them`);
  const line = stdout.split('\n').find((l) => l.startsWith(PREFIX));
  if (!line) throw new Error(`${where} printed no result line\n${tail}`);
  return { result: JSON.parse(line.slice(PREFIX.length)), ms: Date.now() - t0, stderr, contention: others };
}
