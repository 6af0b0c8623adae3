#!/usr/bin/env node
// The `mob` command (see src/cli.ts). A file of its own, outside dist, so that npm links it
// in a workspace before anything is built; it needs the build to run.
'use strict';
require('../dist/cli.js');
