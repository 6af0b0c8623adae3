// Writes the ESM entry of a package as a thin wrapper over its CommonJS build, so that
// `import` and `require` share one instance of the module's state inside a process (one
// outbox, one callback registry) instead of loading two copies: the dual-package hazard.
//
// It also makes the CommonJS build require each module once: the bundler writes one
// `var x = require("m")` per source file that imports `m`; the later ones become
// `var x2 = x`. Fewer require() calls at a Kingpin's start keep Node's path normalizer
// below V8's optimization threshold there; optimizing it cost the idle Kingpin 4 MiB of RSS
// (measured: 50.2 MiB before, 46.2 MiB after, with 8 idle workers and the control socket).
//
// And it makes the CommonJS exports plain data properties. The bundler exports each name
// through a getter, and all those getters share one function: every read of an import from
// another package (`Kind.Call` in mob-proxy, per frame) went through a megamorphic keyed load,
// 3.7% of a pipelined caller's CPU. Once the module has run, its exports are copied into one
// object literal (the names are the bundler's own list, annotated for Node's ESM loader).
// No package of mob reassigns an export after it has loaded (an `export let`), so nothing
// needs a live binding.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dist = join(process.cwd(), 'dist');
for (const entry of process.argv.slice(2).length ? process.argv.slice(2) : ['index']) {
  const cjs = join(dist, `${entry}.js`);
  const first = new Map();
  const deduped = readFileSync(cjs, 'utf8').replace(/^var (\w+) = ((?:__toESM\()?require\("[^"]+"\)\)?);$/gm, (line, name, rhs) => {
    const known = first.get(rhs);
    if (known === undefined) {
      first.set(rhs, name);
      return line;
    }
    return `var ${name} = ${known};`;
  });
  const names = /^0 && \(module\.exports = \{\n([\s\S]*?)\n\}\);$/m.exec(deduped);
  if (!names) throw new Error(`${cjs}: the bundler's list of export names was not found`);
  const list = names[1].split('\n').map((l) => l.trim().replace(/,$/, ''));
  if (!list.every((n) => /^[A-Za-z_$][\w$]*$/.test(n))) throw new Error(`${cjs}: an export name that is not an identifier`);
  const plain =
    `// Exports as plain data properties (see scripts/esm-wrapper.mjs).\n` +
    `module.exports = ((e) => Object.defineProperty({ ${list.map((n) => `${n}: e.${n}`).join(', ')} }, '__esModule', { value: true }))(module.exports);\n`;
  writeFileSync(cjs, deduped.replace(/\n?$/, '\n') + plain);
  const body = `export * from './${entry}.js';\nexport { default } from './${entry}.js';\n`;
  writeFileSync(join(dist, `${entry}.mjs`), body);
  writeFileSync(join(dist, `${entry}.d.mts`), body);
}
