export { main, joinDashValues, USAGE, type CliIo } from './cli.js';
export { serveDashboard, type Dashboard, type DashboardOptions } from './dashboard.js';
