// Writes the ESM entry of a package as a thin wrapper over its CommonJS build, so that
// `import` and `require` share one instance of the module's state inside a process (one
// outbox, one callback registry) instead of loading two copies: the dual-package hazard.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dist = join(process.cwd(), 'dist');
for (const entry of process.argv.slice(2).length ? process.argv.slice(2) : ['index']) {
  const body = `export * from './${entry}.js';\nexport { default } from './${entry}.js';\n`;
  writeFileSync(join(dist, `${entry}.mjs`), body);
  writeFileSync(join(dist, `${entry}.d.mts`), body);
}
