import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** One line a worker wrote. */
export interface LogLine {
  /** ms since epoch, when the Kingpin read it */
  time: number;
  role: string;
  pid: number;
  stream: 'stdout' | 'stderr';
  line: string;
}

/** Bounds of what the Kingpin keeps of its workers' output. */
export interface LogLimits {
  /** lines kept per worker (default 1,000) */
  lines: number;
  /** characters of one line kept (longer lines are cut; default 8 KiB) */
  lineLength: number;
  /** exited workers whose lines are kept (default 32, the most recent) */
  exited: number;
}

export const DEFAULT_LOG_LIMITS: LogLimits = { lines: 1000, lineLength: 8 * 1024, exited: 32 };

interface Ring {
  role: string;
  pid: number;
  lines: LogLine[];
  /** the index of the oldest line once the ring is full */
  head: number;
}

/**
 * The workers' stdout and stderr: passed on to the Kingpin's own, byte for byte (the app's
 * terminal output is what it was), and kept as lines in a bounded ring per worker, for
 * `mob logs` and crash reports.
 */
export class Output {
  readonly #rings = new Map<number, Ring>();
  readonly #exited: number[] = [];
  readonly #limits: LogLimits;
  readonly #onLine: (line: LogLine) => void;

  constructor(onLine: (line: LogLine) => void, limits: LogLimits = DEFAULT_LOG_LIMITS) {
    this.#onLine = onLine;
    this.#limits = limits;
  }

  /** Relays and records a worker's streams (null when it inherits them). */
  attach(pid: number, role: string, stdout: Readable | null, stderr: Readable | null): void {
    const ring: Ring = { role, pid, lines: [], head: 0 };
    this.#rings.set(pid, ring);
    if (stdout) this.#follow(ring, stdout, 'stdout', process.stdout);
    if (stderr) this.#follow(ring, stderr, 'stderr', process.stderr);
  }

  /** The worker exited: its lines stay, among the last `exited` workers'. */
  exited(pid: number): void {
    if (!this.#rings.has(pid)) return;
    this.#exited.push(pid);
    while (this.#exited.length > this.#limits.exited) this.#rings.delete(this.#exited.shift()!);
  }

  /** The last `n` lines of every worker that `match` accepts, oldest first. */
  lines(n: number, match: (role: string, pid: number) => boolean = () => true): LogLine[] {
    const out: LogLine[] = [];
    for (const ring of this.#rings.values()) if (match(ring.role, ring.pid)) out.push(...ordered(ring));
    out.sort((a, b) => a.time - b.time);
    return n >= out.length ? out : out.slice(out.length - n);
  }

  #follow(ring: Ring, from: Readable, stream: 'stdout' | 'stderr', to: Writable): void {
    const relay = relayTo(to);
    const decoder = new StringDecoder('utf8');
    let partial = '';
    // The rest of a line already kept, cut at the line bound: dropped up to its end.
    let cutting = false;
    from.on('data', (chunk: Buffer) => {
      relay(from, chunk);
      let text = partial + decoder.write(chunk);
      if (cutting) {
        const nl = text.indexOf('\n');
        partial = '';
        if (nl < 0) return;
        text = text.slice(nl + 1);
        cutting = false;
      }
      let nl: number;
      while ((nl = text.indexOf('\n')) >= 0) {
        this.#push(ring, stream, text.slice(0, nl));
        text = text.slice(nl + 1);
      }
      // A line longer than the bound is kept cut (marked so) as one line: its rest is dropped.
      if (text.length > this.#limits.lineLength) {
        this.#push(ring, stream, text);
        text = '';
        cutting = true;
      }
      partial = text;
    });
    from.on('end', () => {
      partial += decoder.end();
      if (partial) this.#push(ring, stream, partial);
      partial = '';
    });
    // A stream error is the worker's end, which the Kingpin learns of elsewhere.
    from.on('error', () => {});
  }

  #push(ring: Ring, stream: 'stdout' | 'stderr', text: string): void {
    if (text.endsWith('\r')) text = text.slice(0, -1);
    const max = this.#limits.lineLength;
    const line: LogLine = { time: Date.now(), role: ring.role, pid: ring.pid, stream, line: text.length > max ? `${text.slice(0, max)}… [cut: longer than ${max} characters]` : text };
    if (ring.lines.length < this.#limits.lines) ring.lines.push(line);
    else {
      ring.lines[ring.head] = line;
      ring.head = (ring.head + 1) % ring.lines.length;
    }
    this.#onLine(line);
  }
}

const relays = new WeakMap<Writable, (from: Readable, chunk: Buffer) => void>();

/**
 * Writes the workers' chunks to one of the Kingpin's streams as they come. When it is slow
 * (a full pipe), the workers that wrote are paused until it drains: a slow terminal slows
 * the workers' writes, and the Kingpin holds no more than one chunk per worker. One 'drain'
 * listener per stream, however many workers (pipe() would add five per worker). A closed
 * stream (EPIPE: `node main.js | head`) is not the Kingpin's to die of.
 */
function relayTo(to: Writable): (from: Readable, chunk: Buffer) => void {
  let relay = relays.get(to);
  if (relay) return relay;
  const paused = new Set<Readable>();
  to.on('error', () => {});
  to.on('drain', () => {
    for (const from of paused) from.resume();
    paused.clear();
  });
  relay = (from, chunk) => {
    if (to.destroyed || to.write(chunk)) return;
    from.pause();
    paused.add(from);
  };
  relays.set(to, relay);
  return relay;
}

function ordered(ring: Ring): LogLine[] {
  return ring.head === 0 ? ring.lines.slice() : [...ring.lines.slice(ring.head), ...ring.lines.slice(0, ring.head)];
}
