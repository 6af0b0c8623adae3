import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AppRunningError,
  CONTROL_VERSION,
  ControlRequestError,
  connectControl,
  controlDir,
  listApps,
  renderMetrics,
  serveControl,
  socketPath,
  type ControlServer,
} from '../src/index.js';
import { stats, stubKingpin } from './stub.js';

const dirs: string[] = [];
const servers: ControlServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'mob-ctl-'));
  dirs.push(d);
  return join(d, 'home');
}
async function serve(name = 'stubapp', at = dir()) {
  const kingpin = stubKingpin(name);
  const server = await serveControl(kingpin, { dir: at });
  servers.push(server);
  return { kingpin, server, at };
}

/** Sends raw lines and collects the answer lines until `count` arrived or the socket closed. */
function raw(path: string, text: string | Buffer, count: number): Promise<any[]> {
  return new Promise((resolve) => {
    const s = connect(path);
    const got: any[] = [];
    let buf = '';
    const done = (): void => {
      s.destroy();
      resolve(got);
    };
    s.on('error', done);
    s.on('close', done);
    s.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        got.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
      }
      if (got.length >= count) done();
    });
    s.write(text);
  });
}

describe('paths', () => {
  it('MOB_HOME, then XDG_RUNTIME_DIR/mob, then <tmpdir>/mob-<uid>', () => {
    expect(controlDir({ MOB_HOME: '/a', XDG_RUNTIME_DIR: '/run/user/1' })).toBe('/a');
    expect(controlDir({ XDG_RUNTIME_DIR: '/run/user/1' })).toBe('/run/user/1/mob');
    expect(controlDir({})).toBe(join(tmpdir(), `mob-${process.getuid!()}`));
    expect(socketPath('shop', '/x')).toBe('/x/shop.sock');
    expect(socketPath('shop', '/x', 'h1')).toBe('/x/shop.h1.sock');
    expect(() => socketPath('shop', `/${'d'.repeat(120)}`)).toThrow(/over the 107 a Unix socket allows: set MOB_HOME/);
  });
});

