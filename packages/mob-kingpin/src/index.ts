export { createKingpin, Kingpin, setTitle, type KingpinOptions, type FlowOptions, type KingpinEvents, type MobsterInfo, type RoleOptions } from './kingpin.js';
export { runMobster, loadRole, scale, lastErr, type MobsterHooks, type RoleModule } from './mobster.js';
export { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export type { BaseLike } from './paths.js';
