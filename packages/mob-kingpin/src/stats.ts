import { LATENCY_BUCKETS, type ReportFrame } from 'mob-messaging';

/** The figures of one export: calls, errors, the sum of durations (s) and counts per bucket. */
export interface ExportTotals {
  calls: number;
  errors: number;
  /** seconds */
  sum: number;
  /** counts per LATENCY_BUCKETS bucket, the last one above them all (not cumulative) */
  buckets: number[];
}

/** One worker's figures, as `kingpin.stats()` gives them. */
export interface WorkerStats {
  pid: number;
  /** the router's state: 'starting' | 'ready' | 'stopping' | 'dead' */
  state: string;
  /** ms since epoch when it was forked */
  startedAt: number;
  /** ms since it was forked */
  uptime: number;
  /** unexpected exits of the workers it replaced, one after the other (as PM2 counts per instance) */
  restarts: number;
  /** resident set size, bytes (0 until its first report) */
  rss: number;
  /** V8 heap used, bytes */
  heapUsed: number;
  /** % of one core over the last report interval (0 until there are two reports) */
  cpu: number;
  /** CPU time (user + system) since it started, seconds */
  cpuSeconds: number;
  /** event-loop utilization over the last report interval, 0..1 */
  elu: number;
  /** calls it served (all exports) */
  calls: number;
  /** of them, calls that threw or rejected */
  errors: number;
  /** calls served per second over the last report interval */
  callsPerSec: number;
  /** ms, median and 99th percentile of the calls it served over the last 10 s (null: none) */
  p50: number | null;
  p99: number | null;
  /** calls it is serving now */
  inflight: number;
  /** calls it made that are not settled */
  pending: number;
  /** direct links open */
  links: number;
  /** seconds since its last report (null: none yet) */
  reportAge: number | null;
  /** per export it served */
  exports: Record<string, ExportTotals>;
}

interface Sample {
  /** when the Kingpin received it (ms) */
  at: number;
  cpuUs: number;
  elu: [number, number];
  calls: number;
  exports: Map<string, ExportTotals>;
}

interface Tracked {
  role: string;
  startedAt: number;
  rss: number;
  heapUsed: number;
  inflight: number;
  pending: number;
  links: number;
  /** the reports of the last WINDOW_MS, oldest first (the newest is the current figures) */
  samples: Sample[];
  /** asked for a report and waiting for it */
  waiters: (() => void)[];
}

/** The span of reports the percentiles are taken over. */
const WINDOW_MS = 10_000;
/** Reports older than this: the worker is not waited for when fresh figures are wanted. */
export const STALE_MS = 3_000;
/** Rates (CPU, calls/s, event-loop use) are taken over at least this long, when the reports span it. */
const RATE_MIN_MS = 900;
const MAX_EXPORTS = 1000;

/**
 * What the Kingpin knows of its workers' figures: the last reports of every live worker, and
 * per role the totals of its dead workers, so that a role's counters never go down when a
 * worker exits (they are kept, not subtracted).
 */
export class StatsBook {
  readonly #workers = new Map<number, Tracked>();
  /** per role, per export: the totals of its workers that exited */
  readonly #dead = new Map<string, Map<string, ExportTotals>>();

  /** A worker was forked. */
  fork(pid: number, role: string): void {
    this.#workers.set(pid, { role, startedAt: Date.now(), rss: 0, heapUsed: 0, inflight: 0, pending: 0, links: 0, samples: [], waiters: [] });
  }

  /** A worker exited: its last counts join its role's totals. */
  exit(pid: number): void {
    const w = this.#workers.get(pid);
    if (!w) return;
    this.#workers.delete(pid);
    const last = w.samples[w.samples.length - 1];
    if (last) {
      let dead = this.#dead.get(w.role);
      if (!dead) this.#dead.set(w.role, (dead = new Map()));
      for (const [name, t] of last.exports) add(dead, name, t);
    }
    for (const fn of w.waiters) fn();
  }

  /** A report arrived; fields that are not what they should be are ignored. */
  report(pid: number, fr: ReportFrame): void {
    const w = this.#workers.get(pid);
    if (!w) return;
    const now = Date.now();
    if (isCount(fr.m)) w.rss = fr.m;
    if (isCount(fr.h)) w.heapUsed = fr.h;
    if (isCount(fr.r)) w.inflight = fr.r;
    if (isCount(fr.o)) w.pending = fr.o;
    if (isCount(fr.l)) w.links = fr.l;
    const prev = w.samples[w.samples.length - 1];
    const cpuUs = Array.isArray(fr.c) && fr.c.length === 2 && fr.c.every(isCount) ? fr.c[0]! + fr.c[1]! : (prev?.cpuUs ?? 0);
    const elu: [number, number] =
      Array.isArray(fr.e) && fr.e.length === 2 && fr.e.every(isCount) ? [fr.e[0]!, fr.e[1]!] : (prev?.elu ?? [0, 0]);
    const exports = new Map<string, ExportTotals>(prev?.exports);
    if (typeof fr.x === 'object' && fr.x !== null) {
      for (const [name, f] of Object.entries(fr.x)) {
        const t = totalsFrom(f);
        if (t && (exports.has(name) || exports.size < MAX_EXPORTS) && name.length <= 256) exports.set(name, t);
      }
    }
    let calls = 0;
    for (const t of exports.values()) calls += t.calls;
    w.samples.push({ at: now, cpuUs, elu, calls, exports });
    while (w.samples.length > 2 && now - w.samples[1]!.at >= WINDOW_MS) w.samples.shift();
    const waiters = w.waiters;
    w.waiters = [];
    for (const fn of waiters) fn();
  }

