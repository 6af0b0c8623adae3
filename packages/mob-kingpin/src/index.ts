export { createKingpin, Kingpin, type KingpinOptions, type KingpinStats, type RoleStats, type CrashInfo, type FlowOptions, type KingpinEvents, type MobsterInfo, type RoleOptions } from './kingpin.js';
export { setTitle } from './title.js';
export { runMobster, loadRole, scale, lastErr, type MobsterHooks, type RoleModule } from './mobster.js';
export { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export type { BaseLike } from './paths.js';
export { percentile, type WorkerStats, type ExportTotals } from './stats.js';
export { DEFAULT_LOG_LIMITS, type LogLine, type LogLimits } from './output.js';
export { RoleFailedError, ReloadFailedError, ScaleFailedError, type NotReady } from './errors.js';
