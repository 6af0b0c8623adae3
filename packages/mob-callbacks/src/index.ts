export { createCallbacks, Callbacks, keep, isKept, type EncodedArgs, type Tie } from './registry.js';
