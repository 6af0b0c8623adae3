// From the scenarios' runs to figures, targets, the terminal table, PERFORMANCE.md and the chart.

/** Implementations, as the table and the chart name them. */
export const IMPLS = {
  'mob-links': 'mob (links: worker → worker)',
  'mob-routed': 'mob (routed: worker → Kingpin → worker)',
  'mob-nostats': 'mob (links), metrics off (stats: false)',
  relay: 'relay, unbatched (baseline)',
  'relay-batched': 'relay, batched per turn (≤ 250)',
  workerpool: 'workerpool (process, 2 workers)',
  piscina: 'piscina (2 threads, reference)',
  ipc: 'raw IPC ping-pong (1 hop)',
  unix: 'raw Unix socket ping-pong (1 hop)',
  'mob-links-1': 'mob (links), 1 back worker',
  'unix-alt': 'raw Unix socket ping-pong, 2 servers in turn',
  mob: 'mob (Kingpin)',
  plain: 'plain cluster (baseline)',
  rr: 'round-robin (default, baseline)',
  lp: 'least-pending',
  'nats-mob': 'mob over NATS (default: worker a → NATS → worker b)',
  'nats-kingpins': 'mob over NATS, direct: false (worker a → Kingpin a → NATS → Kingpin b → worker b)',
  moleculer: 'Moleculer 0.15 over NATS (baseline)',
  'nats-local': 'mob over NATS, callee on both hosts (prefer-local)',
};

/** The implementations of the pipelined add(1,2) case; one call at a time adds the ping-pongs. */
const RPC = ['mob-links', 'mob-routed', 'mob-nostats', 'relay', 'relay-batched', 'workerpool', 'piscina'];
const LAT = [...RPC, 'ipc', 'unix'];
/** The 10 KB argument, and the implementations whose every process's CPU is measured. */
const PAD = ['mob-links', 'mob-routed', 'relay'];
const CPU = ['mob-links', 'mob-routed', 'mob-nostats', 'relay', 'relay-batched'];
/** Across two hosts through a nats-server: mob and Moleculer; and prefer-local against one host. */
const HOSTS = ['nats-mob', 'nats-kingpins', 'moleculer'];
const LOCAL = ['nats-local', 'mob-links'];
/** One call at a time, one callee against two in turn (round-robin), and workerpool (its first idle worker). */
const TURNS = ['mob-links-1', 'mob-links', 'unix', 'unix-alt', 'workerpool'];

/**
 * Every figure: which scenario, case and field it is read from (a dotted path), and its
 * baseline. `scenario` names a scenario of bench.mjs; `impl` names the row.
 */
