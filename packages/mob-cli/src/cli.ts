import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ControlRequestError, assertStatus, connectControl, controlDir, listApps, socketPath, withTimeout, type AppStatus, type ControlClient, type Listed } from 'mob-control';
import { appText, listText } from './format.js';
import { serveDashboard } from './dashboard.js';
import { everyHost } from './hosts.js';

/** Where the command writes (tests give their own). */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: CliIo = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
};

export const USAGE = `usage: mob <command>

  mob ls [--json]                              the apps running on this host
  mob status [app] [--json] [--watch]          each role's workers: state, CPU, memory, calls, latency
  mob reload <app> [role]                      zero-downtime reload of one role or all
  mob scale <app> <role> <n>                   set a role's number of workers
  mob stop <app>                               stop gracefully (as SIGTERM)
  mob logs <app> [role|pid] [--lines N] [--no-follow]
                                               the workers' recent output, then follow it
  mob dashboard <app> [--port N] [--host H]    a live web dashboard (prints its URL)
  mob run <file> [-i N] [--name NAME]          run a server file as N workers (default: one per CPU)
  mob --version

<app> may be <app>@<host>: one host of an app over several hosts (mob-nats) that runs more
than one Kingpin on this machine. The apps' control sockets are in ${controlDir()} (MOB_HOME, else $XDG_RUNTIME_DIR/mob, else <tmpdir>/mob-<uid>).`;

/** This package's version (mob --version). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION = (require('../package.json') as { version: string }).version;

/** A command's failure: printed as its message alone, exit code 1. */
class Failure extends Error {}

/** A command used wrongly: printed with its usage, exit code 2. */
class Usage extends Error {}

/**
 * Runs the `mob` command with `argv` (without `node` and the script). Resolves with the exit
 * code: 0 on success, 1 on failure (the reason printed on stderr), 2 on a usage error.
 * `mob run` is the `mob` package's (it starts a Kingpin); the others are here.
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2));
 */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'ls':
      case 'list':
        return await ls(rest, io);
      case 'status':
        return await status(rest, io);
      case 'reload':
        return await reload(rest, io);
      case 'scale':
        return await scale(rest, io);
      case 'stop':
        return await stop(rest, io);
      case 'logs':
        return await logs(rest, io);
      case 'dashboard':
        return await dashboard(rest, io);
      case '-v':
      case '--version':
      case 'version':
        io.out(VERSION);
        return 0;
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        io.err(`mob: no command "${command}" (commands: ${COMMANDS.join(', ')}; mob --help shows how to use them)`);
        return 2;
    }
  } catch (err) {
    if (err instanceof Usage) {
      io.err(`mob ${command}: ${err.message}`);
      return 2;
    }
    if (err instanceof Failure || err instanceof ControlRequestError) {
      io.err(`mob ${command}: ${err.message}`);
      return 1;
    }
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`mob ${command}: ${argsError(err as Error)} (mob --help shows the usage)`);
      return 2;
    }
    throw err;
  }
}

/** How long a Kingpin has to answer that it is there, and a status. */
const HELLO_MS = 5_000;
const STATUS_MS = 10_000;

/**
 * Connects to app `target` (`app`, or `app@host` for one host of an app over several) and
 * checks that its Kingpin answers; fails with the list of the apps that are running. Over
 * several hosts with more than one Kingpin on this machine, `anyHost` takes any of them (a
 * status shows them all); else the command must name one.
 */
