// The `mob` command when what it asks for fails: a reload whose new worker crashes at load,
// a scale-up whose new workers crash, a Kingpin of another protocol version, a pid that is
// no worker, numeric options given negative values. Each app is a copy of its fixture in its
// own folder (the tests break its role files), with its own MOB_HOME.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveDashboard } from 'mob-cli';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, startApp, stopAll, waitFor } from '../../mob-messaging/test/harness.js';
import { readLines } from '../../mob-control/src/lines.js';

const BIN = join(__dirname, '..', 'bin', 'mob.js');
const MOB = join(__dirname, '..');
const WORKS = 'exports.x = () => process.pid;\n';
const BROKEN = "throw new Error('broken on purpose');\n";
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await stopAll();
});

function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Runs the mob command; resolves with its exit code and output. */
function mob(args: string[], env: Record<string, string>, timeout = 30_000): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, timeout }, (error, out, err) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out, err });
    });
  });
}

async function status(env: Record<string, string>): Promise<any> {
  const s = await mob(['status', 'failapp', '--json'], env);
  expect(s.code, s.err).toBe(0);
  return JSON.parse(s.out)[0];
}

function role(s: any, name: string): any {
  return s.roles.find((r: any) => r.name === name);
}

/** failapp: role r of 2 workers, role s of 1..3, their files in a folder of their own. */
async function startFailApp(): Promise<{ dir: string; env: Record<string, string>; pid: number }> {
  const dir = tmp('mob-failapp-');
  const home = tmp('mob-home-');
  writeFileSync(
    join(dir, 'main.cjs'),
    `require(${JSON.stringify(MOB)}).start('failapp').base(module)` +
      `.role('r', './r.js', { workers: 2 }).role('s', './s.js', { minWorkers: 1, maxWorkers: 3 });\n`,
  );
  writeFileSync(join(dir, 'r.js'), WORKS);
  writeFileSync(join(dir, 's.js'), WORKS);
  const app = startApp(join(dir, 'main.cjs'), { env: { MOB_HOME: home } });
  const env = { MOB_HOME: home };
  let full = false;
  for (const until = Date.now() + 20_000; !full && Date.now() < until; ) {
    const s = await mob(['status', 'failapp', '--json'], env);
    full = s.code === 0 && JSON.parse(s.out)[0].roles.every((r: any) => r.ready === r.target);
    if (!full) await new Promise((r) => setTimeout(r, 50));
  }
  expect(full).toBe(true);
  return { dir, env, pid: app.pid };
}

function post(url: string, token: string, body: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('mob reload and mob scale report failure', () => {
  it('a reload whose new worker crashes at load exits 1 with the reason; the old workers keep running and it is no restart', async () => {
    const { dir, env } = await startFailApp();
    const old = role(await status(env), 'r').workers.map((w: any) => w.pid).sort();
    expect(old).toHaveLength(2);
    writeFileSync(join(dir, 'r.js'), BROKEN);
    for (let i = 0; i < 2; i++) {
      const r = await mob(['reload', 'failapp', 'r'], env);
      expect(r.code, r.out).toBe(1);
      expect(r.err).toMatch(
        /^mob reload: reload of role "r" stopped: the new worker \d+ exited \(code 1\) before it was ready: Error: broken on purpose \(0 of 2 workers replaced\); the old workers keep running\n$/,
      );
      expect(r.out).not.toMatch(/reloaded role/);
    }
    const after = role(await status(env), 'r');
    expect(after.workers.map((w: any) => w.pid).sort()).toEqual(old);
    expect(after.workers.every((w: any) => w.state === 'ready')).toBe(true);
    for (const pid of old) expect(isAlive(pid)).toBe(true);
    // no worker was revived: reloads are no restarts
    expect(after.restarts).toBe(0);
    expect(after.lastCrash.error).toMatchObject({ message: 'broken on purpose' });

    // The dashboard's API answers the same failure with a non-2xx status and the reason.
    const d = await serveDashboard({ app: 'failapp', port: 0, socket: join(env.MOB_HOME!, 'failapp.sock') });
    cleanup.push(() => d.close());
    const api = await post(`${d.origin}/api/reload`, d.token, { role: 'r' });
    expect(api.status).toBe(409);
    expect(api.body).toMatchObject({ ok: false, code: 'E_MOB_RELOAD_FAILED' });
    expect(api.body.error).toMatch(/reload of role "r" stopped: .*Error: broken on purpose/);
    expect(role(await status(env), 'r').restarts).toBe(0);

    // A running worker that is killed and revived still counts 1.
    writeFileSync(join(dir, 'r.js'), WORKS);
    process.kill(old[0], 'SIGKILL');
    let restarts = 0;
    await waitFor(
      () => {
        void mob(['status', 'failapp', '--json'], env).then((s) => (restarts = JSON.parse(s.out)[0].roles[0].restarts));
        return restarts === 1;
      },
      { timeout: 10_000, every: 200 },
    );
    expect(restarts).toBe(1);
    // and a reload that works exits 0
    const ok = await mob(['reload', 'failapp', 'r'], env);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/reloaded role r of failapp/);
  });

  it('a scale-up whose new workers crash before ready exits 1 with the worker and its error', async () => {
    const { dir, env } = await startFailApp();
    writeFileSync(join(dir, 's.js'), BROKEN);
    const t0 = Date.now();
    const up = await mob(['scale', 'failapp', 's', '3'], env);
    expect(up.code, up.out).toBe(1);
    expect(up.err).toMatch(
      /^mob scale: scaling role "s" to 3 failed: the new worker \d+ exited \(code 1\) before it was ready: Error: broken on purpose; 1 of 3 workers are ready/,
    );
    expect(up.out).not.toMatch(/worker\(s\) ready/);
    expect(Date.now() - t0).toBeLessThan(20_000);
    // The target stays; scaling back down ends the crash loop.
    expect(role(await status(env), 's').target).toBe(3);
    const down = await mob(['scale', 'failapp', 's', '1'], env);
    expect(down.code, down.err).toBe(0);
    writeFileSync(join(dir, 's.js'), WORKS);
    const again = await mob(['scale', 'failapp', 's', '2'], env);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/role s of failapp: 2 worker\(s\) ready/);
  });
});

