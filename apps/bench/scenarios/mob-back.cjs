'use strict';
// Role "back" of the mob scenarios: the exports the driver calls across processes.
const { addPad, blockFor } = require('./lib.cjs');

exports.add = (a, b) => a + b;
exports.addPad = addPad;
/** Holds this worker for `ms` (uneven call durations), then answers `ms`. */
exports.work = (ms) => {
  blockFor(ms);
  return ms;
};