async function open(target: string | undefined, anyHost = false): Promise<ControlClient & { socket: string; app: string; pid: number }> {
  if (!target) throw new Usage(`which app? ${await running()}`);
  const at = target.lastIndexOf('@');
  const app = at > 0 ? target.slice(0, at) : target;
  const host = at > 0 ? target.slice(at + 1) : undefined;
  let path: string | undefined;
  try {
    path = socketPath(app, controlDir(), host);
  } catch {
    // A name too long for a socket path is no app's.
  }
  let c: ControlClient | undefined;
  if (path) {
    try {
      c = await connectControl(path, target);
    } catch (err) {
      if (!(err instanceof ControlRequestError && err.code === 'E_MOB_NO_APP')) throw err;
    }
  }
  if (!c && host === undefined) {
    // A host of an app over several hosts answers at <app>.<host>.sock.
    const hosts = (await listApps()).filter((l) => l.status?.name === app);
    if (hosts.length > 1 && !anyHost) {
      const names = hosts.map((l) => `${app}@${l.status!.host}`);
      throw new Failure(`app "${app}" runs as ${hosts.length} hosts on this machine (${names.join(', ')}): name one, as ${names[0]}`);
    }
    if (hosts[0]) c = await connectControl(hosts[0].socket, target);
  }
  if (!c) throw new Failure(`no app "${target}" is running on this host; ${await running()}`);
  try {
    const hello = (await withTimeout(c.request('hello'), HELLO_MS)) as { app?: unknown; socket?: unknown; pid?: unknown } | null;
    const pid = typeof hello?.pid === 'number' && Number.isInteger(hello.pid) && hello.pid > 0 ? hello.pid : 0;
    return Object.assign(c, { socket: typeof hello?.socket === 'string' ? hello.socket : (path ?? ''), app, pid });
  } catch (err) {
    c.close();
    if (err instanceof ControlRequestError && err.code === 'E_MOB_CONTROL_TIMEOUT') {
      throw new Failure(`the Kingpin of app "${target}" did not answer within ${HELLO_MS} ms (stopped, or stuck?)`);
    }
    throw err;
  }
}

async function running(): Promise<string> {
  const listed = (await listApps()).filter((l) => l.status);
  // Several hosts of one app on this machine: each as app@host.
  const count = new Map<string, number>();
  for (const l of listed) count.set(l.status!.name, (count.get(l.status!.name) ?? 0) + 1);
  const apps = listed.map((l) => (count.get(l.status!.name)! > 1 ? `${l.status!.name}@${l.status!.host}` : l.status!.name));
  return apps.length ? `running: ${apps.join(', ')}` : `no app is running (control folder ${controlDir()})`;
}

/** The commands, as an unknown one lists them. */
const COMMANDS = ['ls', 'status', 'reload', 'scale', 'stop', 'logs', 'run', 'dashboard'];

/**
 * A usage error of `util.parseArgs`, in one short line: its first sentence ("Unknown option
 * '--bogus'"), without the advice about `--` that follows it.
 *
 * @example
 * try { parseArgs({ args: ['--bogus'], options: {} }); } catch (err) { argsError(err); } // "Unknown option '--bogus'"
 */
export function argsError(err: Error): string {
  const first = /^(.*?[^.])\.(\s|$)/.exec(err.message);
  return first ? first[1]! : err.message;
}

/**
 * `value` of a numeric option given as `--lines -1` or `-n -1`, joined to it (`--lines=-1`,
 * `-n-1`): parseArgs would refuse it with its own long text, before the command's own short
 * check of the value can say what it takes.
 */
