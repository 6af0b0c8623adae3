import { config } from '../../tsup.config.base.mjs';

// mobster.js is the worker's side, an entry of its own: a worker loads it without the
// Kingpin's code. index.js holds its own copy of it (stateless functions, and a Kingpin never
// runs them), so that a Kingpin resolves one module less at its start: each resolution is
// path work, and past a threshold V8 optimizes Node's path normalizer, which costs an idle
// Kingpin about 4 MiB of RSS (see scripts/esm-wrapper.mjs).
export default config(['src/index.ts', 'src/worker-main.ts', 'src/mobster.ts']);
