'use strict';
// Role "back" of the scenarios across hosts: mob-back.cjs's add(a, b), counting the calls it
// serves, and where() to say which host and worker it is and how many it served (so the
// driver can prove which host answered the measured calls).
const mob = require('mob');
const { addPad } = require('./lib.cjs');

let served = 0;

exports.add = (a, b) => {
  served++;
  return a + b;
};
exports.addPad = (a, b, pad) => {
  served++;
  return addPad(a, b, pad);
};
exports.where = () => ({ host: mob.whoami().host, pid: process.pid, served });
