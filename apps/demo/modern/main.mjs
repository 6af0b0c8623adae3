// The modern example: ESM everywhere, await, a typed proxy, errors and callbacks across
// processes, and a clean stop. Run it with `npm run start:modern` (from apps/demo).
import mob from 'mob';

const kingpin = mob
  .start('modern')
  .base(import.meta.url)
  .role('api', './api.mjs', { workers: 2 })
  .role('client', './client.mjs');

kingpin.on('crash', (report) => console.log(`[kingpin] ${report.role} crashed: ${report.error.message}`));
