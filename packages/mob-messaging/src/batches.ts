/**
 * Batches of frames this worker has received, on any path (its channel to the Kingpin, a
 * link, another host's worker): the frames of one batch are handled one after the other, in
 * one go. mob-proxy reads it as `transport().batch` to tell calls that came together.
 *
 * @example
 * import { received } from './batches.js';
 * received.batches++; // one batch in, before its frames are handled
 */
export const received = { batches: 0 };
