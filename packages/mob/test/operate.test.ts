// Operating a running mob from outside: the control socket, the `mob` command, logs and
// Prometheus metrics, on the README's app (front over HTTP, back.foo), each test with its
// own MOB_HOME.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { get } from 'node:http';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, startApp, stopAll, waitFor, type App } from '../../mob-messaging/test/harness.js';
import { readLines } from '../../mob-control/src/lines.js';

const fixtures = join(__dirname, 'fixtures', 'operate');
const BIN = join(__dirname, '..', 'bin', 'mob.js');
const homes: string[] = [];
afterEach(async () => {
  await stopAll();
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

function home(): string {
  const h = mkdtempSync(join(tmpdir(), 'mob-home-'));
  homes.push(h);
  return h;
}

/** Runs the mob command; resolves with its exit code and output. */
function mob(args: string[], env: Record<string, string>, timeout = 20_000): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, timeout }, (error, out, err) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out, err });
    });
  });
}

function fetchText(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

async function startOp(extra: Record<string, string> = {}): Promise<{ app: App; env: Record<string, string>; port: number }> {
  const env = { MOB_HOME: home(), ...extra };
  const app = startApp(join(fixtures, 'main.cjs'), { env });
  const { port } = await app.waitFor((l) => typeof l.port === 'number', 'front listening');
  const mobEnv = { MOB_HOME: env.MOB_HOME };
  // Ready: both roles' workers listed.
  for (let i = 0; i < 100; i++) {
    const s = await mob(['status', 'opapp', '--json'], mobEnv);
    if (s.code === 0 && JSON.parse(s.out)[0].roles.every((r: any) => r.ready === r.target)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { app, env: mobEnv, port };
}

async function status(env: Record<string, string>): Promise<any[]> {
  const s = await mob(['status', 'opapp', '--json'], env);
  expect(s.code, s.err).toBe(0);
  return JSON.parse(s.out);
}

describe('the control socket and the mob command', () => {
  it('ls and status --json show the app, its roles and every worker with the documented fields', async () => {
    const { app, env } = await startOp();
    const dir = env.MOB_HOME!;
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'opapp.sock')).mode & 0o777).toBe(0o600);
    const ls = await mob(['ls', '--json'], env);
    expect(ls.code).toBe(0);
    const apps = JSON.parse(ls.out);
    expect(apps).toHaveLength(1);
    expect(apps[0]).toMatchObject({ name: 'opapp', pid: app.pid });
    expect(apps[0].roles.map((r: any) => r.name)).toEqual(['back', 'front']);
    const [one] = await status(env);
    expect(one.roles.map((r: any) => [r.name, r.workers.length, r.restarts])).toEqual([['back', 2, 0], ['front', 2, 0]]);
    for (const w of one.roles.flatMap((r: any) => r.workers)) {
      expect(w.state).toBe('ready');
      for (const k of ['pid', 'rss', 'cpu', 'calls']) expect(typeof w[k], k).toBe('number');
      expect(w.rss).toBeGreaterThan(10 * 1024 * 1024);
    }
    const text = await mob(['status', 'opapp'], env);
    expect(text.out).toMatch(/role back: 2\/2 ready, restarts 0/);
    expect(text.out).toMatch(/PID +STATE +UPTIME +RESTARTS +CPU% +RSS +CALLS\/S +P50 +P99 +IN-FLIGHT +HELD/);
    const none = await mob(['status', 'nope'], env);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/no app "nope" is running on this host; running: opapp/);
    await app.stop();
    await waitFor(() => !isAlive(app.pid));
    expect(() => statSync(join(dir, 'opapp.sock'))).toThrow();
  });

  it('counts restarts of a SIGKILLed worker within 3 s, keeps its last lines, and scales within bounds', async () => {
    const { env } = await startOp();
    const [before] = await status(env);
    const victim = before.roles[0].workers[0].pid;
    process.kill(victim, 'SIGKILL');
    const t0 = Date.now();
    let back: any;
    for (;;) {
      back = (await status(env))[0].roles[0];
      if (back.restarts === 1 || Date.now() - t0 > 3000) break;
    }
    expect(back.restarts).toBe(1);
    expect(back.lastCrash).toMatchObject({ pid: victim, signal: 'SIGKILL', code: null });
    const up = await mob(['scale', 'opapp', 'back', '4'], env);
    expect(up.code, up.err).toBe(0);
    expect(up.out).toMatch(/role back of opapp: 4 worker\(s\) ready/);
    const after = (await status(env))[0].roles[0];
    expect(after.workers.filter((w: any) => w.state === 'ready')).toHaveLength(4);
    expect(after.restarts).toBe(1); // scaling is not a restart
    const over = await mob(['scale', 'opapp', 'back', '9'], env);
    expect(over.code).toBe(1);
    expect(over.err).toMatch(/minWorkers\.\.maxWorkers \(2\.\.4\)/);
  });

  it('reloads back under HTTP load with 0 failed requests, and logs show its lines', async () => {
    const { env, port } = await startOp();
    await mob(['scale', 'opapp', 'back', '4'], env);
    const old = (await status(env))[0].roles[0].workers.map((w: any) => w.pid).sort();
    let ok = 0;
    let failed = 0;
    let loading = true;
    const load = (async () => {
      while (loading) {
        const r = await fetchText(`http://127.0.0.1:${port}/`).catch(() => ({ status: 0, body: '' }));
        if (r.status === 200) ok++;
        else failed++;
      }
    })();
    const reload = await mob(['reload', 'opapp', 'back'], env, 30_000);
    loading = false;
    await load;
    expect(reload.code, reload.err).toBe(0);
    expect(reload.out).toMatch(/^reloaded role back of opapp in \d+ ms \(4 new workers\)$/m);
    expect(failed).toBe(0);
    expect(ok).toBeGreaterThan(10);
    const now = (await status(env))[0].roles[0].workers.map((w: any) => w.pid);
    expect(now).toHaveLength(4);
    expect(now.filter((p: number) => old.includes(p))).toEqual([]);
    const pid = Number((await fetchText(`http://127.0.0.1:${port}/`)).body);
    const logs = await mob(['logs', 'opapp', 'back', '--no-follow', '--lines', '50'], env);
    expect(logs.code).toBe(0);
    expect(logs.out).toContain(`back ${pid} | Bar! My pid is ${pid}`);
    expect(logs.out).not.toMatch(/^front /m);
  });

  it('follows logs as they come', async () => {
    const { env, port } = await startOp();
    const follow = spawn(process.execPath, [BIN, 'logs', 'opapp', 'back', '--lines', '0'], { env: { ...process.env, ...env } });
    let out = '';
    follow.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    try {
      // The follower is connected once a line written now reaches it.
      let pid = 0;
      const seen = await waitFor(
        () => {
          if (pid && out.includes(`Bar! My pid is ${pid}`)) return true;
          void fetchText(`http://127.0.0.1:${port}/`).then((r) => (pid = Number(r.body)));
          return false;
        },
        // the follower is a process of its own: its start-up alone can take seconds under load
        { timeout: 20_000, every: 200 },
      );
      expect(seen).toBe(true);
    } finally {
      follow.kill();
    }
  });

  it('serves Prometheus metrics: exactly N calls counted, and promtool accepts them', async () => {
    const { app, port } = await startOp({ MOB_METRICS_PORT: '0' });
    const [url] = await app.waitForText(/metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/);
    const metricsUrl = /http:\/\/127\.0\.0\.1:\d+\/metrics/.exec(url!)![0];
    const N = 37;
    for (let i = 0; i < N; i++) expect((await fetchText(`http://127.0.0.1:${port}/`)).status).toBe(200);
    const fooCalls = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('mob_calls_total{') && l.includes('role="back"') && l.includes('export="foo"'));
    // A scrape waits at most 250 ms for the workers' fresh figures; a busy machine's worker may
    // answer later, and the scrape has its last report. Scrape (bounded) until the count is in.
    const counted = (text: string): number => Number(fooCalls(text)[0]?.split(' ').pop() ?? 0);
    let scraped = await fetchText(metricsUrl);
    for (const until = Date.now() + 15_000; scraped.status === 200 && counted(scraped.body) < N && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 100));
      scraped = await fetchText(metricsUrl);
    }
    const { status: code, body } = scraped;
    expect(code).toBe(200);
    const calls = fooCalls(body);
    expect(calls).toHaveLength(1);
    expect(Number(calls[0]!.split(' ').pop())).toBe(N);
    expect(body).toMatch(/^mob_call_duration_seconds_count\{app="opapp",host="[^"]+",role="back",export="foo"\} 37$/m);
    expect(body).toMatch(/^mob_worker_resident_memory_bytes\{app="opapp",host="[^"]+",role="back",pid="\d+"\} \d+$/m);
    const check = execFileSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
    expect(check).toBe('');
  });

  it('a frozen worker never fails a scrape: its last values are served, with their age', async () => {
    const { app, env } = await startOp({ MOB_METRICS_PORT: '0' });
    const [url] = await app.waitForText(/metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/);
    const metricsUrl = /http:\/\/127\.0\.0\.1:\d+\/metrics/.exec(url!)![0];
    const frozen = (await status(env))[0].roles[0].workers[0].pid as number;
    process.kill(frozen, 'SIGSTOP');
    try {
      const age = (body: string): number => Number(new RegExp(`^mob_worker_report_age_seconds\\{app="opapp",host="[^"]+",role="back",pid="${frozen}"\\} (\\S+)$`, 'm').exec(body)?.[1]);
      const rss = (body: string): number => Number(new RegExp(`^mob_worker_resident_memory_bytes\\{app="opapp",host="[^"]+",role="back",pid="${frozen}"\\} (\\S+)$`, 'm').exec(body)?.[1]);
      // Every scrape answers 200, with the frozen worker's last RSS, while its age passes 3 s.
      let last = '';
      const stale = await waitFor(
        () => {
          void fetchText(metricsUrl).then((r) => {
            if (r.status === 200) last = r.body;
          });
          return age(last) > 3;
        },
        { timeout: 15_000, every: 250 },
      );
      expect(stale).toBe(true);
      expect(rss(last)).toBeGreaterThan(10 * 1024 * 1024);
      // Once it is stale, nobody waits for it: a scrape takes what the others need (at most
      // the 250 ms it waits for fresh figures).
      const t0 = Date.now();
      const r = await fetchText(metricsUrl);
      expect(r.status).toBe(200);
      expect(Date.now() - t0).toBeLessThan(1000);
      const w = (await status(env))[0].roles[0].workers.find((x: any) => x.pid === frozen);
      expect(w.reportAge).toBeGreaterThan(3);
    } finally {
      process.kill(frozen, 'SIGCONT');
    }
  });

  it('survives 10,000 hostile writes to its control socket', async () => {
    const { app, env } = await startOp();
    const path = join(env.MOB_HOME!, 'opapp.sock');
    const junk = [
      '\n',
      '{}\n',
      'null\n',
      '[1,2]\n',
      '{"v":1,"id":1,"op":"nope"}\n',
      '{"v":99,"id":1,"op":"status"}\n',
      '{"v":1,"id":"x","op":"scale","role":"back","n":"many"}\n',
      '{"v":1,"id":2,"op":"scale","role":{"a":1},"n":3}\n',
      '{"v":1,"id":3,"op":"logs","lines":-5,"follow":false}\n',
      '{"v":1,"id":4,"op":"reload","role":"nope"}\n',
      '{"__proto__":{"x":1},"v":1,"op":"hello"}\n',
      '\u0000\u00ff\ufffd garbage',
      'x'.repeat(70_000),
    ];
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const sockets = Array.from({ length: 20 }, () => connect(path).on('error', () => {}));
    for (let i = 0; i < 10_000; i++) {
      const s = sockets[i % sockets.length]!;
      const bytes = rand(4) === 0 ? Buffer.from(Array.from({ length: 1 + rand(64) }, () => rand(256))) : junk[rand(junk.length)]!;
      s.write(bytes);
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const s of sockets) s.destroy();
    expect(isAlive(app.pid)).toBe(true);
    const [one] = await status(env);
    expect(one.roles[0].workers.length).toBe(2);
  });

  it('thousands of pipelined status requests cost one round of reports, and a huge subscribe interval is capped', async () => {
    const { app, env } = await startOp();
    const path = join(env.MOB_HOME!, 'opapp.sock');
    const rss = (): number => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${app.pid}/status`, 'utf8'))![1]) * 1024;
    const before = rss();
    const answers: any[] = [];
    const sock = connect(path).on('error', () => {});
    readLines(sock, (line) => answers.push(JSON.parse(line)));
    const N = 20_000;
    sock.write(Array.from({ length: N }, (_, i) => `{"v":1,"id":${i + 1},"op":"status"}\n`).join(''));
    expect(await waitFor(() => answers.length === N, { timeout: 15_000 })).toBe(true);
    const ok = answers.filter((a) => a.ok === true);
    const busy = answers.filter((a) => a.error?.code === 'E_MOB_CONTROL_BUSY');
    expect(ok.length + busy.length).toBe(N);
    // 8 at a time per connection; the rest told to wait for the answers
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(ok.length).toBeLessThan(500);
    expect(ok[0].result.roles.length).toBe(2);
    sock.destroy();
    expect(rss() - before).toBeLessThan(60 * 1024 * 1024);

    // subscribe: 1e12 ms would overflow Node's timers (1 ms instead): capped at 60 s, one status now.
    const events: any[] = [];
    const sub = connect(path).on('error', () => {});
    readLines(sub, (line) => {
      const m = JSON.parse(line);
      if (m.event === 'status') events.push(m);
    });
    sub.write('{"v":1,"id":1,"op":"subscribe","interval":1e12}\n');
    expect(await waitFor(() => events.length >= 1)).toBe(true);
    // a second one within a second would be the overflow's 1 ms timer
    expect(await waitFor(() => events.length >= 2, { timeout: 1000 })).toBe(false);
    sub.destroy();
    expect(app.stderr()).not.toMatch(/TimeoutOverflowWarning/);
  });

  it('refuses a second app of the same name, and replaces a socket left by a killed Kingpin', async () => {
    const dir = home();
    // A socket nobody answers on: a process that listened there was SIGKILLed.
    const stale = join(dir, 'opapp.sock');
    const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((r) => holder.stdout.once('data', r));
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    expect(statSync(stale).isSocket()).toBe(true);
    // Both with the same metrics port: the second is told the app runs, not that the port is taken.
    const first = startApp(join(fixtures, 'main.cjs'), { env: { MOB_HOME: dir, MOB_METRICS_PORT: '0' } });
    await first.waitFor((l) => typeof l.port === 'number', 'front listening');
    const [line] = await first.waitForText(/metrics at http:\/\/127\.0\.0\.1:(\d+)\/metrics/);
    const metricsPort = /:(\d+)\/metrics/.exec(line!)![1]!;
    const ls = JSON.parse((await mob(['ls', '--json'], { MOB_HOME: dir })).out);
    expect(ls.map((a: any) => a.pid)).toEqual([first.pid]);
    const second = startApp(join(fixtures, 'main.cjs'), { env: { MOB_HOME: dir, MOB_METRICS_PORT: metricsPort } });
    const { code } = await second.exited;
    expect(code).toBe(1);
    // Its exit may be seen before the last of its stderr is read: wait (bounded) for the line.
    await second.waitForText(/did not start: an app named "opapp" is already running/);
    expect(second.stderr()).toMatch(new RegExp(`^mob: app "opapp" did not start: an app named "opapp" is already running on this host \\(Kingpin ${first.pid}`, 'm'));
    expect(second.stderr()).not.toMatch(/EADDRINUSE|\n\s+at /);
    expect(isAlive(first.pid)).toBe(true);
  });

  it('mob stop stops the app gracefully and exits 0', async () => {
    const { app, env } = await startOp({ STOP_MS: '1000' });
    // Two at once (the stop takes a second): one stop, said once in the log; both are told it is done.
    const [r, again] = await Promise.all([mob(['stop', 'opapp'], env), mob(['stop', 'opapp'], env)]);
    for (const x of [r, again]) {
      expect(x.code, x.err).toBe(0);
      expect(x.out).toMatch(/stopped opapp: 4 worker\(s\)/);
    }
    // Done means the Kingpin is gone too (a script may start the app again at once).
    expect(isAlive(app.pid)).toBe(false);
    expect((await app.exited).code).toBe(0);
    // Its exit may be seen before the last of its stderr is read: wait (bounded) for the lines.
    await app.waitForText(/mob: every worker is gone/);
    expect(app.stderr()).toMatch(/mob: stop asked on the control socket \(mob stop\): stopping 4 worker\(s\)/);
    expect(app.stderr()).toMatch(/mob: every worker is gone \(4 stopped in \d+ ms\); exiting/);
    expect(app.stderr().match(/stopping 4 worker\(s\)/g)).toHaveLength(1);
  });

  it('a SIGTERM during mob stop joins that stop (it is not a second signal)', async () => {
    const { app, env } = await startOp({ STOP_MS: '1000' });
    const r = mob(['stop', 'opapp'], env);
    await app.waitForText(/stop asked on the control socket \(mob stop\): stopping 4 worker\(s\)/);
    app.proc.kill('SIGTERM');
    await app.waitForText(/SIGTERM: already stopping/);
    expect((await r).code).toBe(0);
    expect((await app.exited).code).toBe(0);
    await app.waitForText(/mob: every worker is gone/);
    expect(app.stderr()).not.toMatch(/killing every worker/);
  });

  it('one SIGTERM delivered twice within 100 ms (timeout passes it on and signals the group) is one stop, not a kill', async () => {
    const { app } = await startOp({ STOP_MS: '500' });
    app.proc.kill('SIGTERM');
    // (10 ms apart: two deliveries, as timeout's are; at the same instant they could merge into one.)
    await new Promise((resolve) => setTimeout(resolve, 10));
    app.proc.kill('SIGTERM');
    expect((await app.exited).code).toBe(0);
    expect(app.stderr()).toMatch(/SIGTERM: stopping 4 worker\(s\)/);
    expect(app.stderr()).not.toMatch(/killing every worker/);
  });

  it('while a stop runs the shutdown listeners, status shows every worker as stopping', async () => {
    const { app, env } = await startOp({ STOP_MS: '3000' });
    app.proc.kill('SIGTERM');
    await app.waitForText(/SIGTERM: stopping 4 worker\(s\)/);
    const states = async (): Promise<string[]> => (await status(env))[0].roles.flatMap((r: any) => r.workers.map((w: any) => w.state));
    expect(await states()).toEqual(['stopping', 'stopping', 'stopping', 'stopping']);
    expect((await app.exited).code).toBe(0);
  });

  it('mob run runs an unmodified server file as N workers', async () => {
    const dir = home();
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const app = startApp(BIN, { args: ['run', join(fixtures, 'server.js'), '-i', '2'], env: { MOB_HOME: dir, PORT: String(port) } });
    let served: Set<string> = new Set();
    await waitFor(
      () => {
        void fetchText(`http://127.0.0.1:${port}/`).then((r) => served.add(r.body), () => {});
        return served.size > 0;
      },
      { timeout: 20_000, every: 100 },
    );
    expect([...served][0]).toMatch(/^hello from \d+\n$/);
    const s = JSON.parse((await mob(['status', 'server', '--json'], { MOB_HOME: dir })).out);
    expect(s[0].roles).toHaveLength(1);
    expect(s[0].roles[0]).toMatchObject({ name: 'server', target: 2 });
    served = new Set();
    await app.stop();
  });
});
