// Runs a real multi-process app for an integration test: collects its JSON stdout lines,
// waits on them with a bound, and proves at the end that no process it started is left.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface App {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** JSON objects the app printed, one per stdout line */
  readonly lines: any[];
  /** everything printed so far */
  stdout(): string;
  stderr(): string;
  /** resolves with the first line (past or future) for which `pred` is true */
  waitFor<T = any>(pred: (line: any) => boolean, what: string, timeoutMs?: number): Promise<T>;
  /** resolves when stdout and stderr hold `count` matches of `re` (default 1) */
  waitForText(re: RegExp, count?: number, timeoutMs?: number): Promise<string[]>;
  /** resolves with the exit code and signal */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** every process descended from the app, now */
  descendants(): number[];
  /** stop the app (SIGTERM, then SIGKILL of everything after `graceMs`) and prove none is left */
  stop(graceMs?: number): Promise<void>;
}

const started: App[] = [];

export function startApp(
  file: string,
  opts: { env?: Record<string, string>; cwd?: string; args?: string[]; group?: boolean; argv0?: string } = {},
): App {
  const proc = spawn(process.execPath, [file, ...(opts.args ?? [])], {
    cwd: opts.cwd,
    // what the process sees as argv[0] ('node' as a shell gives it; default: the full path)
    ...(opts.argv0 === undefined ? {} : { argv0: opts.argv0 }),
    // its own process group, as a terminal gives it (for signals to the whole group)
    detached: opts.group ?? false,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let partial = '';
  const lines: any[] = [];
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...waiters]) w();
  };
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    partial += chunk;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      if (line.startsWith('{')) {
        try {
          lines.push(JSON.parse(line));
        } catch {
          // not one of ours
        }
      }
    }
    wake();
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
    wake();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => {
      wake();
      resolve({ code, signal });
    }),
  );
  const seen = new Set<number>();
  const descendants = (): number[] => {
    const now = descendantsOf(proc.pid!);
    for (const p of now) seen.add(p);
    return now;
  };
  const waitUntil = <T>(check: () => T | undefined, what: string, timeoutMs: number): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const tick = (): void => {
        descendants();
        const v = check();
        if (v !== undefined) {
          cleanup();
          resolve(v);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n--- stdout:\n${out.slice(-3000)}\n--- stderr:\n${err.slice(-3000)}`));
      }, timeoutMs);
      const poll = setInterval(tick, 50);
      const cleanup = (): void => {
        clearTimeout(timer);
        clearInterval(poll);
        waiters.delete(tick);
      };
      waiters.add(tick);
      tick();
    });
  const app: App = {
    proc,
    pid: proc.pid!,
    lines,
    stdout: () => out,
    stderr: () => err,
    exited,
    descendants,
    waitFor: (pred, what, timeoutMs = 15_000) => waitUntil(() => lines.find(pred), what, timeoutMs),
    waitForText: (re, count = 1, timeoutMs = 15_000) => {
      const global = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`);
      return waitUntil(
        () => {
          const found = (out + err).match(global);
          return found && found.length >= count ? [...found] : undefined;
        },
        `${count} × ${re}`,
        timeoutMs,
      );
    },
    async stop(graceMs = 8_000) {
      descendants();
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), delay(graceMs).then(() => false)]);
      if (!done) killAll([proc.pid!, ...seen]);
      await exited;
      await assertGone([...seen, proc.pid!]);
    },
  };
  started.push(app);
  return app;
}

/** Stop every app a test file started (for afterAll / afterEach). */
export async function stopAll(): Promise<void> {
  const apps = started.splice(0);
  await Promise.all(apps.map((a) => a.stop()));
}

/** Fails unless every pid is gone within `timeoutMs`; kills survivors so nothing stays behind. */
export async function assertGone(pids: number[], timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let alive = pids.filter(isAlive);
  while (alive.length && Date.now() < until) {
    await delay(25);
    alive = alive.filter(isAlive);
  }
  if (alive.length) {
    killAll(alive);
    throw new Error(`processes left behind: ${alive.join(', ')}`);
  }
}

export function isAlive(pid: number): boolean {
  try {
    // A zombie has exited; only its parent's wait is missing.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function killAll(pids: number[]): void {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Every live descendant of `root`. */
export function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // exited while we looked
    }
  }
  const out: number[] = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out.filter(isAlive);
}

/** The command line of a process, as `ps -o args` shows it. */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/**
 * Resolves true as soon as `check()` holds, or false once `timeout` ms have passed. For what
 * arrives by another path than the event a test awaited: a worker's stdout line against an
 * HTTP answer or an IPC reply, stderr against stdout, any output against the app's exit.
 * Assert right after it: on a timeout the assertion shows what is missing.
 *
 * @example
 * await waitFor(() => hits().length >= results.length);
 * expect(hits()).toEqual(results.map((r) => r.id));
 */
export async function waitFor(check: () => boolean, { timeout = 5_000, every = 10 }: { timeout?: number; every?: number } = {}): Promise<boolean> {
  const until = Date.now() + timeout;
  while (!check()) {
    if (Date.now() >= until) return false;
    await delay(every);
  }
  return true;
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
