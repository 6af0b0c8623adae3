/// <reference lib="dom" />
// The live dashboard, in a real headless Chromium, on the README's app: the page shows the
// roles and workers, a SIGKILLed worker shows as restarted within 3 s, and clicking reload
// replaces the workers. Its API refuses requests without the token (401) or from another
// Origin (403), and a body over 16 KiB with an answer (413). Over three hosts through a real
// nats-server, its API answers what `mob status --json` prints and the page sums every host.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { get, request } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveDashboard } from 'mob-cli';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startApp, stopAll, waitFor, type App } from '../../mob-messaging/test/harness.js';
import { startNats, stopNats } from './nats-server.js';

const fixtures = join(__dirname, 'fixtures', 'operate');
const BIN = join(__dirname, '..', 'bin', 'mob.js');
const CHROMIUM = process.env.MOB_CHROMIUM ?? '/usr/bin/chromium';
let browser: Browser;
const cleanup: (() => unknown)[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does), or set MOB_CHROMIUM`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}, 60_000);
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await stopAll();
  await stopNats();
});

function http(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** The README's app and `mob dashboard` for it; resolves with the dashboard's URL. */
async function start(): Promise<{ url: string; home: string; dash: ChildProcess }> {
  const home = mkdtempSync(join(tmpdir(), 'mob-dash-'));
  cleanup.push(() => rmSync(home, { recursive: true, force: true }));
  const app = startApp(join(fixtures, 'main.cjs'), { env: { MOB_HOME: home } });
  await app.waitFor((l) => typeof l.port === 'number', 'front listening');
  return { ...(await dashboard('opapp', home)), home };
}

/** `mob dashboard <target>` in a process of its own, stopped after the test; resolves with its URL. */
async function dashboard(target: string, home: string): Promise<{ url: string; dash: ChildProcess }> {
  const dash = spawn(process.execPath, [BIN, 'dashboard', target, '--port', '0'], { env: { ...process.env, MOB_HOME: home } });
  cleanup.push(() => {
    dash.kill();
    return new Promise((r) => (dash.exitCode !== null ? r(null) : dash.once('exit', r)));
  });
  let out = '';
  dash.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  // (a process of its own: its start-up alone can take seconds on a loaded machine)
  await waitFor(() => /http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/.test(out), { timeout: 20_000 });
  return { url: /http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/.exec(out)![0], dash };
}

/**
 * The README's multi-host layout on a nats-server of its own: host a (one front, no back),
 * hosts b and c (2 back workers each), one MOB_HOME; resolves once the status of host a lists
 * the 4 back workers ready.
 */
async function threeHosts(): Promise<{ home: string; a: App; port: number }> {
  const nats = await startNats();
  const home = mkdtempSync(join(tmpdir(), 'mob-dash-hosts-'));
  cleanup.push(() => rmSync(home, { recursive: true, force: true }));
  const host = (name: string, front: number, back: number): App =>
    startApp(join(__dirname, 'fixtures', 'hosts', 'main.cjs'), { env: { MOB_NATS: nats.url, MOB_HOST: name, MOB_HOME: home, FRONT: String(front), BACK: String(back) } });
  const a = host('a', 1, 0);
  const [b, c] = [host('b', 0, 2), host('c', 0, 2)];
  const { port } = await a.waitFor((l) => typeof l.port === 'number', 'the front of host a', 30_000);
  await Promise.all([b.waitForText(/"backLoaded":\d+/, 2, 30_000), c.waitForText(/"backLoaded":\d+/, 2, 30_000)]);
  const readyBacks = (): number => {
    const st = JSON.parse(execFileSync(process.execPath, [BIN, 'status', 'hostsapp@a', '--json'], { env: { ...process.env, MOB_HOME: home }, encoding: 'utf8' }));
    return st.flatMap((x: any) => x.roles.filter((r: any) => r.name === 'back').flatMap((r: any) => r.workers)).filter((w: any) => w.state === 'ready').length;
  };
  expect(await waitFor(() => readyBacks() === 4, { timeout: 20_000, every: 200 })).toBe(true);
  return { home, a, port };
}

/** The `status` events of the dashboard's stream until `until` returns true (at most `timeout` ms). */
function statusEvents(base: string, token: string, until: (apps: any[]) => boolean, timeout = 15_000): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const req = get(`${base}/api/events?token=${token}`, (res) => {
      let buf = '';
      res.setEncoding('utf8').on('data', (c: string) => {
        buf += c;
        for (let i; (i = buf.indexOf('\n\n')) >= 0; buf = buf.slice(i + 2)) {
          const m = /^event: status\ndata: (.*)$/s.exec(buf.slice(0, i));
          if (!m) continue;
          const apps = JSON.parse(m[1]!);
          if (until(apps)) {
            clearTimeout(timer);
            req.destroy();
            return resolve(apps);
          }
        }
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`no such status event within ${timeout} ms`)), timeout);
    req.on('error', reject);
  });
}

/**
 * POSTs `size` bytes of JSON to `url`, as http.request sends them (Content-Length, or chunked
 * with `chunked`); resolves with the answer, or the socket's error when none came.
 */
function postBig(url: string, token: string, size: number, chunked = false): Promise<{ status: number; body: string; connection?: string } | { error: string }> {
  return new Promise((resolve) => {
    const body = Buffer.from(JSON.stringify({ role: 'back', n: 2, pad: 'a'.repeat(size) }));
    const headers: Record<string, string | number> = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    if (!chunked) headers['content-length'] = body.length;
    const req = request(url, { method: 'POST', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body: text, connection: res.headers.connection }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: `${err.code}: ${err.message}` }));
    if (!chunked) return void req.end(body);
    // in 64 KiB writes, as a client streaming a file would
    let at = 0;
    const write = (): void => {
      while (at < body.length) {
        const ok = req.write(body.subarray(at, (at += 65536)));
        if (!ok) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

/**
 * A raw client that sends a chunked body and keeps writing until the connection closes:
 * resolves with the answer's status line and body.
 */
function neverEnding(port: number, token: string): Promise<{ head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    let open = true;
    const chunk = `10000\r\n${'a'.repeat(0x10000)}\r\n`;
    s.on('connect', () => {
      s.write(`POST /api/scale HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`);
      const write = (): void => {
        while (open) if (!s.write(chunk)) return void s.once('drain', write);
      };
      write();
    });
    s.setEncoding('utf8').on('data', (c: string) => (got += c));
    // The server closes once it has answered: the writes then fail (EPIPE, ECONNRESET).
    s.on('error', () => (open = false));
    s.on('close', () => {
      open = false;
      const [head = '', body = ''] = got.split('\r\n\r\n');
      if (!head) return reject(new Error('the connection closed without an answer'));
      resolve({ head: head.split('\r\n')[0]!, body });
    });
    s.setTimeout(15_000, () => s.destroy(new Error('no close within 15 s')));
  });
}

describe('mob dashboard', () => {
  it('guards every request: 401 without the token, 403 from another Origin', { timeout: 60_000 }, async () => {
    const { url } = await start();
    const u = new URL(url);
    const token = u.searchParams.get('token')!;
    const base = `${u.protocol}//${u.host}`;
    expect((await http(`${base}/`)).status).toBe(401);
    expect((await http(`${base}/api/status`)).status).toBe(401);
    expect((await http(`${base}/api/status?token=wrong`)).status).toBe(401);
    expect((await http(`${base}/api/reload`, { method: 'POST', body: '{"role":"back"}' })).status).toBe(401);
    expect((await http(url)).status).toBe(200);
    // HEAD is GET without a body (a monitor's probe); a known path with the wrong method is a 405.
    const head = await http(url, { method: 'HEAD' });
    expect([head.status, head.body]).toEqual([200, '']);
    const wrong = await http(`${base}/api/reload?token=${token}`);
    expect([wrong.status, wrong.headers.allow]).toEqual([405, 'POST']);
    expect((await http(`${base}/nothing?token=${token}`)).status).toBe(404);
    const api = await http(`${base}/api/status`, { headers: { authorization: `Bearer ${token}` } });
    expect(api.status).toBe(200);
    const apps = JSON.parse(api.body);
    expect(apps[0]).toMatchObject({ name: 'opapp' });
    expect(apps[0].roles.map((r: any) => r.name)).toEqual(['back', 'front']);
    const evil = await http(`${base}/api/scale`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, origin: 'http://evil.example', 'content-type': 'application/json' },
      body: '{"role":"back","n":3}',
    });
    expect(evil.status).toBe(403);
    const scaled = await http(`${base}/api/scale`, { method: 'POST', headers: { authorization: `Bearer ${token}`, origin: base }, body: '{"role":"back","n":3}' });
    expect(scaled.status).toBe(200);
    expect(JSON.parse(scaled.body)).toMatchObject({ ok: true, result: { role: 'back', workers: 3 } });
  });

  it('shows the roles and pids, a SIGKILLed worker as restarted within 3 s, and reload replaces the workers', { timeout: 90_000 }, async () => {
    const { url } = await start();
    const page = await browser.newPage();
    cleanup.push(() => page.close());
    await page.goto(url);
    const pidsOf = (role: string): Promise<number[]> =>
      page.$$eval(`section[data-role="${role}"] tbody tr`, (rows) => rows.map((r) => Number((r as HTMLElement).dataset.pid)));
    await page.waitForSelector('section[data-role="back"] tbody tr', { timeout: 10_000 });
    await page.waitForFunction(() => document.querySelectorAll('section[data-role="back"] tbody tr').length === 2, null, { timeout: 10_000 });
    const backs = await pidsOf('back');
    const fronts = await pidsOf('front');
    expect(backs).toHaveLength(2);
    expect(fronts).toHaveLength(2);
    expect(await page.textContent('#app')).toBe('opapp');
    await page.screenshot({ path: join(tmpdir(), 'mob-dashboard.png'), fullPage: true });

    // Pushed to the open page (the feed refreshes every second): no reload of the page.
    process.kill(backs[0]!, 'SIGKILL');
    const t0 = Date.now();
    await page.waitForFunction(() => document.querySelector('section[data-role="back"] .restarts')?.textContent === '1', null, { timeout: 3000 });
    expect(Date.now() - t0).toBeLessThan(3000);

    await page.waitForFunction(() => document.querySelectorAll('section[data-role="back"] tbody tr').length === 2, null, { timeout: 20_000 });
    const before = await pidsOf('back');
    await page.click('section[data-role="back"] button[data-action="reload"]');
    await page.waitForFunction(
      (old) => {
        const rows = [...document.querySelectorAll('section[data-role="back"] tbody tr')].map((r) => Number((r as HTMLElement).dataset.pid));
        return rows.length === 2 && rows.every((p) => !old.includes(p));
      },
      before,
      { timeout: 30_000 },
    );
    const after = await pidsOf('back');
    expect(after.filter((p) => before.includes(p))).toEqual([]);
  });
  it('a body over 16 KiB gets 413 naming the limit, received by the client (40 kB, 1 MB, 20 MB, never-ending); a wrong token is said to be wrong', { timeout: 60_000 }, async () => {
    // No app behind it: the body is refused before the Kingpin is asked.
    const d = await serveDashboard({ app: 'noapp', port: 0, socket: join(tmpdir(), 'mob-dash-none.sock') });
    cleanup.push(() => d.close());
    const scale = `${d.origin}/api/scale`;
    const TOO_LARGE = { error: 'the request body is larger than 16384 bytes (16 KiB), the most this API reads', limit: 16384 };
    for (const size of [40_000, 1_000_000, 20_000_000]) {
      for (const chunked of [false, true]) {
        const r = await postBig(scale, d.token, size, chunked);
        expect(r, `${size} bytes${chunked ? ', chunked' : ''}`).toMatchObject({ status: 413, connection: 'close' });
        expect(JSON.parse((r as { body: string }).body)).toEqual(TOO_LARGE);
      }
    }
    for (let i = 0; i < 3; i++) {
      const r = await neverEnding((d.server.address() as AddressInfo).port, d.token);
      expect(r.head).toBe('HTTP/1.1 413 Payload Too Large');
      expect(JSON.parse(r.body)).toEqual(TOO_LARGE);
    }
    // Under the limit the body is read (then the missing app is the answer); the server is up.
    const small = await postBig(scale, d.token, 15_000);
    expect(small).toMatchObject({ status: 409 });
    expect(JSON.parse((small as { body: string }).body)).toMatchObject({ ok: false, code: 'E_MOB_NO_APP' });

    const none = await http(`${d.origin}/api/status`);
    expect([none.status, JSON.parse(none.body).error]).toEqual([401, 'a token is needed: open the URL that `mob dashboard` printed']);
    const wrong = await http(`${d.origin}/api/status`, { headers: { authorization: 'Bearer wrong' } });
    expect([wrong.status, JSON.parse(wrong.body).error]).toEqual([401, 'the token is wrong: open the URL that this run of `mob dashboard` printed (each run makes a new one)']);
  });

  it('over three hosts: /api/status and the stream are what `mob status --json` prints, and the page sums every host\'s workers of a role', { timeout: 120_000 }, async () => {
    const { home, port } = await threeHosts();
    const { url } = await dashboard('hostsapp@a', home);
    const u = new URL(url);
    const token = u.searchParams.get('token')!;
    const base = `${u.protocol}//${u.host}`;

    // The same shape as `mob status hostsapp@a --json`: one entry per host, none with `others`.
    const shape = (apps: any[]): unknown =>
      apps.map((x) => ({ keys: Object.keys(x).sort(), host: x.host, pid: x.pid, socket: x.socket, roles: x.roles.map((r: any) => ({ name: r.name, pids: r.workers.map((w: any) => w.pid) })) }));
    const cli = JSON.parse(execFileSync(process.execPath, [BIN, 'status', 'hostsapp@a', '--json'], { env: { ...process.env, MOB_HOME: home }, encoding: 'utf8' }));
    const api = await http(`${base}/api/status`, { headers: { authorization: `Bearer ${token}` } });
    expect(api.status).toBe(200);
    const apps = JSON.parse(api.body);
    // this host first, then the others in the order they joined
    expect(apps[0].host).toBe('a');
    expect(apps.map((x: any) => x.host).sort()).toEqual(['a', 'b', 'c']);
    expect(apps.some((x: any) => 'others' in x)).toBe(false);
    expect(shape(apps)).toEqual(shape(cli));
    // The stream's status events carry the same array.
    const streamed = await statusEvents(base, token, (xs) => xs.length === 3);
    expect(streamed.some((x: any) => 'others' in x)).toBe(false);
    expect(shape(streamed)).toEqual(shape(apps));

    // The page: back runs on b and c only, and its header and charts count all 4 workers.
    const backs = apps.flatMap((x: any) => x.roles.find((r: any) => r.name === 'back').workers.map((w: any) => `${x.host}/${w.pid}`)).sort();
    expect(backs).toHaveLength(4);
    const page = await browser.newPage();
    cleanup.push(() => page.close());
    await page.goto(url);
    await page.waitForFunction(() => document.querySelector('section[data-role="back"] .summary')?.textContent?.startsWith('4/4 ready'), null, { timeout: 10_000 });
    const legend = (chart: number): Promise<string[]> =>
      page.$$eval(`section[data-role="back"] .chart:nth-child(${chart}) .title:last-child span`, (spans) => spans.map((s) => s.textContent.split(' ')[0]!).sort());
    // CPU and memory per worker: one series per worker of b and c, keyed host/pid.
    expect(await legend(3)).toEqual(backs);
    expect(await legend(4)).toEqual(backs);

    // Calls from a's front to b's and c's backs: the header counts them, the calls/s chart rises.
    const served = (): Promise<number> => page.$eval('section[data-role="back"] .summary', (s) => Number(/(\d+) calls served/.exec(s.textContent)![1]));
    const callsMax = (): Promise<number> => page.$eval('section[data-role="back"] .chart:nth-child(1) .title', (t) => Number(/max ([\d.]+)/.exec(t.textContent)![1]));
    const until = Date.now() + 20_000;
    while (Date.now() < until && ((await served()) < 100 || (await callsMax()) <= 1)) {
      await new Promise<void>((resolve, reject) => get(`http://127.0.0.1:${port}/call?n=50&locality=any`, (res) => res.resume().on('end', resolve)).on('error', reject));
    }
    expect(await served()).toBeGreaterThanOrEqual(100);
    expect(await callsMax()).toBeGreaterThan(1);
  });
});
