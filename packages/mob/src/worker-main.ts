// mob's worker entry: the Kingpin's worker, serving the role module's exports.
import { runMobster } from 'mob-kingpin';
import { serve } from './rpc.js';

void runMobster({ serve });
