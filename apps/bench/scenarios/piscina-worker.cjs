'use strict';
// A piscina worker thread serving add() (piscina passes one argument: the task).
exports.add = ([a, b]) => a + b;
