// Runs every workspace's `test` script (the unit and multi-process integration suites, and
// the quick bench) on the Node that runs this script, once it has checked that this Node is
// the major version asked for. The packages must be built (`npm run build`) first; the
// build itself runs on the machine's Node.
//
//   npm run build && npx -y -p node@24 node scripts/test-node.mjs 24 [workspace folder names]
//
// `npx -p node@24` puts Node 24 first on PATH; this script pins it there for npm, vitest and
// the processes the tests start (they run process.execPath), so that nothing falls back to
// the machine's Node without saying so.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';

const want = process.argv[2];
const have = process.versions.node.split('.')[0];
if (!want || have !== want) {
  console.error(`test-node: asked for Node ${want ?? '(none)'}, running on ${process.version} (${process.execPath})`);
  process.exit(1);
}
const root = join(import.meta.dirname, '..');
if (!existsSync(join(root, 'packages', 'mob', 'dist', 'index.js'))) {
  console.error('test-node: the packages are not built; run `npm run build` first');
  process.exit(1);
}
console.log(`test-node: every workspace's tests on Node ${process.version} (${process.execPath})`);
const PATH = [dirname(process.execPath), process.env.PATH].join(delimiter);
// One workspace after another, as `npm run test --workspaces` would, each output passed on as
// it comes; what failed is said again at the end, where a log's tail shows it.
// (`node scripts/test-node.mjs 24 mob-cli mob-nats`: those workspaces only.)
const only = process.argv.slice(3);
const failed = [];
for (const dir of workspaces().filter((d) => only.length === 0 || only.some((o) => d.endsWith(`/${o}`)))) {
  const name = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')).name;
  const marks = [];
  const code = await new Promise((resolve) => {
    const child = spawn('npm', ['run', 'test', '--if-present'], { cwd: join(root, dir), env: { ...process.env, PATH }, stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' });
    // Each stream passed on as it comes and read line by line (its own partial last line).
    const scan = (from, out) => {
      let tail = '';
      from.setEncoding('utf8').on('data', (chunk) => {
        out.write(chunk);
        const lines = (tail + chunk).split('\n');
        tail = lines.pop() ?? '';
        for (const line of lines) {
          // vitest's failed files and tests (× or FAIL), and its error headings.
          const plain = stripVTControlCharacters(line);
          if (/^\s*(×|✗|FAIL\b|AssertionError\b|Error: )/.test(plain) && marks.length < 40) marks.push(plain.trimEnd());
        }
      });
    };
    scan(child.stdout, process.stdout);
    scan(child.stderr, process.stderr);
    child.on('error', (err) => {
      console.error(`test-node: could not run npm in ${dir}: ${err.message}`);
      resolve(1);
    });
    child.on('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) failed.push({ name, code, marks });
}
if (failed.length === 0) {
  console.log(`test-node: every workspace's tests passed on Node ${process.version}`);
  process.exit(0);
}
for (const f of failed) {
  console.log(`test-node: ${f.name} failed on Node ${process.version} (exit ${f.code})${f.marks.length ? ':' : ''}`);
  for (const m of f.marks) console.log(`  ${m}`);
}
process.exit(1);

/** The workspaces' folders, in npm's order: each pattern of the root package.json, sorted. */
function workspaces() {
  const patterns = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces;
  const dirs = [];
  for (const pattern of patterns) {
    if (!pattern.endsWith('/*')) {
      dirs.push(pattern);
      continue;
    }
    const parent = pattern.slice(0, -2);
    for (const d of readdirSync(join(root, parent)).sort()) if (existsSync(join(root, parent, d, 'package.json'))) dirs.push(`${parent}/${d}`);
  }
  return dirs;
}
