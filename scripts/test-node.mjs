// Runs every workspace's `test` script (the unit and multi-process integration suites, and
// the quick bench) on the Node that runs this script, once it has checked that this Node is
// the major version asked for. The packages must be built (`npm run build`) first; the
// build itself runs on the machine's Node.
//
//   npm run build && npx -y -p node@24 node scripts/test-node.mjs 24
//
// `npx -p node@24` puts Node 24 first on PATH; this script pins it there for npm, vitest and
// the processes the tests start (they run process.execPath), so that nothing falls back to
// the machine's Node without saying so.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

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
const npm = spawnSync('npm', ['run', 'test', '--workspaces', '--if-present'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PATH },
  shell: process.platform === 'win32',
});
if (npm.error) console.error(`test-node: could not run npm: ${npm.error.message}`);
process.exit(npm.status ?? 1);
