import { performance } from 'node:perf_hooks';
import { Kind, LATENCY_BUCKETS, type ExportFigures, type ReportFrame } from './protocol.js';

/** What the layers above add to a worker's report (mob-proxy: the exports it serves). */
export interface ReportPart {
  /** per export served: its figures since the worker started */
  exports?: Record<string, ExportFigures>;
  /** calls being served now */
  running?: number;
  /** calls this worker made that are not settled */
  pending?: number;
}

/**
 * A worker's report: what is cheap to read (CPU time, RSS, heap used, event-loop
 * utilization: counters the process keeps anyway, no timer of its own beyond the one report
 * a second), and what the parts registered with `add` tell.
 */
export class Reporter {
  readonly #parts: (() => ReportPart)[] = [];
  readonly #links: () => number;

  constructor(links: () => number) {
    this.#links = links;
  }

  add(part: () => ReportPart): void {
    this.#parts.push(part);
  }

  frame(): ReportFrame {
    const cpu = process.cpuUsage();
    const elu = performance.eventLoopUtilization();
    const mem = process.memoryUsage();
    const fr: ReportFrame = {
      k: Kind.Report,
      t: Date.now(),
      c: [cpu.user, cpu.system],
      m: mem.rss,
      h: mem.heapUsed,
      e: [Math.round(elu.idle), Math.round(elu.active)],
      l: this.#links(),
    };
    let running = 0;
    let pending = 0;
    for (const part of this.#parts) {
      let p: ReportPart;
      try {
        p = part();
      } catch {
        continue;
      }
      if (p.exports) fr.x = { ...fr.x, ...p.exports };
      running += p.running ?? 0;
      pending += p.pending ?? 0;
    }
    fr.r = running;
    fr.o = pending;
    return fr;
  }
}

/**
 * Of the calls of one export that came in one batch, after the first: one in this many is timed.
 *
 * @example
 * import { SAMPLE_EVERY } from 'mob-messaging';
 * console.log(SAMPLE_EVERY); // 8: of 100 pipelined calls, 13 are timed
 */
export const SAMPLE_EVERY = 8;

/**
 * The figures of one served export: calls, errors, and a histogram of their durations over
 * LATENCY_BUCKETS. `observe` costs a bucket search over 16 bounds.
 *
 * Timing a call costs two clock reads (about 45 ns each), a few percent of a pipelined call.
 * So when calls of an export that answers at once (no promise) come in one batch, `sample`
 * has the first of them timed and then one in SAMPLE_EVERY; `again` counts each of the
 * others in the histogram as the last timed one. Counts of calls and errors are exact; a call
 * that came alone is always timed.
 *
 * @example
 * const foo = new ExportStats();
 * foo.observe(0.0003, false);
 * foo.figures(); // [1, 0, 0.0003, 0, 0, 1, 0, ...]
 */
export class ExportStats {
  calls = 0;
  errors = 0;
  sum = 0;
  readonly buckets: number[] = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  /** false once a call of it returned a promise: then every call is timed */
  sync = true;
  #batch = -1;
  #inBatch = 0;
  #lastBucket = -1;
  #lastSeconds = 0;

  /** Whether to time a call that came in batch number `batch` (see Transport's batch). */
  sample(batch: number): boolean {
    if (!this.sync) return true;
    if (batch !== this.#batch) {
      this.#batch = batch;
      this.#inBatch = 1;
      return true;
    }
    return this.#lastBucket < 0 || this.#inBatch++ % SAMPLE_EVERY === 0;
  }

  /** One call served in `seconds`; `failed`: it threw or rejected. */
  observe(seconds: number, failed: boolean): void {
    this.calls++;
    if (failed) this.errors++;
    this.sum += seconds;
    let i = 0;
    const n = LATENCY_BUCKETS.length;
    while (i < n && seconds > LATENCY_BUCKETS[i]!) i++;
    this.buckets[i]!++;
    this.#lastBucket = i;
    this.#lastSeconds = seconds;
  }

  /** A call not timed (see sample): counted, and in the histogram as the last timed call. */
  again(failed: boolean): void {
    if (this.#lastBucket < 0) return this.observe(0, failed);
    this.calls++;
    if (failed) this.errors++;
    this.sum += this.#lastSeconds;
    this.buckets[this.#lastBucket]!++;
  }

  /** As a report carries them (see ExportFigures). */
  figures(): ExportFigures {
    return [this.calls, this.errors, this.sum, ...this.buckets];
  }
}
