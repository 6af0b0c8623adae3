// @ts-check
// The `client` role: calls the api role through a typed proxy, then stops the app.
import mob from 'mob';

/** @type {import('mob').Remote<typeof import('./api.mjs')>} */
const api = mob.require('api', { timeout: 5_000 });

console.log('add(2, 3) =', await api.add(2, 3));
console.log(await api.greet('mob'));

const onProgress = mob.keep((/** @type {number} */ pct) => console.log(`progress ${pct}%`));
console.log('work:', await api.work(4, onProgress));
mob.release(onProgress);

try {
  await api.sqrt(-1);
} catch (err) {
  const e = /** @type {Error & { code?: string, remote?: { role: string, pid: number } }} */ (err);
  console.log(`caught ${e.name} (${e.code}) thrown in role ${e.remote?.role}, pid ${e.remote?.pid}: ${e.message}`);
}

console.log('stats:', mob.stats());
console.log('done: press Ctrl+C to stop the cluster');