describe('the control server', () => {
  it('listens on <dir>/<app>.sock, folder 0700 and socket 0600, and answers hello and status', async () => {
    const { server, at } = await serve();
    expect(server.path).toBe(join(at, 'stubapp.sock'));
    expect(statSync(at).mode & 0o777).toBe(0o700);
    expect(statSync(server.path).mode & 0o777).toBe(0o600);
    const c = await connectControl(server.path);
    expect(await c.request('hello')).toMatchObject({ app: 'stubapp', pid: process.pid, protocol: CONTROL_VERSION, roles: ['back'] });
    const status = (await c.request('status')) as any;
    expect(status).toMatchObject({ name: 'stubapp', pid: process.pid, socket: server.path });
    expect(status.roles[0]).toMatchObject({ name: 'back', restarts: 1, calls: 5 });
    expect(status.roles[0].workers.map((w: any) => [w.pid, w.state, w.rss, w.cpu, w.calls])).toEqual([
      [101, 'ready', 50_000_000, 1.5, 2],
      [102, 'ready', 50_000_000, 1.5, 2],
    ]);
    c.close();
    await server.close();
    expect(() => statSync(server.path)).toThrow();
  });

  it('passes reload, scale and stop to the Kingpin, and its refusals back', async () => {
    const { kingpin, server } = await serve();
    const c = await connectControl(server.path);
    await c.request('reload', { role: 'back' });
    await c.request('scale', { role: 'back', n: 3 });
    const err = await c.request('scale', { role: 'back', n: 9 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlRequestError);
    expect(err).toMatchObject({ code: 'E_MOB_CONFIG', message: 'scale("back", 9): out of 1..4' });
    const noRole = await c.request('reload', { role: 'nope' }).catch((e: unknown) => e);
    expect(noRole).toMatchObject({ code: 'E_MOB_NO_ROLE', message: 'app "stubapp" has no role "nope" (roles: back)' });
    expect(kingpin.calls).toEqual(['reload back', 'scale back 3']);
    const lines: unknown[] = [];
    await c.request('logs', { lines: 5, follow: false }, (event, data) => lines.push([event, data]));
    expect(lines).toEqual([['log', { time: 1, role: 'back', pid: 101, stream: 'stdout', line: 'hello' }]]);
    c.close();
  });

  it('answers a request of another version with E_MOB_CONTROL_VERSION, and a malformed one with an error', async () => {
    const { server } = await serve();
    const [a] = await raw(server.path, `${JSON.stringify({ v: 2, id: 5, op: 'status' })}\n`, 1);
    expect(a).toMatchObject({ v: CONTROL_VERSION, id: 5, ok: false, error: { code: 'E_MOB_CONTROL_VERSION' } });
    expect(a.error.message).toMatch(/speaks control protocol 1, the request 2/);
    const [b, c, d] = await raw(server.path, 'nonsense\n[1]\n{"v":1,"id":3,"op":"rm -rf"}\n', 3);
    expect([b.error.code, c.error.code, d.error.code]).toEqual(['E_MOB_CONTROL_BAD_REQUEST', 'E_MOB_CONTROL_BAD_REQUEST', 'E_MOB_CONTROL_BAD_OP']);
  });

  it('closes a connection whose request passes 64 KiB', async () => {
    const { server } = await serve();
    const got = await raw(server.path, 'x'.repeat(70_000), 1);
    expect(got[0]).toMatchObject({ ok: false, error: { code: 'E_MOB_CONTROL_TOO_LARGE' } });
  });

  it('a socket that answers with lines that are not the protocol: requests fail at once with E_MOB_CONTROL_BAD_ANSWER', async () => {
    const path = join(dir(), '..', 'garbage.sock');
    const srv = createServer((s) => s.on('data', () => s.write('HTTP/1.1 400 Bad Request\r\n\r\n')));
    await new Promise<void>((resolve) => srv.listen(path, resolve));
    try {
      const c = await connectControl(path, 'fake');
      const t0 = Date.now();
      const err = await c.request('status').catch((e: unknown) => e);
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(err).toBeInstanceOf(ControlRequestError);
      expect(err).toMatchObject({ code: 'E_MOB_CONTROL_BAD_ANSWER' });
      expect((err as Error).message).toMatch(/^the control socket of app "fake" answered with something that is not mob's control protocol: "HTTP\/1.1 400 Bad Request/);
      // The next request says the same at once.
      await expect(c.request('status')).rejects.toMatchObject({ code: 'E_MOB_CONTROL_BAD_ANSWER' });
    } finally {
      await new Promise((resolve) => srv.close(resolve));
    }
  });

  it('refuses a whole request line over 64 KiB, however the socket splits it, and nothing after it', async () => {
    const { server } = await serve();
    // A valid status request padded past the bound, newline included: it came whole in one
    // read and was answered. Then a valid one after it on the same connection: not read.
    for (const size of [66_000, 100_000, 131_000]) {
      const pad = 'x'.repeat(size);
      const text = `${JSON.stringify({ v: 1, id: 1, op: 'status', pad })}
${JSON.stringify({ v: 1, id: 2, op: 'status' })}
`;
      const got = await raw(server.path, text, 2);
      expect(got).toHaveLength(1);
      expect(got[0]).toMatchObject({ id: 0, ok: false, error: { code: 'E_MOB_CONTROL_TOO_LARGE' } });
    }
    // Multi-byte characters count as their bytes: 30,000 of 3 bytes each is 90,000 bytes.
    const wide = await raw(server.path, `${JSON.stringify({ v: 1, id: 1, op: 'status', pad: '€'.repeat(30_000) })}\n`, 1);
    expect(wide[0]).toMatchObject({ ok: false, error: { code: 'E_MOB_CONTROL_TOO_LARGE' } });
  });

  it('survives 10,000 hostile writes and answers afterwards', async () => {
    const { server } = await serve();
    let seed = 1;
    const rand = (n: number): number => ((seed = (seed * 48271) % 2147483647) % n);
    const pieces = ['{', '}', '"v":1', '"op":"status"', '\n', '"id":', '1e400', '[[[[', '\u0000', '"op":"logs","follow":true', ',', '{"v":1,"id":9,"op":"subscribe","interval":-1}\n'];
    const sockets = Array.from({ length: 10 }, () => connect(server.path).on('error', () => {}).on('data', () => {}));
    for (let i = 0; i < 10_000; i++) {
      const s = sockets[i % sockets.length]!;
      if (rand(3) === 0) s.write(Buffer.from(Array.from({ length: 1 + rand(40) }, () => rand(256))));
      else s.write(Array.from({ length: 1 + rand(6) }, () => pieces[rand(pieces.length)]).join(''));
    }
    await new Promise((r) => setTimeout(r, 200));
    for (const s of sockets) s.destroy();
    const c = await connectControl(server.path);
    expect(await c.request('hello')).toMatchObject({ app: 'stubapp' });
    c.close();
  });

  it('closes the connections it refuses as busy, those that wrote a request too (no socket is left open)', async () => {
    const kingpin = stubKingpin('busyapp');
    const server = await serveControl(kingpin, { dir: dir(), maxConnections: 2 });
    servers.push(server);
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const held = [connect(server.path), connect(server.path)];
    await Promise.all(held.map((s) => new Promise((r) => s.once('connect', r))));
    // (A first refusal, before counting: the process opens what it needs once. Counted once
    // the descriptor count holds still, within 3 s.)
    await raw(server.path, '{"v":1,"id":1,"op":"hello"}\n', 1);
    let before = fds();
    for (const until = Date.now() + 3000; Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 100));
      const now = fds();
      if (now === before) break;
      before = now;
    }
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => raw(server.path, '{"v":1,"id":1,"op":"hello"}\n', 1)));
      for (const a of answers) expect(a[0]?.error?.code).toBe('E_MOB_CONTROL_BUSY');
    }
    // Both ends are in this process: refused sockets left open on the server's side would stay.
    const until = Date.now() + 3000;
    while (fds() > before && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(fds() - before).toBeLessThanOrEqual(0);
    for (const s of held) s.destroy();
  });

  it('refuses a second server of the same app, and replaces a socket nobody answers on', async () => {
    const at = dir();
    // A stale socket: a process that listened there was SIGKILLed.
    const path = socketPath('stubapp', at);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(at, { recursive: true, mode: 0o700 });
    const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((r) => holder.stdout.once('data', r));
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    expect(statSync(path).isSocket()).toBe(true);
    const { server } = await serve('stubapp', at);
    expect(server.path).toBe(path);
    const second = await serveControl(stubKingpin('stubapp'), { dir: at }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(AppRunningError);
    expect((second as Error).message).toMatch(new RegExp(`an app named "stubapp" is already running on this host \\(Kingpin ${process.pid}, control socket `));
    const listed = await listApps(at);
    expect(listed.map((l) => l.status?.name)).toEqual(['stubapp']);
  });

  it('says E_MOB_NO_APP when nothing listens', async () => {
    const err = await connectControl(join(dir(), 'none.sock'), 'none').catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ControlRequestError', code: 'E_MOB_NO_APP', message: expect.stringMatching(/^no app "none" is running/) });
  });
});

