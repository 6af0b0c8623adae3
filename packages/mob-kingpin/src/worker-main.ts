// The Kingpin's default worker entry: load the role module and say ready.
import { runMobster } from './mobster.js';

void runMobster();