export function joinDashValues(args: string[], names: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (names.includes(a) && next !== undefined && /^-\d/.test(next)) {
      out.push(a.startsWith('--') ? `${a}=${next}` : `${a}${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** Says on stderr which sockets did not answer as they should (another version, another user). */
function unreadable(listed: Listed[], io: CliIo): number {
  let n = 0;
  for (const l of listed) {
    if (!l.error) continue;
    io.err(`${l.socket}: ${l.error.message}`);
    n++;
  }
  return n;
}

async function ls(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' } } });
  const listed = await listApps();
  const apps = everyHost(listed.filter((l) => l.status).map((l) => l.status!));
  // The apps that answered are listed; one that could not be read fails the command (and is
  // not said to be none).
  const failed = unreadable(listed, io);
  if (values.json) io.out(JSON.stringify(apps, null, 2));
  else if (apps.length || !failed) io.out(listText(apps));
  return failed ? 1 : 0;
}

async function status(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, watch: { type: 'boolean', short: 'w' } } });
  const app = positionals[0];
  let failed = 0;
  const read = async (): Promise<AppStatus[]> => {
    if (!app) {
      const listed = await listApps();
      failed = unreadable(listed, io);
      return everyHost(listed.filter((l) => l.status).map((l) => l.status!));
    }
    const c = await open(app, true);
    try {
      return everyHost([assertStatus(await withTimeout(c.request('status'), STATUS_MS), app)]);
    } finally {
      c.close();
    }
  };
  const print = (apps: AppStatus[]): void => {
    if (values.json) io.out(JSON.stringify(apps, null, 2));
    else if (apps.length || !failed) io.out(apps.length ? apps.map(appText).join('\n\n') : 'no mob app is running on this host');
  };
  if (!values.watch) {
    print(await read());
    return failed ? 1 : 0;
  }
  // --watch: redraw every second until interrupted (or the app is gone).
  for (;;) {
    const apps = await read();
    if (!values.json && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
    print(apps);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function describeProgress(data: unknown): string | null {
  const d = data as { type: string; role: string; pid?: number; code?: number | null; signal?: string | null; expected?: boolean; phase?: string; ok?: boolean };
  switch (d.type) {
    case 'fork':
      return `  worker ${d.pid} of ${d.role}: started`;
    case 'ready':
      return `  worker ${d.pid} of ${d.role}: ready`;
    case 'exit':
      return `  worker ${d.pid} of ${d.role}: exited (${d.signal ? `signal ${d.signal}` : `code ${d.code}`})${d.expected ? '' : ', unexpectedly'}`;
    case 'reload':
      return d.phase === 'start' ? `reloading role ${d.role}` : `role ${d.role}: ${d.ok ? 'reloaded' : 'reload stopped'}`;
    case 'crash':
      return `  worker ${d.pid} of ${d.role}: crashed`;
    default:
      return null;
  }
}

async function control(
  app: string | undefined,
  io: CliIo,
  op: 'reload' | 'scale' | 'stop',
  args: { role?: string; n?: number },
  seen?: (data: unknown) => void,
  opened?: (kingpinPid: number) => void,
): Promise<unknown> {
  const c = await open(app);
  opened?.(c.pid);
  try {
    return await c.request(op, args, (event, data) => {
      if (event !== 'progress') return;
      seen?.(data);
      const line = describeProgress(data);
      if (line) io.out(line);
    });
  } finally {
    c.close();
  }
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;

/** An answer to `op` that is not in the shape this mob's Kingpin gives: said, never printed as if it were. */
function badAnswer(app: string | undefined, op: string, answer: unknown): Failure {
  const text = JSON.stringify(answer) ?? String(answer);
  return new Failure(`the Kingpin of app "${app}" answered ${op} in a shape this mob does not know (${text.length > 80 ? `${text.slice(0, 80)}…` : text}); use the mob command of the app's own mob version`);
}

async function reload(args: string[], io: CliIo): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const [app, role] = positionals;
  const t0 = Date.now();
  let forks = 0;
  const r = await control(app, io, 'reload', role ? { role } : {}, (d) => {
    if ((d as { type?: unknown } | null)?.type === 'fork') forks++;
  });
  const reloaded = (r as { reloaded?: unknown } | null)?.reloaded;
  if (!(typeof reloaded === 'string' || (Array.isArray(reloaded) && reloaded.every((x) => typeof x === 'string')))) throw badAnswer(app, 'reload', r);
  // A reload replaces each running worker by a new one: no new worker, nothing was running
  // (in a mob over several hosts, the role may run on other hosts only).
  if (forks === 0) io.out(`${role ? `role ${role}` : 'no role'} of ${app} has no worker here: nothing to reload`);
  else io.out(`reloaded ${role ? `role ${role}` : 'every role'} of ${app} in ${Date.now() - t0} ms (${forks} new worker${forks === 1 ? '' : 's'})`);
  return 0;
}

async function scale(args: string[], io: CliIo): Promise<number> {
  // (parseArgs would take "-1" for an option and answer with its own long text.)
  const negative = args.find((a) => /^-\d/.test(a));
  if (negative !== undefined) throw new Usage(`n must be a whole number of workers, got "${negative}"`);
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const [app, role, count] = positionals;
  if (!role || count === undefined) throw new Usage('usage: mob scale <app> <role> <n>');
  const n = Number(count);
  if (!Number.isInteger(n) || n < 0) throw new Usage(`n must be a whole number of workers, got "${count}"`);
  const r = (await control(app, io, 'scale', { role, n })) as { workers: number };
  if (!isCount(r?.workers)) throw badAnswer(app, 'scale', r);
  io.out(`role ${role} of ${app}: ${r.workers} worker(s) ready`);
  return 0;
}

async function stop(args: string[], io: CliIo): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const app = positionals[0];
  let kingpin = 0;
  const r = (await control(app, io, 'stop', {}, undefined, (pid) => (kingpin = pid))) as { stopped: number; ms: number };
  if (!isCount(r?.stopped) || !isCount(r.ms)) throw badAnswer(app, 'stop', r);
  io.out(`stopped ${app}: ${r.stopped} worker(s) in ${r.ms} ms`);
  // Done when the Kingpin is gone too: a script may start the app again right after.
  if (kingpin > 0 && !(await gone(kingpin, KINGPIN_EXIT_MS))) {
    throw new Failure(`the Kingpin of ${app} (pid ${kingpin}) stopped its workers but has not exited within ${KINGPIN_EXIT_MS} ms`);
  }
  return 0;
}

