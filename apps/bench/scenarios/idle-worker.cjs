'use strict';
// The role module of the readiness scenario: nothing to do but be ready.
exports.ping = () => 'pong';
