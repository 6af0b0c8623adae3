// From the scenarios' runs to figures, targets, the terminal table, PERFORMANCE.md and the chart.

/** Implementations, as the table and the chart name them. */
export const IMPLS = {
  mob: 'mob (worker → Kingpin → worker)',
  relay: 'relay, unbatched (baseline)',
  'relay-batched': 'relay, batched per turn (≤ 250)',
  workerpool: 'workerpool (process, 2 workers)',
  piscina: 'piscina (2 threads, reference)',
  plain: 'plain cluster (baseline)',
  rr: 'round-robin (default, baseline)',
  lp: 'least-pending',
};

const RPC = ['mob', 'relay', 'relay-batched', 'workerpool', 'piscina'];

/**
 * Every figure: which scenario, case and field it is read from, and its baseline. `scenario`
 * names a scenario of bench.mjs; `impl` names the row.
 */
export const FIGURES = [
  ...RPC.map((impl) => fig('lat.p50', 'add(1,2) one at a time: p50', 'µs', 'lower', impl, impl, 'lat', 'p50', ['relay', 'lat', 'p50'])),
  ...RPC.map((impl) => fig('lat.p99', 'add(1,2) one at a time: p99', 'µs', 'lower', impl, impl, 'lat', 'p99', ['relay', 'lat', 'p99'])),
  ...RPC.map((impl) => fig('pipe', 'add(1,2), 1000 in flight', 'calls/s', 'higher', impl, impl, 'pipe', 'callsPerSec', ['relay', 'pipe', 'callsPerSec'])),
  ...['mob', 'relay'].map((impl) => fig('lat10k.p50', '10 KB argument one at a time: p50', 'µs', 'lower', impl, impl, 'lat10k', 'p50', ['relay', 'lat10k', 'p50'])),
  ...['mob', 'relay'].map((impl) => fig('lat10k.p99', '10 KB argument one at a time: p99', 'µs', 'lower', impl, impl, 'lat10k', 'p99', ['relay', 'lat10k', 'p99'])),
  ...['mob', 'relay'].map((impl) => fig('pipe10k', '10 KB argument, 1000 in flight', 'calls/s', 'higher', impl, impl, 'pipe10k', 'callsPerSec', ['relay', 'pipe10k', 'callsPerSec'])),
  fig('ready', '8 workers ready', 'ms', 'lower', 'mob', 'ready-mob', 'ready', 'ms', ['ready-plain', 'ready', 'ms']),
  fig('ready', '8 workers ready', 'ms', 'lower', 'plain', 'ready-plain', 'ready', 'ms', ['ready-plain', 'ready', 'ms']),
  fig('rss', 'primary idle RSS, 8 workers', 'MiB', 'lower', 'mob', 'ready-mob', 'rss', 'mib', ['ready-plain', 'rss', 'mib']),
  fig('rss', 'primary idle RSS, 8 workers', 'MiB', 'lower', 'plain', 'ready-plain', 'rss', 'mib', ['ready-plain', 'rss', 'mib']),
  fig('balance', 'uneven durations, 2 workers, 8 in flight', 'calls/s', 'higher', 'rr', 'balance', 'balanceRoundRobin', 'callsPerSec', ['balance', 'balanceRoundRobin', 'callsPerSec']),
  fig('balance', 'uneven durations, 2 workers, 8 in flight', 'calls/s', 'higher', 'lp', 'balance', 'balanceLeastPending', 'callsPerSec', ['balance', 'balanceRoundRobin', 'callsPerSec']),
  fig('balance.total', 'uneven durations: total time', 'ms', 'lower', 'rr', 'balance', 'balanceRoundRobin', 'totalMs', ['balance', 'balanceRoundRobin', 'totalMs']),
  fig('balance.total', 'uneven durations: total time', 'ms', 'lower', 'lp', 'balance', 'balanceLeastPending', 'totalMs', ['balance', 'balanceRoundRobin', 'totalMs']),
];

function fig(id, label, unit, better, impl, scenario, kase, field, [bScenario, bCase, bField]) {
  return { id, label, unit, better, impl, scenario, case: kase, field, baseline: { scenario: bScenario, case: bCase, field: bField } };
}

export function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Medians of every figure over the runs collected per scenario (`runs[scenario]` = cases[]). */
export function computeFigures(runs) {
  const values = (scenario, kase, field) => (runs[scenario] ?? []).map((cases) => cases[kase]?.[field]);
  return FIGURES.map((f) => {
    const all = values(f.scenario, f.case, f.field);
    const value = median(all);
    const base = median(values(f.baseline.scenario, f.baseline.case, f.baseline.field));
    const isBaseline = f.scenario === f.baseline.scenario && f.case === f.baseline.case && f.field === f.baseline.field;
    return { ...f, value, runs: all, baselineValue: base, ratio: value / base, isBaseline };
  });
}

function get(figures, id, impl) {
  return figures.find((f) => f.id === id && f.impl === impl)?.value ?? NaN;
}

