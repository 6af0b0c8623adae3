// What the worker entry runs once the compile cache is on (worker-main.ts): serve the role module.
import { runMobster } from 'mob-kingpin/mobster';
import { Kind, transport } from 'mob-messaging';
import { flushCompileCache } from './compile-cache.js';
import { natsPkg, serve } from './rpc.js';

// A mob over several hosts (mob-nats): the Kingpin tells each worker to connect to the
// broker too, so its calls to other hosts' workers go directly.
transport().handle(Kind.Remote, (frame) => {
  // (Without the nats option: only the broker's bound, which mob-messaging took.)
  if (frame.o === undefined) return;
  try {
    natsPkg().direct(frame);
  } catch (err) {
    process.stderr.write(`mob: worker ${process.pid} calls other hosts through its Kingpin (${(err as Error).message})\n`);
  }
});
void runMobster({
  serve(mod) {
    serve(mod);
    // The role module is loaded: what it compiled is there for the next worker.
    setImmediate(flushCompileCache);
  },
});