  /**
   * Resolves once every worker in `pids` whose reports are not stale has reported again, or
   * after `timeoutMs`. `ask` sends each of them the request.
   */
  fresh(pids: number[], ask: (pid: number) => boolean, timeoutMs: number): Promise<void> {
    const now = Date.now();
    const waits: Promise<void>[] = [];
    for (const pid of pids) {
      const w = this.#workers.get(pid);
      const last = w?.samples[w.samples.length - 1];
      // A worker that has gone quiet is served with its last figures, at once.
      if (!w || (last ? now - last.at > STALE_MS : now - w.startedAt > STALE_MS) || !ask(pid)) continue;
      waits.push(new Promise<void>((resolve) => w.waiters.push(resolve)));
    }
    if (waits.length === 0) return Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    return Promise.race([Promise.all(waits).then(() => undefined), deadline]).finally(() => clearTimeout(timer));
  }

  /** One worker's figures (see WorkerStats). */
  worker(pid: number, state: string, restarts = 0): WorkerStats | null {
    const w = this.#workers.get(pid);
    if (!w) return null;
    const now = Date.now();
    const s = w.samples;
    const last = s[s.length - 1];
    const first = s[0];
    // Rates over about a second at least: a report asked for (a status, a scrape) can come a
    // few ms after the periodic one, and a rate over those few ms is noise (0, or double).
    let prev = s.length > 1 ? first : undefined;
    for (let i = s.length - 2; i >= 0; i--) {
      if (last!.at - s[i]!.at >= RATE_MIN_MS) {
        prev = s[i];
        break;
      }
    }
    let cpu = 0;
    let elu = 0;
    let callsPerSec = 0;
    if (last && prev && last.at > prev.at) {
      const ms = last.at - prev.at;
      cpu = round((100 * (last.cpuUs - prev.cpuUs)) / 1000 / ms, 1);
      const idle = last.elu[0] - prev.elu[0];
      const active = last.elu[1] - prev.elu[1];
      elu = idle + active > 0 ? round(active / (idle + active), 3) : 0;
      callsPerSec = round(((last.calls - prev.calls) * 1000) / ms, 1);
    }
    const exports: Record<string, ExportTotals> = {};
    let errors = 0;
    if (last) {
      for (const [name, t] of last.exports) {
        exports[name] = t;
        errors += t.errors;
      }
    }
    // Percentiles over the window: what the newest report holds beyond the oldest.
    let p50: number | null = null;
    let p99: number | null = null;
    if (last) {
      const hist = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
      for (const [name, t] of last.exports) {
        const before = first !== last ? first?.exports.get(name) : undefined;
        for (let i = 0; i < hist.length; i++) hist[i]! += (t.buckets[i] ?? 0) - (before?.buckets[i] ?? 0);
      }
      p50 = percentile(hist, 0.5);
      p99 = percentile(hist, 0.99);
    }
    return {
      pid,
      state,
      startedAt: w.startedAt,
      uptime: now - w.startedAt,
      restarts,
      rss: w.rss,
      heapUsed: w.heapUsed,
      cpu,
      cpuSeconds: last ? last.cpuUs / 1e6 : 0,
      elu,
      calls: last?.calls ?? 0,
      errors,
      callsPerSec,
      p50,
      p99,
      inflight: w.inflight,
      pending: w.pending,
      links: w.links,
      reportAge: last ? (now - last.at) / 1000 : null,
      exports,
    };
  }

  /** A role's totals per export: its live workers' latest figures plus its dead workers'. */
  roleExports(role: string): Record<string, ExportTotals> {
    const sum = new Map<string, ExportTotals>();
    for (const [name, t] of this.#dead.get(role) ?? []) add(sum, name, t);
    for (const w of this.#workers.values()) {
      if (w.role !== role) continue;
      const last = w.samples[w.samples.length - 1];
      if (last) for (const [name, t] of last.exports) add(sum, name, t);
    }
    return Object.fromEntries(sum);
  }
}

function add(into: Map<string, ExportTotals>, name: string, t: ExportTotals): void {
  const cur = into.get(name);
  if (!cur) {
    into.set(name, { calls: t.calls, errors: t.errors, sum: t.sum, buckets: [...t.buckets] });
    return;
  }
  cur.calls += t.calls;
  cur.errors += t.errors;
  cur.sum += t.sum;
  for (let i = 0; i < cur.buckets.length; i++) cur.buckets[i]! += t.buckets[i] ?? 0;
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0;
}

/** An export's figures from a report: [calls, errors, sum, ...buckets], or null. */
function totalsFrom(f: unknown): ExportTotals | null {
  if (!Array.isArray(f) || f.length !== LATENCY_BUCKETS.length + 4 || !f.every(isCount)) return null;
  return { calls: f[0] as number, errors: f[1] as number, sum: f[2] as number, buckets: f.slice(3) };
}

/** The q-quantile of a histogram over LATENCY_BUCKETS, in ms (linear within a bucket). */
export function percentile(hist: number[], q: number): number | null {
  const total = hist.reduce((a, b) => a + b, 0);
  if (total <= 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    const n = hist[i]!;
    if (n > 0 && seen + n >= rank) {
      const lo = i === 0 ? 0 : LATENCY_BUCKETS[i - 1]!;
      if (i >= LATENCY_BUCKETS.length) return round(lo * 1000, 3);
      const hi = LATENCY_BUCKETS[i]!;
      return round((lo + ((hi - lo) * (rank - seen)) / n) * 1000, 3);
    }
    seen += n;
  }
  return round(LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1]! * 1000, 3);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
