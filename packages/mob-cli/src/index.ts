export { main, argsError, joinDashValues, USAGE, type CliIo } from './cli.js';
export { serveDashboard, type Dashboard, type DashboardOptions } from './dashboard.js';
