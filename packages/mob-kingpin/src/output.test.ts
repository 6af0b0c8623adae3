import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Output, type LogLine } from './output.js';

describe('Output', () => {
  it('keeps lines per worker, bounded, cut at the line bound, and lists them oldest first', async () => {
    const seen: LogLine[] = [];
    const out = new Output((l) => seen.push(l), { lines: 3, lineLength: 10, exited: 1 });
    const a = new PassThrough();
    const b = new PassThrough();
    // Relayed to the Kingpin's own stdout: keep this test's output clean.
    const write = Object.getOwnPropertyDescriptor(process.stdout, 'write');
    process.stdout.write = () => true;
    try {
      out.attach(1, 'back', a, null);
      out.attach(2, 'front', b, null);
      a.write('one\ntwo\nthr');
      a.write('ee\nfour\n');
      b.write('a line that is too long\r\n');
      // A line longer than the bound, in pieces: one line, cut and marked; its rest dropped.
      b.write('0123456789abcdef');
      b.write('ghijklmnopqrstuvwxyz');
      b.write('ABC\nnext\n');
      a.write('é'.slice(0, 1));
      await new Promise((r) => setImmediate(r));
    } finally {
      if (write) Object.defineProperty(process.stdout, 'write', write);
      else delete (process.stdout as { write?: unknown }).write;
    }
    expect(out.lines(10, (role) => role === 'back').map((l) => l.line)).toEqual(['two', 'three', 'four']);
    const cut = (text: string): string => `${text}… [cut: longer than 10 characters]`;
    expect(out.lines(10, (_r, pid) => pid === 2).map((l) => l.line)).toEqual([cut('a line tha'), cut('0123456789'), 'next']);
    expect(seen.map((l) => `${l.role}:${l.line}`)).toEqual(['back:one', 'back:two', 'back:three', 'back:four', `front:${cut('a line tha')}`, `front:${cut('0123456789')}`, 'front:next']);
    expect(out.lines(2).length).toBe(2);
    out.exited(1);
    out.exited(2); // only the last exited worker's lines are kept
    expect(out.lines(10).map((l) => l.pid)).toEqual([2, 2, 2]);
  });

  it('pauses a worker whose output the Kingpin cannot write yet, and resumes it on drain', async () => {
    const out = new Output(() => {});
    const src = new PassThrough();
    let calls = 0;
    // The test decides when the write completes (a timer could fire first on a loaded machine).
    let done: (() => void) | undefined;
    const slow = new Writable({ highWaterMark: 1, write(_c, _e, cb) { calls++; done = () => cb(); } });
    // The relay writes to the Kingpin's stdout; point it at a slow stream for this test.
    const real = Object.getOwnPropertyDescriptor(process, 'stdout')!;
    Object.defineProperty(process, 'stdout', { value: slow, configurable: true });
    try {
      out.attach(3, 'back', src, null);
      src.write('x\n');
      await new Promise((r) => setImmediate(r));
      expect(src.isPaused()).toBe(true);
      await new Promise((r) => setImmediate(r));
      expect(src.isPaused()).toBe(true); // still: the write has not completed
      const drained = new Promise((r) => slow.once('drain', r));
      done!();
      await drained;
      await new Promise((r) => setImmediate(r));
      expect(src.isPaused()).toBe(false);
      expect(calls).toBe(1);
    } finally {
      Object.defineProperty(process, 'stdout', real);
    }
  });
});
