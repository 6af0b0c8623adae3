// mob's worker entry: the Kingpin's worker, serving the role module's exports.
import { runMobster } from 'mob-kingpin';
import { Kind, transport } from 'mob-messaging';
import { natsPkg, serve } from './rpc.js';

// A mob over several hosts (mob-nats): the Kingpin tells each worker to connect to the
// broker too, so its calls to other hosts' workers go directly.
transport().handle(Kind.Remote, (frame) => {
  try {
    natsPkg().direct(frame);
  } catch (err) {
    process.stderr.write(`mob: worker ${process.pid} calls other hosts through its Kingpin (${(err as Error).message})\n`);
  }
});
void runMobster({ serve });
