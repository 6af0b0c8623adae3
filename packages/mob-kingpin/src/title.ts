import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';

/**
 * Sets the process title. Linux keeps it in the space of the original command line, which
 * `node main.js` leaves too short for `myapp (kingpin)`: there, as setproctitle(3) does in
 * C, the title goes on over the environment strings that follow the command line (every
 * variable is first copied out, so `process.env` keeps them all). Where that is not
 * permitted, `ps aux` shows the title truncated; the process name `ps -e` shows is set too.
 *
 * @example
 * setTitle('myapp (kingpin)');
 */
export function setTitle(title: string): void {
  process.title = title;
  if (process.platform !== 'linux' || process.title === title) return;
  if (titleOverEnvironment(title)) return;
  try {
    writeFileSync('/proc/self/comm', title.slice(0, 15));
  } catch {
    // not permitted here: the truncated title stays
  }
}

/** Writes `title` from the start of the command line into the environment area after it. */
function titleOverEnvironment(title: string): boolean {
  try {
    // /proc/self/stat fields 48..51 (after the parenthesised name, fields count from 3).
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [argStart, argEnd, envStart, envEnd] = [48, 49, 50, 51].map((n) => Number(fields[n - 3]));
    const bytes = Buffer.from(`${title}\0`);
    // The kernel shows a title that runs on past the command line only into the environment
    // right after it; the title must also end within it.
    if (!(argStart! > 0 && envStart === argEnd && argStart! + bytes.length <= envEnd!)) return false;
    // setenv() gives each variable a copy of its own, away from the memory written next.
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined) process.env[key] = value;
    const fd = openSync('/proc/self/mem', 'r+');
    try {
      writeSync(fd, bytes, 0, bytes.length, argStart);
    } finally {
      closeSync(fd);
    }
    return true;
  } catch {
    return false;
  }
}
