// What machine the figures come from, and whether it was quiet enough to trust them.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** CPU model, cores, memory, OS, Node version and the date. */
export function machineInfo() {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) cpu = line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // not Linux: os.cpus() said it
  }
  return {
    cpu,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    date: new Date().toISOString(),
  };
}

/** The aggregate `cpu` line of /proc/stat: [busy, total] jiffies. */
function cpuTimes() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((s, x) => s + x, 0);
  // idle + iowait are not busy
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return [total - idle, total];
}

/** Share of all cores busy over `ms` (0..1), from /proc/stat; null where there is none. */
export async function busyShare(ms = 1000) {
  let a;
  try {
    a = cpuTimes();
  } catch {
    return null;
  }
  await sleep(ms);
  const b = cpuTimes();
  const total = b[1] - a[1];
  return total > 0 ? (b[0] - a[0]) / total : 0;
}

/**
 * Waits until the machine is quiet: less than `threshold` of all cores busy over `need`
 * consecutive 1 s samples (one lull is not enough), for at most `maxWaitMs`. Returns what it
 * saw; `quiet` false means it gave up. The load average is reported, not judged: it lags by
 * minutes and counts this harness's own previous round.
 */
export async function waitForQuiet({ threshold = 0.1, need = 2, maxWaitMs = 60_000, log = () => {} } = {}) {
  const start = Date.now();
  let samples = 0;
  let calm = 0;
  let warned = false;
  for (;;) {
    const busy = await busyShare(1000);
    samples++;
    const load = os.loadavg();
    const seen = { busy, load, waitedMs: Date.now() - start, samples };
    if (busy === null) return { quiet: true, ...seen };
    calm = busy < threshold ? calm + 1 : 0;
    if (calm >= need) return { quiet: true, ...seen };
    if (Date.now() - start + 1000 > maxWaitMs && calm === 0) return { quiet: false, ...seen };
    if (calm === 0 && !warned) {
      warned = true;
      log(`machine busy (${(busy * 100).toFixed(0)}% of ${os.cpus().length} cores); waiting up to ${Math.round(maxWaitMs / 1000)} s for it to settle`);
    }
  }
}

/**
 * Which mob is measured: the commit, whether packages/ has changes, and a hash of the six
 * packages' built entry files, so a rebuild in the middle of a run can be noticed.
 */
export function codeInfo(dir) {
  const require = createRequire(join(dir, 'package.json'));
  const hash = createHash('sha256');
  for (const pkg of ['mob', 'mob-messaging', 'mob-kingpin', 'mob-proxy', 'mob-callbacks', 'mob-nats']) {
    try {
      hash.update(readFileSync(require.resolve(pkg)));
    } catch {
      hash.update(`${pkg}: not built`);
    }
  }
  const git = (...args) => {
    try {
      return execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const status = git('status', '--porcelain', '--', '../../packages');
  return { commit: git('rev-parse', '--short', 'HEAD'), packagesChanged: status === null ? null : status !== '', mobBuild: hash.digest('hex').slice(0, 12) };
}
