import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** The young generation's ceiling on Node 22 and later, in MiB per semi-space (Node 20's). */
export const MAX_SEMI_SPACE_MB = 16;

let capped = false;

/** True when the flags this process (or its workers) got already size the semi-spaces. */
export function semiSpaceGiven(flags: readonly string[]): boolean {
  return [...flags, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('semi-space'));
}

/**
 * Keeps this process's young generation at Node 20's size on Node 22 and later: at most
 * `maxSemiMiB` per semi-space (default 16). Node 22 and 24 grow a busy process's young
 * generation to 64 MiB per semi-space on a large machine, and `--max-semi-space-size` only
 * works from the command line, which mob does not own for the Kingpin. V8 reads its growth
 * factor each time it grows the young generation, though: after each GC, the factor is 1 (no
 * growth) while the young generation is at the ceiling, and V8's own (2) below it. A Kingpin
 * relaying a flood of messages to a slow role went over 200 MiB of RSS on Node 24 without it
 * (a 128 MiB young generation, 20 MiB of it used). Nothing on Node 20, when the process's
 * flags or NODE_OPTIONS size the semi-spaces or their growth, or when called again.
 *
 * @example
 * capYoungGeneration(); // in the Kingpin, once
 */
export function capYoungGeneration(maxSemiMiB = MAX_SEMI_SPACE_MB): void {
  if (capped || Number(process.versions.node.split('.')[0]) < 22 || semiSpaceGiven(process.execArgv)) return;
  capped = true;
  const ceiling = 2 * maxSemiMiB * 1024 * 1024; // the new space is two semi-spaces
  let held = false;
  const check = (): void => {
    const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    const atCeiling = young !== undefined && young.space_size >= ceiling;
    if (atCeiling === held) return;
    held = atCeiling;
    setFlagsFromString(`--semi-space-growth-factor=${held ? 1 : 2}`);
  };
  try {
    // After each GC, not on a timer: an idle Kingpin wakes for nothing.
    new PerformanceObserver(check).observe({ entryTypes: ['gc'] });
  } catch {
    // no GC entries here: V8's own sizes
  }
}
