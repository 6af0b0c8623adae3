import { config } from '../../tsup.config.base.mjs';

// mobster.js is the worker's side, an entry of its own: a worker loads it without the
// Kingpin's code. index.js and worker-main.js require it rather than each holding a copy.
export default { ...config(['src/index.ts', 'src/worker-main.ts', 'src/mobster.ts']), external: ['./mobster.js'] };
