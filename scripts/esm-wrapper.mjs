// Writes the ESM entry of a package as a thin wrapper over its CommonJS build, so that
// `import` and `require` share one instance of the module's state inside a process (one
// outbox, one callback registry) instead of loading two copies: the dual-package hazard.
//
// It also makes the CommonJS build require each module once: the bundler writes one
// `var x = require("m")` per source file that imports `m`; the later ones become
// `var x2 = x`. Fewer require() calls at a Kingpin's start keep Node's path normalizer
// below V8's optimization threshold there; optimizing it cost the idle Kingpin 4 MiB of RSS
// (measured: 50.2 MiB before, 46.2 MiB after, with 8 idle workers and the control socket).
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
  writeFileSync(cjs, deduped);
  const body = `export * from './${entry}.js';\nexport { default } from './${entry}.js';\n`;
  writeFileSync(join(dist, `${entry}.mjs`), body);
  writeFileSync(join(dist, `${entry}.d.mts`), body);
}
