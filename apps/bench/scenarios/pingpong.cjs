'use strict';
// The one-hop floor, no library: two processes, A (this script) and B (a child it forks),
// nothing in between. A sends one call, B answers, A awaits the answer before the next:
// JSON, one message each way, no batching. What any cross-process call pays at least.
//   PINGPONG=ipc   over the IPC channel of child_process.fork (process.send / 'message')
//   PINGPONG=unix  over a Unix socket: A listens on a path in a temporary folder, B connects;
//                  one JSON line each way
//   PINGPONG_SERVERS=2 (unix only): A forks two Bs and sends its calls to them in turn, as mob's
//                  round-robin does over two callees; what taking turns costs on its own
const { fork } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const { join } = require('node:path');
const lib = require('./lib.cjs');

const KIND = process.env.PINGPONG;
const SERVERS = Number(process.env.PINGPONG_SERVERS ?? 1);
const fns = { add: (a, b) => a + b };

if (process.env.PINGPONG_ROLE === 'b') b();
else
  a().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`ping-pong (${KIND}) failed: ${(err && err.stack) || err}\n`);
      process.exit(1);
    },
  );

/** Splits a stream of text into lines, each given to `onLine`. */
function lines(socket, onLine) {
  let partial = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    partial += chunk;
    let nl;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      onLine(line);
    }
  });
}

/** B: answers every call, over IPC or over the socket at PINGPONG_PATH. */
function b() {
  const answer = (msg) => ({ i: msg.i, v: fns[msg.m](...msg.a) });
  if (KIND === 'ipc') {
    process.on('message', (msg) => process.send(answer(msg)));
    process.send({ ready: true });
    return;
  }
  const socket = net.connect(process.env.PINGPONG_PATH);
  lines(socket, (line) => socket.write(`${JSON.stringify(answer(JSON.parse(line)))}\n`));
  // A closes the socket when it is done: then B is done too.
  socket.on('close', () => process.exit(0));
  socket.on('error', () => process.exit(1));
}

/** A: forks B (or two, in turn), times one call at a time, then stops them and reports. */
async function a() {
  if (KIND !== 'ipc' && KIND !== 'unix') throw new Error(`PINGPONG must be ipc or unix, got ${JSON.stringify(KIND)}`);
  if (!(SERVERS === 1 || (SERVERS === 2 && KIND === 'unix'))) throw new Error(`PINGPONG_SERVERS must be 1, or 2 with unix; got ${process.env.PINGPONG_SERVERS}`);
  const cfg = lib.config();
  const dir = KIND === 'unix' ? mkdtempSync(join(os.tmpdir(), 'mob-bench-pp-')) : null;
  const path = dir && join(dir, 'b.sock');
  let server = null;
  let connected = null;
  if (path) {
    server = net.createServer();
    connected = new Promise((resolve) => {
      const sockets = [];
      server.on('connection', (s) => sockets.push(s) === SERVERS && resolve(sockets));
    });
    await new Promise((resolve, reject) => server.once('error', reject).listen(path, resolve));
  }
  const children = [];
  for (let k = 0; k < SERVERS; k++) {
    children.push(
      fork(__filename, [], {
        env: { ...process.env, PINGPONG_ROLE: 'b', ...(path ? { PINGPONG_PATH: path } : {}) },
        // Without the profiler's flags, like the other scenarios' workers.
        execArgv: process.execArgv.filter((x) => !x.startsWith('--cpu-prof')),
      }),
    );
  }
  const exited = Promise.all(children.map((child) => new Promise((resolve) => child.once('exit', resolve))));
  let waiting = null;
  let next = 0;
  // An answer for another call than the one awaited would be a wrong result.
  const onAnswer = (msg) => {
    const w = waiting;
    waiting = null;
    if (w) w(msg.i === w.i ? msg.v : NaN);
  };
  let send;
  let sockets = [];
  if (KIND === 'ipc') {
    const [child] = children;
    await new Promise((resolve) => child.once('message', resolve));
    child.on('message', onAnswer);
    send = (msg) => child.send(msg);
  } else {
    sockets = await connected;
    for (const socket of sockets) lines(socket, (line) => onAnswer(JSON.parse(line)));
    // Call i goes to server i mod SERVERS: in turn.
    send = (msg) => sockets[msg.i % SERVERS].write(`${JSON.stringify(msg)}\n`);
    server.close();
  }
  const call = () =>
    new Promise((resolve) => {
      resolve.i = next++;
      waiting = resolve;
      send({ i: resolve.i, m: 'add', a: [1, 2] });
    });
  let result;
  try {
    const cases = await lib.runCases(cfg, [{ name: 'lat', kind: 'latency', call, expected: 3 }]);
    result = { impl: SERVERS === 2 ? `${KIND}-alt` : KIND, cases, pids: { a: [process.pid], b: children.map((c) => c.pid) } };
  } finally {
    // B exits when its channel or socket closes.
    if (KIND === 'ipc') children[0].disconnect();
    else for (const socket of sockets) socket.destroy();
    const timer = setTimeout(() => children.forEach((c) => c.kill('SIGKILL')), 3000);
    await exited;
    clearTimeout(timer);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
  await new Promise((resolve) => lib.emit(result, resolve));
}
