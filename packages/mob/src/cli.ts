// The `mob` command. `mob run` starts a Kingpin here (it needs mob itself); every other
// command talks to running Kingpins through mob-cli.
import { availableParallelism } from 'node:os';
import { basename, extname, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { argsError, joinDashValues, main } from 'mob-cli';
import { start } from './index.js';

function run(args: string[]): number | null {
  const { values, positionals } = parseArgs({
    args: joinDashValues(args, ['-i', '--instances']),
    allowPositionals: true,
    options: { instances: { type: 'string', short: 'i' }, name: { type: 'string' } },
  });
  const file = positionals[0];
  if (!file) {
    process.stderr.write('usage: mob run <file> [-i N] [--name NAME]\n');
    return 2;
  }
  const path = resolve(file);
  if (!existsSync(path)) {
    process.stderr.write(`mob run: no file ${path}\n`);
    return 1;
  }
  const i = values.instances;
  // As PM2's `-i`: 0 and max mean one worker per CPU.
  const n = i === undefined || i === 'max' || i === '0' ? availableParallelism() : /^\d+$/.test(i) ? Number(i) : NaN;
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`mob run: -i takes a number of workers (1 or more; 0 or max: one per CPU), got "${i}"\n`);
    return 2;
  }
  const role = basename(path, extname(path)).replace(/[^A-Za-z0-9_.-]/g, '_') || 'app';
  const name = values.name ?? role;
  // In the foreground, for systemd and containers: SIGTERM stops it gracefully, SIGHUP reloads.
  const kingpin = start(name).role(role, path, { workers: n });
  kingpin.ready().then(
    () => process.stderr.write(`mob run: app "${name}": ${n} worker(s) of ${file} ready (npx mob status ${name})\n`),
    (err: Error) => process.stderr.write(`mob run: ${err.message}\n`),
  );
  return null;
}

const argv = process.argv.slice(2);
if (argv[0] === 'run') {
  try {
    const code = run(argv.slice(1));
    if (code !== null) process.exitCode = code;
  } catch (err) {
    // A wrong option is a usage error (2), as in every other command; anything else failed (1).
    const usage = (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true;
    process.stderr.write(`mob run: ${usage ? `${argsError(err as Error)} (usage: mob run <file> [-i N] [--name NAME])` : (err as Error).message}\n`);
    process.exitCode = usage ? 2 : 1;
  }
} else {
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      process.stderr.write(`mob: ${err.stack ?? err.message}\n`);
      process.exitCode = 1;
    },
  );
}
