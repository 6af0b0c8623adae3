// Summarizes a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per origin.
import { readFileSync } from 'node:fs';

function origin(url, name) {
  if (!url) return name.startsWith('(') ? name : '(native: V8 builtins, JSON)';
  const pkg = /packages\/(mob[\w-]*)\//.exec(url) ?? /node_modules\/(mob[\w-]*)\//.exec(url);
  if (pkg) return pkg[1];
  // Other packages by name (the NATS client's @nats-io/*, moleculer, nats).
  const dep = /node_modules\/((?:@[\w.-]+\/)?[\w.-]+)\//.exec(url);
  if (dep) return dep[1];
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node: ');
  if (url.includes('/apps/bench/')) return 'bench fixture';
  return url;
}

function shortUrl(url) {
  if (!url) return '';
  const m = /(packages\/[^/]+\/dist\/[^/]+|node:[^ ]+|apps\/bench\/.+)$/.exec(url);
  if (m) return m[1];
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+\/.+)$/.exec(url);
  return dep ? dep[1] : url.split('/').slice(-2).join('/');
}

/**
 * Self time of each function (by name and place) and of each origin, in ms and as a share of
 * the profile and of its busy (non-idle) time.
 */
export function summarize(file, top = 15) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  // timeDeltas[i + 1] is the time until the sample after i: the time spent where i was taken.
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i + 1] ?? 0;
    self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + dt);
  }
  const fns = new Map();
  const origins = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const { callFrame: cf } = byId.get(id);
    const name = cf.functionName || '(anonymous)';
    total += us;
    if (name === '(idle)') idle += us;
    const key = `${name} ${shortUrl(cf.url)}${cf.url ? `:${cf.lineNumber + 1}` : ''}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + us);
    const o = origin(cf.url, name);
    origins.set(o, (origins.get(o) ?? 0) + us);
  }
  const busy = total - idle;
  const rows = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .map(([key, us]) => ({ key, ms: us / 1000, pctTotal: (100 * us) / total, pctBusy: key.startsWith('(idle)') ? NaN : (100 * us) / busy }));
  return { totalMs: total / 1000, idleMs: idle / 1000, busyPct: (100 * busy) / total, functions: rows(fns).slice(0, top), origins: rows(origins) };
}

export function printSummary(title, s, origins = 10) {
  const out = [`${title}: ${s.totalMs.toFixed(0)} ms profiled, ${s.busyPct.toFixed(1)}% busy`];
  out.push('  top self time (% of profile / % of busy time):');
  for (const r of s.functions) out.push(`    ${r.pctTotal.toFixed(1).padStart(5)}%  ${Number.isFinite(r.pctBusy) ? `${r.pctBusy.toFixed(1).padStart(5)}%` : '     -'}  ${r.key}`);
  out.push('  by origin:');
  for (const r of s.origins.slice(0, origins)) out.push(`    ${r.pctTotal.toFixed(1).padStart(5)}%  ${Number.isFinite(r.pctBusy) ? `${r.pctBusy.toFixed(1).padStart(5)}%` : '     -'}  ${r.key}`);
  return out.join('\n');
}