/** True when process `pid` has exited and waits for its parent to reap it (Linux's /proc; false elsewhere). */
function zombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state …: comm may hold spaces and parentheses; the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/** How long `mob stop` waits for the Kingpin to exit once its workers are gone. */
const KINGPIN_EXIT_MS = 10_000;

/** Resolves true once process `pid` has exited (polled), false if it still runs after `ms`. */
async function gone(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      process.kill(pid, 0);
      // Exited, and not yet reaped by its parent: gone all the same.
      if (zombie(pid)) return true;
    } catch (err) {
      // EPERM: it runs, as another user's (not the case of a Kingpin we could stop).
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return true;
    }
    if (Date.now() >= until) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function logs(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: joinDashValues(args, ['--lines', '-n']),
    allowPositionals: true,
    allowNegative: true,
    options: { lines: { type: 'string', short: 'n' }, follow: { type: 'boolean', default: true } },
  });
  const [app, which] = positionals;
  const lines = values.lines === undefined ? 20 : Number(values.lines);
  if (!Number.isInteger(lines) || lines < 0) throw new Usage(`--lines must be a whole number (0 or more), got "${values.lines}"`);
  const filter: { role?: string; pid?: number } = {};
  if (which !== undefined) {
    if (/^\d+$/.test(which)) filter.pid = Number(which);
    else filter.role = which;
  }
  const c = await open(app);
  if (filter.role !== undefined) {
    // A role with no worker on this Kingpin's host (a mob over several hosts) has no lines
    // here: say where its workers are, rather than print nothing.
    const st = assertStatus(await withTimeout(c.request('status'), STATUS_MS), app ?? '');
    const here = st.roles.find((r) => r.name === filter.role);
    if (here && here.workers.length === 0) {
      const hosts = (st.others ?? []).filter((o) => o.roles.some((r) => r.name === filter.role && r.workers.length > 0)).map((o) => o.host);
      io.err(
        `mob logs: role ${filter.role} has no worker on host ${st.host}` +
          (hosts.length ? `; its workers run on ${hosts.join(', ')} (mob logs ${st.name}@${hosts[0]} ${filter.role} on that machine)` : ''),
      );
    }
  }
  const print = (event: string, data: unknown): void => {
    if (event !== 'log') return;
    const l = data as { role: string; pid: number; stream: string; line: string };
    const text = `${l.role} ${l.pid} | ${l.line}`;
    if (l.stream === 'stderr') io.err(text);
    else io.out(text);
  };
  try {
    const done = c.request('logs', { ...filter, lines, follow: values.follow }, print);
    if (!values.follow) {
      await done;
      return 0;
    }
    // Following: until interrupted, or until the app stops.
    await Promise.race([done, c.closed]);
    return 0;
  } catch (err) {
    if (err instanceof ControlRequestError && err.code === 'E_MOB_CONTROL_CLOSED') return 0;
    throw err;
  } finally {
    c.close();
  }
}

async function dashboard(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: joinDashValues(args, ['--port', '-p']), allowPositionals: true, options: { port: { type: 'string', short: 'p' }, host: { type: 'string' } } });
  const app = positionals[0];
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Usage(`--port must be a port number, got "${values.port}"`);
  const probe = await open(app);
  probe.close();
  const host = values.host ?? '127.0.0.1';
  let d: Awaited<ReturnType<typeof serveDashboard>>;
  try {
    d = await serveDashboard({ app: probe.app, socket: probe.socket, port, host });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Failure(`port ${port} on ${host} is in use: choose another with --port (0 takes a free one)`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new Failure(`cannot listen on ${host}: no such address on this machine`);
    if (code === 'EACCES') throw new Failure(`no permission to listen on ${host}:${port} (a port below 1024?)`);
    throw err;
  }
  io.out(`mob dashboard of ${app}: ${d.url}`);
  io.out('(the link carries this run\'s token; Ctrl+C stops the dashboard, not the app)');
  await new Promise<void>((resolve) => d.server.once('close', () => resolve()));
  return 0;
}
