import { config } from '../../tsup.config.base.mjs';

export default config(['src/index.ts', 'src/worker-main.ts', 'src/cli.ts']);
