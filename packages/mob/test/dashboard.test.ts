/// <reference lib="dom" />
// The live dashboard, in a real headless Chromium, on the README's app: the page shows the
// roles and workers, a SIGKILLed worker shows as restarted within 3 s, and clicking reload
// replaces the workers. Its API refuses requests without the token (401) or from another
// Origin (403).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startApp, stopAll, waitFor } from '../../mob-messaging/test/harness.js';

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
  const dash = spawn(process.execPath, [BIN, 'dashboard', 'opapp', '--port', '0'], { env: { ...process.env, MOB_HOME: home } });
  cleanup.push(() => {
    dash.kill();
    return new Promise((r) => (dash.exitCode !== null ? r(null) : dash.once('exit', r)));
  });
  let out = '';
  dash.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  // (a process of its own: its start-up alone can take seconds on a loaded machine)
  await waitFor(() => /http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/.test(out), { timeout: 20_000 });
  return { url: /http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/.exec(out)![0], home, dash };
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
});
