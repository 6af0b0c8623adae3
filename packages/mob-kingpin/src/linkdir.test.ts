import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeLinkDir, sweepLinkDirs } from './linkdir.js';

const bases: string[] = [];
afterEach(() => {
  for (const b of bases.splice(0)) rmSync(b, { recursive: true, force: true });
});

/** A process that listens on a Unix socket at `path`, then is SIGKILLed: its pid is free, its socket file stays. */
async function killedListener(path: string): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'require("net").createServer().listen(process.argv[1], () => console.log("up")); setInterval(() => {}, 1e3)', path], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`listener exited (${code})`)));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  return child.pid!;
}

describe('link folders', () => {
  it('a SIGKILLed Kingpin\'s folder (its pid gone, only sockets inside) is removed; anything else stays', async () => {
    const base = mkdtempSync(join(tmpdir(), 'mob-linkdir-test-'));
    bases.push(base);
    // A killed Kingpin's folder: named after a pid that is gone, with a worker's socket left in it
    // (made where the listener can name it before its pid is known).
    const staging = join(base, 'staging');
    mkdirSync(staging);
    const dead = await killedListener(join(staging, '1.sock'));
    const stale = join(base, `mob-links-${dead}-AbC123`);
    mkdirSync(stale);
    renameSync(join(staging, '1.sock'), join(stale, '1.sock'));
    expect(statSync(join(stale, '1.sock')).isSocket()).toBe(true);
    // A folder of a dead pid holding a file that is not a socket: not mob's to remove.
    const other = join(base, `mob-links-${dead}-XyZ789`);
    mkdirSync(other);
    writeFileSync(join(other, 'notes.txt'), 'keep');
    // A running Kingpin's folder (this process's parent is running), and a name of another pattern.
    const live = join(base, `mob-links-${process.ppid}-Live01`);
    mkdirSync(live);
    const foreign = join(base, 'mob-links-notapid');
    mkdirSync(foreign);

    expect(sweepLinkDirs(base)).toBe(1);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(join(other, 'notes.txt'))).toBe(true);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(foreign)).toBe(true);
  });

  it('makeLinkDir makes a 0700 folder named after this process, which sweeping leaves alone', () => {
    const base = mkdtempSync(join(tmpdir(), 'mob-linkdir-test-'));
    bases.push(base);
    const dir = makeLinkDir(base);
    expect(dir.startsWith(join(base, `mob-links-${process.pid}-`))).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    // Its own folder is never swept while it runs.
    expect(sweepLinkDirs(base)).toBe(0);
    expect(readdirSync(base)).toHaveLength(1);
  });
});