export const FIGURES = [
  ...LAT.map((impl) => fig('lat.p50', 'add(1,2) one at a time: p50', 'µs', 'lower', impl, impl, 'lat', 'p50', ['relay', 'lat', 'p50'])),
  ...LAT.map((impl) => fig('lat.p99', 'add(1,2) one at a time: p99', 'µs', 'lower', impl, impl, 'lat', 'p99', ['relay', 'lat', 'p99'])),
  ...RPC.map((impl) => fig('pipe', 'add(1,2), 1000 in flight', 'calls/s', 'higher', impl, impl, 'pipe', 'callsPerSec', ['relay', 'pipe', 'callsPerSec'])),
  ...CPU.map((impl) => fig('cpu.pipe', 'add(1,2), 1000 in flight: CPU per call, all processes', 'µs/call', 'lower', impl, impl, 'pipe', 'cpu.usPerCall', ['relay', 'pipe', 'cpu.usPerCall'])),
  ...CPU.map((impl) => fig('writes.pipe', 'add(1,2), 1000 in flight: write system calls per 1000 calls, all processes', 'per 1k', 'lower', impl, impl, 'pipe', 'cpu.writesPer1k', ['relay', 'pipe', 'cpu.writesPer1k'])),
  ...CPU.map((impl) => fig('primary.pipe', 'add(1,2), 1000 in flight: CPU of the Kingpin / relay primary', 'core', 'lower', impl, impl, 'pipe', 'cpu.primaryCores', ['relay', 'pipe', 'cpu.primaryCores'])),
  ...PAD.map((impl) => fig('lat10k.p50', '10 KB argument one at a time: p50', 'µs', 'lower', impl, impl, 'lat10k', 'p50', ['relay', 'lat10k', 'p50'])),
  ...PAD.map((impl) => fig('lat10k.p99', '10 KB argument one at a time: p99', 'µs', 'lower', impl, impl, 'lat10k', 'p99', ['relay', 'lat10k', 'p99'])),
  ...PAD.map((impl) => fig('pipe10k', '10 KB argument, 1000 in flight', 'calls/s', 'higher', impl, impl, 'pipe10k', 'callsPerSec', ['relay', 'pipe10k', 'callsPerSec'])),
  ...PAD.map((impl) => fig('cpu.pipe10k', '10 KB argument, 1000 in flight: CPU per call, all processes', 'µs/call', 'lower', impl, impl, 'pipe10k', 'cpu.usPerCall', ['relay', 'pipe10k', 'cpu.usPerCall'])),
  ...HOSTS.map((impl) => fig('hosts.lat.p50', 'add(1,2) across 2 hosts through NATS, one at a time: p50', 'µs', 'lower', impl, impl, 'lat', 'p50', ['moleculer', 'lat', 'p50'])),
  ...HOSTS.map((impl) => fig('hosts.lat.p99', 'add(1,2) across 2 hosts through NATS, one at a time: p99', 'µs', 'lower', impl, impl, 'lat', 'p99', ['moleculer', 'lat', 'p99'])),
  ...HOSTS.map((impl) => fig('hosts.pipe', 'add(1,2) across 2 hosts through NATS, 1000 in flight', 'calls/s', 'higher', impl, impl, 'pipe', 'callsPerSec', ['moleculer', 'pipe', 'callsPerSec'])),
  ...HOSTS.map((impl) => fig('hosts.cpu.pipe', 'add(1,2) across 2 hosts through NATS, 1000 in flight: CPU per call, all processes', 'µs/call', 'lower', impl, impl, 'pipe', 'cpu.usPerCall', ['moleculer', 'pipe', 'cpu.usPerCall'])),
  ...LOCAL.map((impl) => fig('local.lat.p50', 'add(1,2) with the callee on this host and another (prefer-local), one at a time: p50', 'µs', 'lower', impl, impl, 'lat', 'p50', ['mob-links', 'lat', 'p50'])),
  ...LOCAL.map((impl) => fig('local.pipe', 'add(1,2) with the callee on this host and another (prefer-local), 1000 in flight', 'calls/s', 'higher', impl, impl, 'pipe', 'callsPerSec', ['mob-links', 'pipe', 'callsPerSec'])),
  ...LOCAL.map((impl) => fig('local.cpu.pipe', 'add(1,2) with the callee on this host and another (prefer-local), 1000 in flight: CPU per call, all processes', 'µs/call', 'lower', impl, impl, 'pipe', 'cpu.usPerCall', ['mob-links', 'pipe', 'cpu.usPerCall'])),
  ...TURNS.map((impl) => fig('turns.lat.p50', 'add(1,2) one at a time, one callee or two in turn: p50', 'µs', 'lower', impl, impl, 'lat', 'p50', ['unix', 'lat', 'p50'])),
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

/** A dotted path (`cpu.usPerCall`) into a case's result. */
function pick(obj, path) {
  let v = obj;
  for (const k of path.split('.')) v = v?.[k];
  return v;
}

/** Medians of every figure over the runs collected per scenario (`runs[scenario]` = cases[]). */
export function computeFigures(runs) {
  const values = (scenario, kase, field) => (runs[scenario] ?? []).map((cases) => pick(cases[kase], field));
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

/**
 * The issue's targets, pass or miss, from the medians: first those of direct links, then the
 * earlier ones, now read for mob as it runs by default (links). Each says what it compared.
 */
export function computeTargets(figures) {
  const g = (id, impl) => get(figures, id, impl);
  const f = (id, impl) => fmt(g(id, impl), FIGURES.find((x) => x.id === id).unit);
  const t = (name, actual, op, goal, shown, detail) => ({
    name,
    actual,
    goal,
    op,
    shown,
    detail,
    pass: Number.isFinite(actual) && (op === '>=' ? actual >= goal : op === '<' ? actual < goal : actual <= goal),
  });
  const vs = (id, a, b) => ({ ratio: g(id, a) / g(id, b), detail: `${f(id, a)} vs ${f(id, b)}` });
  const r = (name, id, a, b, op, goal) => {
    const { ratio, detail } = vs(id, a, b);
    return t(name, ratio, op, goal, 'x', detail);
  };
  return [
    r('mob (links) one-at-a-time p50 ≤ 1.2× raw IPC ping-pong', 'lat.p50', 'mob-links', 'ipc', '<=', 1.2),
    r('mob (links) one-at-a-time p50 ≤ 0.95× workerpool', 'lat.p50', 'mob-links', 'workerpool', '<=', 0.95),
    r('mob (links) pipelined calls/s ≥ 1.3× mob (routed)', 'pipe', 'mob-links', 'mob-routed', '>=', 1.3),
    r('mob (links) CPU per call, all processes ≤ 0.6× mob (routed)', 'cpu.pipe', 'mob-links', 'mob-routed', '<=', 0.6),
    t('mob (links) Kingpin CPU while pipelined < 5% of a core', g('primary.pipe', 'mob-links'), '<', 0.05, 'core', `${f('primary.pipe', 'mob-links')} (routed: ${f('primary.pipe', 'mob-routed')})`),
    r('mob (links) 10 KB pipelined calls/s ≥ 1.0× mob (routed)', 'pipe10k', 'mob-links', 'mob-routed', '>=', 1.0),
    r('metrics on: mob (links) pipelined calls/s ≥ 0.97× metrics off', 'pipe', 'mob-links', 'mob-nostats', '>=', 0.97),
    r('metrics on: mob (links) CPU per call ≤ 1.03× metrics off', 'cpu.pipe', 'mob-links', 'mob-nostats', '<=', 1.03),
    r('mob (links) pipelined calls/s ≥ 3.0× unbatched relay', 'pipe', 'mob-links', 'relay', '>=', 3.0),
    r('mob (links) pipelined calls/s ≥ 0.9× batched relay', 'pipe', 'mob-links', 'relay-batched', '>=', 0.9),
    r('mob (links) one-at-a-time p50 ≤ 1.1× relay', 'lat.p50', 'mob-links', 'relay', '<=', 1.1),
    r('mob (links) pipelined calls/s ≥ 15× workerpool', 'pipe', 'mob-links', 'workerpool', '>=', 15),
    r('mob (links) 10 KB pipelined calls/s ≥ 1.0× relay', 'pipe10k', 'mob-links', 'relay', '>=', 1.0),
    r('8 workers ready ≤ 1.2× plain fork', 'ready', 'mob', 'plain', '<=', 1.2),
    t('Kingpin idle RSS ≤ plain primary + 5 MiB', g('rss', 'mob') - g('rss', 'plain'), '<=', 5, 'MiB', `${f('rss', 'mob')} vs ${f('rss', 'plain')}`),
    r('mob over NATS pipelined calls/s ≥ 3× Moleculer over NATS', 'hosts.pipe', 'nats-mob', 'moleculer', '>=', 3),
    r('mob over NATS one-at-a-time p50 ≤ 1.0× Moleculer over NATS', 'hosts.lat.p50', 'nats-mob', 'moleculer', '<=', 1.0),
    r('prefer-local over NATS: p50 ≤ 1.05× single-host mob (links)', 'local.lat.p50', 'nats-local', 'mob-links', '<=', 1.05),
    r('prefer-local over NATS: pipelined calls/s ≥ 0.95× single-host mob (links)', 'local.pipe', 'nats-local', 'mob-links', '>=', 0.95),
  ];
}

/** Processes in the order a call passes them (the rest after). */
const PROCESS_ORDER = ['driver a', 'kingpin a', 'back a', 'nats-server', 'kingpin b', 'back b', 'caller', 'callee'];

/**
 * CPU seconds per 100k calls of each process of the pipelined case, for the scenarios whose
 * meter names its processes (`cpu.byName`): the median over runs, per scenario, with the sum.
 */
export function processCpu(runs) {
  const out = {};
  for (const [id, list] of Object.entries(runs)) {
    const per = list.map((cases) => cases.pipe).filter((c) => c?.cpu?.byName && c.n > 0);
    if (per.length === 0) continue;
    const names = [...new Set(per.flatMap((c) => Object.keys(c.cpu.byName)))];
    const rank = (n) => (PROCESS_ORDER.includes(n) ? PROCESS_ORDER.indexOf(n) : PROCESS_ORDER.length);
    names.sort((a, b) => rank(a) - rank(b));
    out[id] = Object.fromEntries(names.map((n) => [n, median(per.map((c) => (c.cpu.byName[n] * 1e5) / c.n))]));
    out[id].all = median(per.map((c) => (c.cpu.allSec * 1e5) / c.n));
  }
  return out;
}

/** processCpu() as lines for the terminal; '' when no scenario names its processes. */
export function cpuByProcess(runs) {
  const data = processCpu(runs);
  const ids = Object.keys(data);
  if (ids.length === 0) return '';
  const lines = ['CPU seconds per 100k calls, by process (add(1,2), 1000 in flight; medians):'];
  for (const id of ids) {
    const parts = Object.entries(data[id]).map(([n, v]) => `${n} ${Number.isFinite(v) ? v.toFixed(2) : 'n/a'}`);
    lines.push(`  ${IMPLS[id] ?? id}: ${parts.join(', ')}`);
  }
  return lines.join('\n');
}

export function fmt(value, unit) {
  if (!Number.isFinite(value)) return 'n/a';
  if (unit === 'calls/s') return `${Math.round(value).toLocaleString('en-US')}/s`;
  if (unit === 'µs') return `${value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US')} µs`;
  if (unit === 'µs/call') return `${value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US')} µs/call`;
  if (unit === 'core') return `${(value * 100).toFixed(1)}% of a core`;
  if (unit === 'per 1k') return value.toFixed(1);
  if (unit === 'ms') return `${value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US')} ms`;
  if (unit === 'MiB') return `${value.toFixed(1)} MiB`;
  return String(value);
}

/** A figure without its unit, for the list of runs. */
function bare(value, unit) {
  if (unit === 'core' && Number.isFinite(value)) return `${(value * 100).toFixed(1)}%`;
  return fmt(value, unit).replace(/ (µs|µs\/call|ms|MiB)$/, '').replace('/s', '');
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
  if (!Number.isFinite(t.actual)) return 'n/a';
  if (t.shown === 'MiB') return `${t.actual >= 0 ? '+' : ''}${t.actual.toFixed(1)} MiB`;
  if (t.shown === 'core') return `${(t.actual * 100).toFixed(1)}%`;
  return `${t.actual.toFixed(2)}×`;
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
      f.runs.map((v) => bare(v, f.unit)).join(', '),
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
    const w = Math.max(...targets.map((t) => t.name.length));
    for (const t of targets) lines.push(`  ${t.pass ? 'PASS' : 'MISS'}  ${pad(t.name, w)}  measured ${pad(fmtTarget(t), 6)}  (${t.detail})`);
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
  const row = (impls, id, label) => `| ${label} | ${impls.map((impl) => md(figures, id, impl)).join(' | ')} |`;
  const head = (first, impls) => [`| ${first} | ${impls.map((i) => IMPLS[i]).join(' | ')} |`, `|---|${impls.map(() => '---:').join('|')}|`];
  const plain = (id, impl) => fmt(get(figures, id, impl), 'µs');
  /** Figure `id` of `a` over that of `b`, as `1.23×`. */
  const ratio = (id, a, b) => {
    const r = get(figures, id, a) / get(figures, id, b);
    return Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a';
  };
  const times = (id, impl) => ratio(id, 'mob-links', impl);
  const floor = ['ipc', 'unix'];
  const turns = (label, one, two) =>
    `| ${label} | ${plain('turns.lat.p50', one)} | ${plain('turns.lat.p50', two)} | ${ratio('turns.lat.p50', two, one)} |`;
  const out = [
    '## Performance',
    '',
    'The same workload everywhere: `add(1, 2)` in another process, the result back.',
    '**mob (links)** is mob as it runs by default: the calling worker sends each call straight to',
    'a worker of the other role (2 workers) over a Unix socket the Kingpin introduced them on, one',
    'hop each way. **mob (routed)** is the same app started with `start(name, { links: false })`:',
    'every call goes worker → Kingpin → worker and back, the path mob took before links.',
    '**metrics off** is mob (links) started with `stats: false`: its workers time no call and',
    'report no figures, the cost that metrics on (the default) is compared with. The',
    'baseline is a hand-written `node:cluster` relay (worker → primary → worker, `process.send`,',
    'JSON, one message per call). The raw ping-pongs are the floor of one hop: two processes, one',
    'JSON message each way, nothing in between. CPU per call is the user + system time of every',
    'process of the case (Kingpin or primary, caller, 2 callees) over the timed phase, divided by',
    'the calls answered in it. mob runs as an app gets it from npm: each package\'s `package.json`',
    'and `dist` under `node_modules`, not the workspace symlinks. Figures are medians; ratios in',
    'brackets are to the baseline (for latency, CPU and time, lower is better). Run it with',
    '`npm run bench`; `apps/bench/README.md` says what each case measures.',
    '',
    ...head('add(1, 2)', RPC),
    row(RPC, 'lat.p50', 'one call at a time, p50'),
    row(RPC, 'lat.p99', 'one call at a time, p99'),
    row(RPC, 'pipe', '1000 calls in flight'),
    row(RPC, 'cpu.pipe', 'CPU per call, all processes (1000 in flight)'),
    row(RPC, 'primary.pipe', 'CPU of the Kingpin / relay primary (1000 in flight)'),
    '',
    `| add(1, 2), one call at a time | ${IMPLS['mob-links']} | ${floor.map((i) => IMPLS[i]).join(' | ')} |`,
    '|---|---:|---:|---:|',
    `| p50 | ${plain('lat.p50', 'mob-links')} | ${floor.map((i) => plain('lat.p50', i)).join(' | ')} |`,
    `| p99 | ${plain('lat.p99', 'mob-links')} | ${floor.map((i) => plain('lat.p99', i)).join(' | ')} |`,
    `| mob (links) p50 ÷ this p50 | 1.00× | ${floor.map((i) => times('lat.p50', i)).join(' | ')} |`,
    '',
    'Round-robin, one call at a time: mob (links) sends consecutive calls to its two back workers',
    'in turn, so three processes take turns on two cores. The same cost, measured alone: mob with one',
    'back worker, and the raw Unix ping-pong with two servers in turn. workerpool sends every call',
    'of a sequence to its first idle worker: one callee.',
    '',
    '| add(1, 2), one call at a time, p50 | one callee | two callees in turn | two in turn ÷ one |',
    '|---|---:|---:|---:|',
    turns('mob (links)', 'mob-links-1', 'mob-links'),
    turns('raw Unix socket ping-pong', 'unix', 'unix-alt'),
    `| workerpool (process, 2 workers: its first idle one) | ${plain('turns.lat.p50', 'workerpool')} | – | – |`,
    '',
    ...head('10 KB JSON argument', PAD),
    row(PAD, 'lat10k.p50', 'one call at a time, p50'),
    row(PAD, 'lat10k.p99', 'one call at a time, p99'),
    row(PAD, 'pipe10k', '1000 calls in flight'),
    row(PAD, 'cpu.pipe10k', 'CPU per call, all processes (1000 in flight)'),
    '',
    '| Cluster | mob | plain `node:cluster` (baseline) |',
    '|---|---:|---:|',
    `| 8 workers ready (fork to last ready) | ${md(figures, 'ready', 'mob')} | ${md(figures, 'ready', 'plain')} |`,
    `| primary's idle RSS with 8 workers | ${md(figures, 'rss', 'mob')} | ${md(figures, 'rss', 'plain')} |`,
    '',
    '| Uneven call durations (1 in 8 calls 20 ms, others 1 ms; 2 workers, 8 in flight; links) | least-pending | round-robin (default, baseline) |',
    '|---|---:|---:|',
    `| calls/s | ${md(figures, 'balance', 'lp')} | ${md(figures, 'balance', 'rr')} |`,
    `| total time | ${md(figures, 'balance.total', 'lp')} | ${md(figures, 'balance.total', 'rr')} |`,
    '',
    'Across hosts: a nats-server on this machine and two mob hosts (two Kingpin processes of one',
    'app): the driver on host a calls role `back` on host b; by default, each worker with its own',
    'NATS connection (worker → NATS → worker and back); with `direct: false`, through both Kingpins',
    '(worker → Kingpin a → NATS → Kingpin b → worker and back). Against two Moleculer 0.15',
    'brokers on the same server (its NATS transporter). With the callee on both hosts,',
    'prefer-local (the default) keeps the calls on host a, compared with mob on one host.',
    '',
    ...head('add(1, 2) across 2 hosts through NATS', HOSTS),
    row(HOSTS, 'hosts.lat.p50', 'one call at a time, p50'),
    row(HOSTS, 'hosts.lat.p99', 'one call at a time, p99'),
    row(HOSTS, 'hosts.pipe', '1000 calls in flight'),
    row(HOSTS, 'hosts.cpu.pipe', 'CPU per call, all processes (1000 in flight)'),
    '',
    ...head('add(1, 2), callee on host a and host b', LOCAL),
    row(LOCAL, 'local.lat.p50', 'one call at a time, p50'),
    row(LOCAL, 'local.pipe', '1000 calls in flight'),
    row(LOCAL, 'local.cpu.pipe', 'CPU per call, all processes (1000 in flight)'),
    '',
    '| Target (measured in this run) | Measured | From | |',
    '|---|---:|---|---|',
    ...targets.map((t) => `| ${t.name} | ${fmtTarget(t)} | ${t.detail} | ${t.pass ? 'pass' : '**miss**'} |`),
    '',
    '![calls/s and latency per implementation](apps/bench/results/chart.svg)',
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

/**
 * A hand-written horizontal bar chart, one panel per figure: calls/s with 1000 in flight
 * (add(1, 2), then the 10 KB argument), and the p50 of one call at a time.
 */
export function chartSvg(figures, { machine, runs }) {
  const panels = [
    { title: 'add(1, 2) across processes, 1000 calls in flight', id: 'pipe', impls: RPC },
    { title: 'the same with a 10 KB JSON argument', id: 'pipe10k', impls: PAD },
    { title: 'add(1, 2), one call at a time, p50', id: 'lat.p50', impls: LAT },
    { title: 'add(1, 2) across 2 hosts through NATS, 1000 calls in flight', id: 'hosts.pipe', impls: HOSTS },
    { title: 'add(1, 2) across 2 hosts through NATS, one call at a time, p50', id: 'hosts.lat.p50', impls: HOSTS },
  ];
  const W = 960;
  const labelW = 300;
  const barMax = 400;
  const rowH = 26;
  const colors = {
    'mob-links': '#2f6fde',
    'mob-routed': '#8fb0ec',
    'mob-nostats': '#1c3f86',
    relay: '#8a8a8a',
    'relay-batched': '#b5b5b5',
    workerpool: '#d9a441',
    piscina: '#5aa469',
    ipc: '#555555',
    unix: '#777777',
    'nats-mob': '#2f6fde',
    'nats-kingpins': '#1c3f86',
    moleculer: '#8a8a8a',
  };
  const parts = [];
  let y = 44;
  for (const p of panels) {
    const fs = p.impls.map((impl) => figures.find((f) => f.id === p.id && f.impl === impl)).filter(Boolean);
    const max = Math.max(...fs.map((f) => (Number.isFinite(f.value) ? f.value : 0)), 1);
    const unit = fs[0]?.unit === 'µs' ? 'µs (lower is better)' : 'calls/s (higher is better)';
    parts.push(`<text x="16" y="${y}" class="h">${esc(p.title)} — ${esc(unit)}</text>`);
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
  parts.push(`<text x="16" y="${y - 8}" class="m">${esc(machineLine(machine, runs))}; baseline: the unbatched relay (across hosts: Moleculer)</text>`);
  const H = y + 4;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif">`,
    '<style>.t{font-size:16px;font-weight:600;fill:#222}.h{font-size:13px;font-weight:600;fill:#333}.l{font-size:12px;fill:#333}.v{font-size:12px;fill:#222}.m{font-size:11px;fill:#666}</style>',
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    '<text x="16" y="22" class="t">mob benchmark: calls per second and latency by implementation</text>',
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
