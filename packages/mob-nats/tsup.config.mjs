import { config } from '../../tsup.config.base.mjs';

export default config(['src/index.ts']);