/** The issue's targets, pass or miss, from the medians. */
export function computeTargets(figures) {
  const g = (id, impl) => get(figures, id, impl);
  const ratio = (a, b) => a / b;
  const t = (name, actual, op, goal, shown) => ({
    name,
    actual,
    goal,
    op,
    shown,
    pass: Number.isFinite(actual) && (op === '>=' ? actual >= goal : actual <= goal),
  });
  const mobPipe = g('pipe', 'mob');
  return [
    t('mob pipelined calls/s ≥ 3.0× unbatched relay', ratio(mobPipe, g('pipe', 'relay')), '>=', 3.0, 'x'),
    t('mob pipelined calls/s ≥ 0.9× batched relay', ratio(mobPipe, g('pipe', 'relay-batched')), '>=', 0.9, 'x'),
    t('mob one-at-a-time p50 ≤ 1.1× relay', ratio(g('lat.p50', 'mob'), g('lat.p50', 'relay')), '<=', 1.1, 'x'),
    t('mob pipelined calls/s ≥ 15× workerpool', ratio(mobPipe, g('pipe', 'workerpool')), '>=', 15, 'x'),
    t('mob 10 KB pipelined calls/s ≥ 1.0× relay', ratio(g('pipe10k', 'mob'), g('pipe10k', 'relay')), '>=', 1.0, 'x'),
    t('8 workers ready ≤ 1.2× plain fork', ratio(g('ready', 'mob'), g('ready', 'plain')), '<=', 1.2, 'x'),
    t('Kingpin idle RSS ≤ plain primary + 5 MiB', g('rss', 'mob') - g('rss', 'plain'), '<=', 5, 'MiB'),
  ];
}

export function fmt(value, unit) {
  if (!Number.isFinite(value)) return 'n/a';
  if (unit === 'calls/s') return `${Math.round(value).toLocaleString('en-US')}/s`;
  if (unit === 'µs') return `${value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US')} µs`;
  if (unit === 'ms') return `${value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US')} ms`;
  if (unit === 'MiB') return `${value.toFixed(1)} MiB`;
  return String(value);
}

function fmtRatio(f) {
  if (!Number.isFinite(f.ratio)) return 'n/a';
  if (f.unit === 'MiB') {
    const d = f.value - f.baselineValue;
    return `${f.ratio.toFixed(2)}×, ${d >= 0 ? '+' : ''}${d.toFixed(1)} MiB`;
  }
  return `${f.ratio >= 10 ? f.ratio.toFixed(1) : f.ratio.toFixed(2)}×`;
}

function fmtTarget(t) {
  const v = t.shown === 'MiB' ? `${t.actual >= 0 ? '+' : ''}${t.actual.toFixed(1)} MiB` : `${t.actual.toFixed(2)}×`;
  return Number.isFinite(t.actual) ? v : 'n/a';
}