describe('mob command errors are short and honest', () => {
  it('a Kingpin of another protocol version: status and ls say so and exit 1, without a stack', async () => {
    const home = tmp('mob-home-');
    // Answers every request as a Kingpin of protocol 2 would, in a shape this mob does not know.
    const server: Server = createServer((s) => {
      readLines(s, (line) => s.write(`${JSON.stringify({ v: 2, id: JSON.parse(line).id, ok: true, result: { apps: [] } })}\n`));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(join(home, 'future.sock'), r));
    cleanup.push(() => new Promise((r) => server.close(r)));
    for (const args of [['status', 'future'], ['status', 'future', '--json'], ['ls'], ['status']]) {
      const r = await mob(args, { MOB_HOME: home });
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err).toMatch(/a Kingpin of another protocol version \(2; this mob speaks 1\)/);
      expect(r.err).not.toMatch(/TypeError|\n\s+at /);
    }
  });

  it('a Kingpin of this protocol that answers in an unknown shape, and a socket that answers what is no JSON: reload, scale and stop say so and exit 1', async () => {
    const home = tmp('mob-home-');
    // "odd" speaks protocol 1 but answers reload, scale and stop with results of other shapes;
    // "noise" answers every line with a line that is not JSON.
    const odd: Server = createServer((s) => {
      readLines(s, (line) => {
        const req = JSON.parse(line);
        const result = req.op === 'reload' ? {} : req.op === 'scale' ? { workers: -1 } : { stopped: 'all' };
        s.write(`${JSON.stringify({ v: 1, id: req.id, ok: true, result })}\n`);
      });
      s.on('error', () => {});
    });
    const noise: Server = createServer((s) => {
      readLines(s, () => s.write('-ERR unknown command\n'));
      s.on('error', () => {});
    });
    for (const [srv, name] of [[odd, 'odd'], [noise, 'noise']] as const) {
      await new Promise<void>((r) => srv.listen(join(home, `${name}.sock`), r));
      cleanup.push(() => new Promise((r) => srv.close(r)));
    }
    for (const args of [['reload', 'odd', 'back'], ['scale', 'odd', 'back', '2'], ['stop', 'odd']]) {
      const r = await mob(args, { MOB_HOME: home });
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.out, args.join(' ')).toBe('');
      expect(r.err).toMatch(new RegExp(`^mob ${args[0]}: the Kingpin of app "odd" answered ${args[0]} in a shape this mob does not know \\(`));
    }
    for (const args of [['reload', 'noise'], ['stop', 'noise'], ['status', 'noise']]) {
      const t0 = Date.now();
      const r = await mob(args, { MOB_HOME: home });
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err).toBe(`mob ${args[0]}: the control socket of app "noise" answered with something that is not mob's control protocol: "-ERR unknown command"\n`);
      // Said at once, not after the 5 s a Kingpin that does not answer gets.
      expect(Date.now() - t0).toBeLessThan(4000);
    }
  });

  it('usage errors are one line: an unknown option, an unknown command', async () => {
    const home = tmp('mob-home-');
    const bogusOption = await mob(['status', 'x', '--bogus'], { MOB_HOME: home });
    expect(bogusOption.code).toBe(2);
    expect(bogusOption.err).toBe("mob status: Unknown option '--bogus' (mob --help shows the usage)\n");
    const bogusCommand = await mob(['bogus'], { MOB_HOME: home });
    expect(bogusCommand.code).toBe(2);
    expect(bogusCommand.err).toBe('mob: no command "bogus" (commands: ls, status, reload, scale, stop, logs, run, dashboard; mob --help shows how to use them)\n');
  });

  it('logs of a pid that is no worker of the app, and negative numbers, are refused with a short message', async () => {
    const { env } = await startFailApp();
    const none = await mob(['logs', 'failapp', '999999'], env);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/^mob logs: app "failapp" has no worker 999999 \(its workers: (\d+, ){2}\d+\)\n$/);
    const worker = role(await status(env), 'r').workers[0].pid;
    const one = await mob(['logs', 'failapp', String(worker), '--no-follow'], env);
    expect(one.code, one.err).toBe(0);
    for (const args of [['logs', 'failapp', '--lines', '-1'], ['logs', 'failapp', '-n', '-1']]) {
      const r = await mob(args, env);
      expect(r.code).toBe(2);
      expect(r.err).toBe('mob logs: --lines must be a whole number (0 or more), got "-1"\n');
    }
    const file = join(tmp('mob-run-'), 'x.js');
    writeFileSync(file, WORKS);
    const run = await mob(['run', file, '-i', '-3'], env);
    expect(run.code).toBe(2);
    expect(run.err).toBe('mob run: -i takes a number of workers (1 or more; 0 or max: one per CPU), got "-3"\n');
    // Usage errors exit 2 in every command, with one line.
    const scale = await mob(['scale', 'failapp', 's', '-1'], env);
    expect([scale.code, scale.err]).toEqual([2, 'mob scale: n must be a whole number of workers, got "-1"\n']);
    for (const op of ['reload', 'stop']) {
      const r = await mob([op], env);
      expect(r.code, op).toBe(2);
      expect(r.err).toBe(`mob ${op}: which app? running: failapp\n`);
    }
    const bogus = await mob(['run', file, '--bogus'], env);
    expect(bogus.code).toBe(2);
    expect(bogus.err).toMatch(/^mob run: Unknown option '--bogus'/);
  });

  it('a Kingpin that does not answer, one whose connections are all taken, and a dashboard port in use: short messages, exit 1', async () => {
    const { env, pid } = await startFailApp();
    const sock = join(env.MOB_HOME!, 'failapp.sock');
    // Stopped (SIGSTOP): it accepts connections and never answers.
    process.kill(pid, 'SIGSTOP');
    cleanup.push(() => isAlive(pid) && process.kill(pid, 'SIGCONT'));
    const t0 = Date.now();
    const [st, stop] = await Promise.all([mob(['status', 'failapp'], env), mob(['stop', 'failapp'], env)]);
    for (const r of [st, stop]) {
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/: the Kingpin of app "failapp" did not answer within 5000 ms \(stopped, or stuck\?\)\n$/);
    }
    expect(Date.now() - t0).toBeLessThan(15_000);
    process.kill(pid, 'SIGCONT');
    // The stop it was sent was never asked: it runs on.
    expect((await status(env)).roles).toHaveLength(2);
    // 64 connections that ask nothing: the next is told why it is refused; they are closed after 10 s.
    const held = await Promise.all(
      Array.from({ length: 64 }, () => new Promise<Socket>((resolve, reject) => {
        const c = connect(sock, () => resolve(c)).on('error', reject);
      })),
    );
    cleanup.push(() => held.forEach((c) => c.destroy()));
    const busy = await mob(['status', 'failapp'], env);
    expect(busy.code).toBe(1);
    expect(busy.err).toMatch(/app "failapp" has 64 control connections open, its bound: close some/);
    await Promise.all(held.map((c) => new Promise((r) => (c.destroyed ? r(null) : c.once('close', r)))));
    expect((await status(env)).roles).toHaveLength(2);
    // A dashboard on a port that is taken.
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => taken.close(r)));
    const port = (taken.address() as { port: number }).port;
    const dash = await mob(['dashboard', 'failapp', '--port', String(port)], env);
    expect(dash.code).toBe(1);
    expect(dash.err).toBe(`mob dashboard: port ${port} on 127.0.0.1 is in use: choose another with --port (0 takes a free one)\n`);
  }, 60_000);
});
