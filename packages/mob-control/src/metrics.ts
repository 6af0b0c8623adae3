import type { Server } from 'node:http';
import { LATENCY_BUCKETS } from 'mob-messaging';
import type { Kingpin, KingpinStats } from 'mob-kingpin';

/** Options of the metrics endpoint. */
export interface MetricsOptions {
  /** TCP port (0: any free one) */
  port: number;
  /** the address it binds to (default 127.0.0.1) */
  host?: string;
  /** ms a scrape waits for fresh figures from the workers (default 250; a quiet worker is not waited for) */
  freshMs?: number;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  readonly server: Server;
  /** `http://host:port/metrics` */
  readonly url: string;
  close(): Promise<void>;
}

type Labels = Record<string, string | number>;

/** One metric family in the Prometheus text format, HELP and TYPE first. */
class Family {
  readonly lines: string[];
  constructor(
    readonly name: string,
    type: 'counter' | 'gauge' | 'histogram',
    help: string,
  ) {
    this.lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  }
  add(labels: Labels, value: number, suffix = ''): void {
    this.lines.push(`${this.name}${suffix}${labelText(labels)} ${formatValue(value)}`);
  }
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${String(v).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/**
 * The Kingpin's figures as Prometheus text (format 0.0.4). Per role and export, summed over
 * its workers, dead ones included: `mob_calls_total`, `mob_call_errors_total` and the
 * histogram `mob_call_duration_seconds`. Per role: `mob_worker_restarts_total`, the workers by
 * state, calls in flight and held. Per worker (labels `role`, `pid`): CPU seconds, resident
 * and heap memory, event-loop utilization, links and the age of its last report
 * (`mob_worker_report_age_seconds`: a worker that stopped reporting keeps its last values,
 * and this grows).
 *
 * @example
 * res.end(renderMetrics(await kingpin.freshStats()));
 */
export function renderMetrics(stats: KingpinStats): string {
  const app = stats.app;
  const host = stats.host;
  const calls = new Family('mob_calls_total', 'counter', 'Calls served, per role and export, summed over its workers (exited ones included).');
  const errors = new Family('mob_call_errors_total', 'counter', 'Calls served that threw or rejected, per role and export.');
  const duration = new Family('mob_call_duration_seconds', 'histogram', 'Time to serve a call, per role and export.');
  const restarts = new Family('mob_worker_restarts_total', 'counter', 'Workers of the role that exited unexpectedly and were revived.');
  const workers = new Family('mob_workers', 'gauge', 'Workers of the role, by state.');
  const target = new Family('mob_role_target_workers', 'gauge', 'The number of workers the role aims for.');
  const inflight = new Family('mob_calls_in_flight', 'gauge', 'Calls the role\'s workers are serving now.');
  const held = new Family('mob_held_frames', 'gauge', 'Calls and messages held while the role has no ready worker.');
  const cpu = new Family('mob_worker_cpu_seconds_total', 'counter', 'CPU time (user and system) of the worker since it started.');
  const rss = new Family('mob_worker_resident_memory_bytes', 'gauge', 'Resident memory of the worker.');
  const heap = new Family('mob_worker_heap_used_bytes', 'gauge', 'V8 heap used by the worker.');
  const elu = new Family('mob_worker_event_loop_utilization', 'gauge', 'Event-loop utilization of the worker over its last report interval (0 to 1).');
  const links = new Family('mob_worker_links', 'gauge', 'Direct links the worker has open.');
  const age = new Family('mob_worker_report_age_seconds', 'gauge', 'Seconds since the worker last reported its figures (stale when it grows past a few seconds).');
  const up = new Family('mob_kingpin_uptime_seconds', 'gauge', 'Seconds since the Kingpin started.');
  up.add({ app, host }, stats.uptime / 1000);
  for (const role of stats.roles) {
    const r = { app, host, role: role.name };
    for (const [exp, t] of Object.entries(role.exports)) {
      const l = { ...r, export: exp };
      calls.add(l, t.calls);
      errors.add(l, t.errors);
      let cumulative = 0;
      for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
        cumulative += t.buckets[i] ?? 0;
        duration.add({ ...l, le: LATENCY_BUCKETS[i]! }, cumulative, '_bucket');
      }
      duration.add({ ...l, le: '+Inf' }, t.calls, '_bucket');
      duration.add(l, t.sum, '_sum');
      duration.add(l, t.calls, '_count');
    }
    restarts.add(r, role.restarts);
    const byState: Record<string, number> = { starting: 0, ready: 0, stopping: 0 };
    for (const w of role.workers) byState[w.state] = (byState[w.state] ?? 0) + 1;
    for (const [state, n] of Object.entries(byState)) workers.add({ ...r, state }, n);
    target.add(r, role.target);
    inflight.add(r, role.inflight);
    held.add(r, role.held);
    for (const w of role.workers) {
      const l = { ...r, pid: w.pid };
      cpu.add(l, w.cpuSeconds);
      rss.add(l, w.rss);
      heap.add(l, w.heapUsed);
      elu.add(l, w.elu);
      links.add(l, w.links);
      if (w.reportAge !== null) age.add(l, w.reportAge);
    }
  }
  const families = [calls, errors, duration, restarts, workers, target, inflight, held, cpu, rss, heap, elu, links, age, up];
  return `${families.map((f) => f.lines.join('\n')).join('\n')}\n`;
}

/**
 * Serves `/metrics` (Prometheus text) for a Kingpin over HTTP, on 127.0.0.1 unless told
 * otherwise. A scrape asks the workers for fresh figures and waits at most `freshMs`; a
 * worker that has not reported for 3 s is not waited for (its last values are served, with
 * their age), so a silent worker never fails a scrape.
 *
 * @example
 * const metrics = await serveMetrics(kingpin, { port: 9464 });
 * console.log(metrics.url); // http://127.0.0.1:9464/metrics
 */
export function serveMetrics(kingpin: Kingpin, options: MetricsOptions): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  // node:http is loaded only when metrics are served: the Kingpin stays small without them.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createServer } = require('node:http') as typeof import('node:http');
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('mob serves its metrics at /metrics\n');
      return;
    }
    kingpin.freshStats(options.freshMs ?? 250).then(
      (stats) => {
        const body = renderMetrics(stats);
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      server.on('error', () => {});
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : options.port;
      const shown = host.includes(':') ? `[${host}]` : host;
      resolve({
        server,
        url: `http://${shown}:${port}/metrics`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
    server.unref();
  });
}
