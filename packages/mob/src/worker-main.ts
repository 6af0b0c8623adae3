// mob's worker entry: the Kingpin's worker, serving the role module's exports. The compile
// cache comes first, so that mob's packages and the role's code, loaded after it, use it.
import { enableCompileCache } from './compile-cache.js';

enableCompileCache();
// eslint-disable-next-line @typescript-eslint/no-require-imports
require('./worker-run.js');
