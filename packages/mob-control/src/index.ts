export { serveControl, AppRunningError, type ControlOptions, type ControlServer } from './server.js';
export { connectControl, listApps, assertStatus, withTimeout, ControlRequestError, type ControlClient, type Listed } from './client.js';
export { renderMetrics, serveMetrics, type MetricsOptions, type MetricsServer } from './metrics.js';
export { controlDir, socketPath, ensureDir } from './paths.js';
export { toStatus, withOthers, flatten, type AppStatus, type RoleStatus, type WorkerStatus } from './status.js';
export {
  CONTROL_VERSION,
  MAX_REQUEST,
  OPS,
  type ControlAnswer,
  type ControlError,
  type ControlRequest,
  type Op,
} from './protocol.js';