describe('renderMetrics', () => {
  const text = renderMetrics(stats());

  it('sums per role and export, with cumulative buckets and escaped labels', () => {
    expect(text).toMatch(/^mob_calls_total\{app="stubapp",host="h1",role="back",export="foo"\} 4$/m);
    expect(text).toMatch(/^mob_call_errors_total\{app="stubapp",host="h1",role="back",export="foo"\} 1$/m);
    expect(text).toMatch(/^mob_call_duration_seconds_bucket\{app="stubapp",host="h1",role="back",export="foo",le="0.00025"\} 0$/m);
    expect(text).toMatch(/^mob_call_duration_seconds_bucket\{app="stubapp",host="h1",role="back",export="foo",le="0.0005"\} 3$/m);
    expect(text).toMatch(/^mob_call_duration_seconds_bucket\{app="stubapp",host="h1",role="back",export="foo",le="0.005"\} 4$/m);
    expect(text).toMatch(/^mob_call_duration_seconds_bucket\{app="stubapp",host="h1",role="back",export="foo",le="\+Inf"\} 4$/m);
    expect(text).toMatch(/^mob_call_duration_seconds_count\{app="stubapp",host="h1",role="back",export="foo"\} 4$/m);
    expect(text).toContain('export="we\\"ird\\\\name"');
    expect(text).toMatch(/^mob_worker_restarts_total\{app="stubapp",host="h1",role="back"\} 1$/m);
    expect(text).toMatch(/^mob_worker_cpu_seconds_total\{app="stubapp",host="h1",role="back",pid="101"\} 0.25$/m);
    expect(text).toMatch(/^mob_worker_resident_memory_bytes\{app="stubapp",host="h1",role="back",pid="102"\} 50000000$/m);
    expect(text).toMatch(/^mob_worker_report_age_seconds\{app="stubapp",host="h1",role="back",pid="101"\} 0.2$/m);
    // one series of mob_calls_total per export, no per-worker series beside it
    expect(text.split('\n').filter((l) => l.startsWith('mob_calls_total{'))).toHaveLength(2);
  });

  it('passes promtool check metrics', () => {
    expect(execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })).toBe('');
  });
});
