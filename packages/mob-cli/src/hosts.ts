import { flatten, type AppStatus } from 'mob-control';

/**
 * Every host's entry once, this machine's first (each host's status lists the others it
 * knows): what `mob status --json` prints, and what the dashboard's `GET /api/status` answers.
 *
 * @example
 * everyHost([await client.request('status')]).map((s) => s.host); // ['a', 'b', 'c']
 */
export function everyHost(statuses: AppStatus[]): AppStatus[] {
  const out: AppStatus[] = [];
  const seen = new Set<string>();
  for (const s of statuses.flatMap(flatten).sort((a, b) => Number(!a.socket) - Number(!b.socket))) {
    const key = `${s.name}\0${s.host}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(s);
  }
  return out;
}
