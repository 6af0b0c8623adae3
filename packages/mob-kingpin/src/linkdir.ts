import { chmodSync, lstatSync, mkdtempSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** `mob-links-<pid of its Kingpin>-<random>`: the folder of one Kingpin's link sockets. */
const NAME = /^mob-links-(\d+)-[A-Za-z0-9]+$/;

/**
 * Makes the private folder (0700) where a Kingpin's workers put their link sockets, named
 * after the Kingpin's pid, so that a later Kingpin can tell it was left by a killed one (see
 * sweepLinkDirs).
 *
 * @example
 * const dir = makeLinkDir(); // '/tmp/mob-links-4242-Xy12Ab'
 */
export function makeLinkDir(base = tmpdir()): string {
  const dir = mkdtempSync(join(base, `mob-links-${process.pid}-`));
  chmodSync(dir, 0o700);
  return dir;
}

/**
 * Removes the link folders of Kingpins (of this user) that were killed (SIGKILL leaves no
 * time to clean up): a folder whose pid is not running, holding nothing but sockets.
 * Anything else is left alone. Returns how many it removed.
 *
 * @example
 * sweepLinkDirs(tmpdir()); // 0
 */
export function sweepLinkDirs(base = tmpdir()): number {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return 0;
  }
  const uid = process.getuid?.();
  let removed = 0;
  for (const name of names) {
    const m = NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || running(pid)) continue;
    const dir = join(base, name);
    try {
      const st = lstatSync(dir);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      const inside = readdirSync(dir);
      if (!inside.every((f) => lstatSync(join(dir, f)).isSocket())) continue;
      for (const f of inside) unlinkSync(join(dir, f));
      rmdirSync(dir);
      removed++;
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed;
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: running, as another user
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