function pad(s, n) {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** The terminal table: every figure, its runs and its ratio to its baseline. */
export function textTable(figures, targets, { quick }) {
  const rows = [['figure', 'implementation', 'median', 'vs baseline', 'runs']];
  let last = '';
  for (const f of figures) {
    const label = `${f.label} (${f.better} is better)`;
    rows.push([
      label === last ? '' : label,
      IMPLS[f.impl],
      fmt(f.value, f.unit),
      f.isBaseline ? '1.00× (baseline)' : fmtRatio(f),
      f.runs.map((v) => fmt(v, f.unit).replace(/ (µs|ms|MiB)$/, '').replace('/s', '')).join(', '),
    ]);
    last = label;
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((c, i) => pad(c, widths[i])).join('  ').trimEnd());
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  lines.push('');
  if (quick) lines.push('targets: not judged in quick mode (runs too short; it checks results only)');
  else {
    lines.push('targets:');
    for (const t of targets) lines.push(`  ${t.pass ? 'PASS' : 'MISS'}  ${pad(t.name, 46)} measured ${fmtTarget(t)}`);
  }
  return lines.join('\n');
}

function md(figures, id, impl) {
  const f = figures.find((x) => x.id === id && x.impl === impl);
  if (!f) return '–';
  return f.isBaseline ? fmt(f.value, f.unit) : `${fmt(f.value, f.unit)} (${fmtRatio(f)})`;
}

function machineLine(m, runs) {
  return `${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, ${m.os}, Node ${m.node}, ${m.date.slice(0, 10)}; medians of ${runs} runs`;
}

/** The "Performance" section for the root README. */
export function markdown(figures, targets, { machine, runs, quiet, contended = [], code = {} }) {
  const rpcRow = (id, label) => `| ${label} | ${RPC.map((impl) => md(figures, id, impl)).join(' | ')} |`;
  const twoRow = (id, label) => `| ${label} | ${md(figures, id, 'mob')} | ${md(figures, id, 'relay')} |`;
  const out = [
    '## Performance',
    '',
    'The same workload everywhere: `add(1, 2)` in another process, the result back. mob calls go',
    'from a worker through the Kingpin to a worker of another role (2 workers); the baseline is a',
    'hand-written `node:cluster` relay (worker → primary → worker, `process.send`, JSON, one message',
    'per call). mob runs as an app gets it from npm: each package\'s `package.json` and `dist`',
    'under `node_modules`, not the workspace symlinks. Figures are medians; ratios are to the',
    'baseline (for latency and time, lower is better). Run it with `npm run bench`;',
    '`apps/bench/README.md` says what each case measures.',
    '',
    `| | ${RPC.map((i) => IMPLS[i]).join(' | ')} |`,
    `|---|${RPC.map(() => '---:').join('|')}|`,
    rpcRow('lat.p50', 'one call at a time, p50'),
    rpcRow('lat.p99', 'one call at a time, p99'),
    rpcRow('pipe', '1000 calls in flight'),
    '',
    '| 10 KB JSON argument | mob | relay, unbatched (baseline) |',
    '|---|---:|---:|',
    twoRow('lat10k.p50', 'one call at a time, p50'),
    twoRow('lat10k.p99', 'one call at a time, p99'),
    twoRow('pipe10k', '1000 calls in flight'),
    '',
    '| Cluster | mob | plain `node:cluster` (baseline) |',
    '|---|---:|---:|',
    `| 8 workers ready (fork to last ready) | ${md(figures, 'ready', 'mob')} | ${md(figures, 'ready', 'plain')} |`,
    `| primary's idle RSS with 8 workers | ${md(figures, 'rss', 'mob')} | ${md(figures, 'rss', 'plain')} |`,
    '',
    '| Uneven call durations (1 in 8 calls 20 ms, others 1 ms; 2 workers, 8 in flight) | least-pending | round-robin (default, baseline) |',
    '|---|---:|---:|',
    `| calls/s | ${md(figures, 'balance', 'lp')} | ${md(figures, 'balance', 'rr')} |`,
    `| total time | ${md(figures, 'balance.total', 'lp')} | ${md(figures, 'balance.total', 'rr')} |`,
    '',
    '| Target | Measured | |',
    '|---|---:|---|',
    ...targets.map((t) => `| ${t.name} | ${fmtTarget(t)} | ${t.pass ? 'pass' : '**miss**'} |`),
    '',
    '![calls/s per implementation](apps/bench/results/chart.svg)',
    '',
    `Machine: ${machineLine(machine, runs)}${code.commit ? `; mob at ${code.commit}${code.packagesChanged ? ' (with uncommitted changes)' : ''}` : ''}.` +
      (quiet.quiet ? '' : ' **Warning: the machine was not quiet when the run started.**') +
      (contended.length ? ` ${contended.length} run(s) were kept although other processes kept the machine busy (see results/latest.json).` : ''),
    '',
  ];
  return out.join('\n');
}

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A hand-written horizontal bar chart of calls/s per implementation, one panel per payload. */
export function chartSvg(figures, { machine, runs }) {
  const panels = [
    { title: 'add(1, 2) across processes, 1000 calls in flight', id: 'pipe', impls: RPC },
    { title: 'the same with a 10 KB JSON argument', id: 'pipe10k', impls: ['mob', 'relay'] },
  ];
  const W = 900;
  const labelW = 250;
  const barMax = 400;
  const rowH = 26;
  const colors = { mob: '#2f6fde', relay: '#8a8a8a', 'relay-batched': '#b5b5b5', workerpool: '#d9a441', piscina: '#5aa469' };
  const parts = [];
  let y = 44;
  for (const p of panels) {
    const fs = p.impls.map((impl) => figures.find((f) => f.id === p.id && f.impl === impl)).filter(Boolean);
    const max = Math.max(...fs.map((f) => (Number.isFinite(f.value) ? f.value : 0)), 1);
    parts.push(`<text x="16" y="${y}" class="h">${esc(p.title)} — calls/s (higher is better)</text>`);
    y += 14;
    for (const f of fs) {
      const w = Number.isFinite(f.value) ? Math.max(1, (f.value / max) * barMax) : 0;
      const ratio = f.isBaseline ? 'baseline' : `${fmtRatio(f)} baseline`;
      parts.push(
        `<text x="${labelW - 8}" y="${y + 17}" class="l" text-anchor="end">${esc(IMPLS[f.impl])}</text>`,
        `<rect x="${labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" rx="2" fill="${colors[f.impl]}"/>`,
        `<text x="${(labelW + w + 6).toFixed(1)}" y="${y + 17}" class="v">${esc(fmt(f.value, f.unit))} · ${esc(ratio)}</text>`,
      );
      y += rowH;
    }
    y += 28;
  }
  parts.push(`<text x="16" y="${y - 8}" class="m">${esc(machineLine(machine, runs))}</text>`);
  const H = y + 4;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif">`,
    '<style>.t{font-size:16px;font-weight:600;fill:#222}.h{font-size:13px;font-weight:600;fill:#333}.l{font-size:12px;fill:#333}.v{font-size:12px;fill:#222}.m{font-size:11px;fill:#666}</style>',
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    '<text x="16" y="22" class="t">mob benchmark: calls per second by implementation</text>',
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
