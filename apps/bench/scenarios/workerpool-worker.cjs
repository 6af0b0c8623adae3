'use strict';
// A workerpool child process serving add().
require('workerpool').worker({ add: (a, b) => a + b });
