import { describe, expect, it } from 'vitest';
import { DEFAULT_BATCH, Outbox, type IpcChannel } from './outbox.js';
import { Kind, MARKER, PROTOCOL_VERSION, type Envelope, type Frame } from './protocol.js';

interface Sent {
  message: Envelope;
  handle: unknown;
  options: unknown;
}

interface FakeChannel extends IpcChannel {
  readonly sent: Sent[];
  connected?: boolean;
  /** make the next send() throw this */
  throwNext?: Error;
}

/** Records send() calls; acknowledges each write a tick later, as a channel does. */
function fakeChannel(): FakeChannel {
  const ch: FakeChannel = {
    sent: [],
    send(message, handle, options, callback) {
      if (ch.throwNext) {
        const err = ch.throwNext;
        ch.throwNext = undefined;
        throw err;
      }
      ch.sent.push({ message: message as Envelope, handle, options });
      if (callback) process.nextTick(callback, null);
      return true;
    },
  };
  return ch;
}

/** A message frame numbered `n`, so order can be checked. */
const frame = (n: number): Frame => ({ k: Kind.Message, d: String(n) });
const numbers = (sent: Sent): number[] => sent.message.f.map((f) => Number((f as { d: string }).d));
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Outbox', () => {
  it('sends the frames of one tick as one marked message, after the tick', async () => {
    const ch = fakeChannel();
    const out = new Outbox(ch);
    out.push(frame(1));
    out.push(frame(2));
    out.push(frame(3));
    expect(ch.sent).toHaveLength(0);
    expect(out.size).toBe(3);
    await nextTurn();
    expect(ch.sent).toHaveLength(1);
    expect(ch.sent[0]!.message).toEqual({ [MARKER]: PROTOCOL_VERSION, f: [frame(1), frame(2), frame(3)] });
    expect(ch.sent[0]!.handle).toBeUndefined();
    expect(ch.sent[0]!.options).toBeUndefined();
    expect(out.size).toBe(0);
  });

  it('sends frames of different turns as different messages', async () => {
    const ch = fakeChannel();
    const out = new Outbox(ch);
    out.push(frame(1));
    await nextTurn();
    out.push(frame(2));
    await nextTurn();
    expect(ch.sent.map(numbers)).toEqual([[1], [2]]);
  });

  it('sends a batch at once when it reaches the count cap (250), the rest after the tick', async () => {
    const ch = fakeChannel();
    const out = new Outbox(ch);
    expect(DEFAULT_BATCH.count).toBe(250);
    for (let i = 0; i < 249; i++) out.push(frame(i));
    expect(ch.sent).toHaveLength(0);
    out.push(frame(249));
    expect(ch.sent).toHaveLength(1);
    for (let i = 250; i < 600; i++) out.push(frame(i));
    expect(ch.sent.map((s) => s.message.f.length)).toEqual([250, 250]);
    await nextTurn();
    expect(ch.sent.map((s) => s.message.f.length)).toEqual([250, 250, 100]);
    expect(ch.sent.flatMap(numbers)).toEqual(range(0, 600));
  });

  it('sends a batch at once when its payload reaches the byte cap', async () => {
    const ch = fakeChannel();
    const out = new Outbox(ch, { limits: { count: 250, bytes: 100 } });
    out.push(frame(1), 60);
    expect(ch.sent).toHaveLength(0);
    out.push(frame(2), 40);
    expect(ch.sent.map(numbers)).toEqual([[1, 2]]);
    // the byte count starts over with the next batch
    out.push(frame(3), 60);
    expect(ch.sent).toHaveLength(1);
    await nextTurn();
    expect(ch.sent.map(numbers)).toEqual([[1, 2], [3]]);
  });

  it('the default byte cap is 32 KiB', () => {
    const ch = fakeChannel();
    const out = new Outbox(ch);
    out.push(frame(1), 32 * 1024 - 1);
    expect(ch.sent).toHaveLength(0);
    out.push(frame(2), 1);
    expect(ch.sent).toHaveLength(1);
  });

  it('holds everything while corked and sends it, split at the count cap, on uncork', async () => {
    const ch = fakeChannel();
    const out = new Outbox(ch, { corked: true });
    for (let i = 0; i < 600; i++) out.push(frame(i), 1024 * 1024);
    out.flush();
    await nextTurn();
    expect(ch.sent).toHaveLength(0);
    expect(out.size).toBe(600);
    out.uncork();
    expect(ch.sent.map((s) => s.message.f.length)).toEqual([250, 250, 100]);
    expect(ch.sent.flatMap(numbers)).toEqual(range(0, 600));
    out.uncork();
    await nextTurn();
    expect(ch.sent).toHaveLength(3);
  });

  it('sends a handle frame alone, after the frames queued before it', () => {
    const ch = fakeChannel();
    const out = new Outbox(ch);
    const handle = { fake: 'socket' };
    out.push(frame(1));
    out.push(frame(2));
    out.pushHandle(frame(3), handle);
    expect(ch.sent).toHaveLength(2);
    expect(numbers(ch.sent[0]!)).toEqual([1, 2]);
    expect(ch.sent[0]!.handle).toBeUndefined();
    expect(numbers(ch.sent[1]!)).toEqual([3]);
    expect(ch.sent[1]!.handle).toBe(handle);
    expect(ch.sent[1]!.options).toBeUndefined();
    out.pushHandle(frame(4), handle, true);
    expect(ch.sent[2]!.options).toEqual({ keepOpen: true });
  });

  it('calls the handle callback once written', async () => {
    const ch = fakeChannel();
    const out = new Outbox(ch);
    const done = new Promise<Error | null>((resolve) => out.pushHandle(frame(1), {}, false, resolve));
    await expect(done).resolves.toBeNull();
  });

  it('flush(callback) writes now and calls back once written', async () => {
    const ch = fakeChannel();
    const out = new Outbox(ch);
    out.push(frame(1));
    let called = 0;
    const done = new Promise<Error | null>((resolve) =>
      out.flush((err) => {
        called++;
        resolve(err);
      }),
    );
    expect(ch.sent.map(numbers)).toEqual([[1]]);
    expect(called).toBe(0);
    await expect(done).resolves.toBeNull();
    expect(called).toBe(1);
    // nothing left for the scheduled tick
    await nextTurn();
    expect(ch.sent).toHaveLength(1);
  });

  it('flush(callback) with nothing queued calls back with null, sending nothing', async () => {
    const ch = fakeChannel();
    const out = new Outbox(ch);
    await expect(new Promise((resolve) => out.flush(resolve))).resolves.toBeNull();
    expect(ch.sent).toHaveLength(0);
  });

  it('clear() drops what is queued', async () => {
    const ch = fakeChannel();
    const out = new Outbox(ch);
    out.push(frame(1));
    out.clear();
    expect(out.size).toBe(0);
    await nextTurn();
    expect(ch.sent).toHaveLength(0);
  });

  it('does not write to a closed channel; the callback gets an error', async () => {
    const ch = fakeChannel();
    ch.connected = false;
    const out = new Outbox(ch);
    out.push(frame(1));
    const err = await new Promise<Error | null>((resolve) => out.flush(resolve));
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toBe('channel closed');
    expect(ch.sent).toHaveLength(0);
  });

  it('a send that throws reaches the callback, never the caller', async () => {
    const ch = fakeChannel();
    const out = new Outbox(ch);
    ch.throwNext = new TypeError('cannot serialize');
    out.push(frame(1));
    let err: Error | null = null;
    expect(() => out.flush((e) => (err = e))).not.toThrow();
    await nextTurn();
    expect(err).toBeInstanceOf(TypeError);
    out.push(frame(2));
    await nextTurn();
    expect(ch.sent.map(numbers)).toEqual([[2]]);
  });
});

describe('Outbox, regressions', () => {
  // pushHandle while corked once sent the handle frame at once,
  // ahead of the held frames and before the other end said hello.
  it('a handle frame pushed while corked waits for uncork, behind the frames held before it', () => {
    const ch = fakeChannel();
    const out = new Outbox(ch, { corked: true });
    out.push(frame(1));
    out.pushHandle(frame(2), { fake: 'socket' });
    expect(ch.sent).toHaveLength(0);
    out.uncork();
    expect(ch.sent.map(numbers)).toEqual([[1], [2]]);
  });
});

describe('Outbox credits', () => {
  const origin = (): { sent: number[]; o: { sent(bytes: number): void } } => {
    const sent: number[] = [];
    return { sent, o: { sent: (b: number) => sent.push(b) } };
  };

  it('tells each origin once its frame is written, not before', async () => {
    const ch = fakeChannel();
    const out = new Outbox(ch);
    const a = origin();
    const b = origin();
    out.push(frame(1), 10, a.o);
    out.push(frame(2), 20, b.o);
    out.push(frame(3), 30, a.o);
    out.push(frame(4)); // the router's own frame: nobody to tell
    expect(a.sent).toEqual([]);
    await nextTurn();
    expect(ch.sent).toHaveLength(1);
    expect(a.sent).toEqual([10, 30]);
    expect(b.sent).toEqual([20]);
  });

  it('tells the origins of frames it drops when cleared, and of a handle frame once written', async () => {
    const ch = fakeChannel();
    const out = new Outbox(ch, { corked: true });
    const a = origin();
    out.push(frame(1), 10, a.o);
    out.pushHandle(frame(2), { fake: 'handle' }, false, undefined, a.o, 20);
    out.clear();
    expect(a.sent.sort()).toEqual([10, 20]);
    expect(ch.sent).toHaveLength(0);
    const out2 = new Outbox(ch);
    out2.pushHandle(frame(3), { fake: 'handle' }, false, undefined, a.o, 30);
    await nextTurn();
    expect(a.sent).toContain(30);
  });

  it('adds the extra frame to each batch as it leaves', async () => {
    const ch = fakeChannel();
    let acks = 0;
    const out = new Outbox(ch, { extra: () => (acks++ === 0 ? { k: Kind.Ack, n: 3, b: 30 } : undefined) });
    out.push(frame(1));
    await nextTurn();
    out.push(frame(2));
    await nextTurn();
    expect(ch.sent.map((s) => s.message.f)).toEqual([[frame(1), { k: Kind.Ack, n: 3, b: 30 }], [frame(2)]]);
  });
});

describe('Outbox with onDrain (a socket)', () => {
  /** A channel whose backlog is over its mark after `room` writes, until drain() is called. */
  function pacedChannel(room: number): FakeChannel & { drain(): void; onDrain: (cb: () => void) => void; waiting: number } {
    let left = room;
    let waiter: (() => void) | null = null;
    const ch = {
      sent: [] as Sent[],
      waiting: 0,
      send(message: unknown, handle: unknown, options: unknown, callback?: (err: Error | null) => void) {
        ch.sent.push({ message: message as Envelope, handle, options });
        if (callback) process.nextTick(callback, null);
        return --left > 0;
      },
      onDrain(cb: () => void) {
        ch.waiting++;
        waiter = cb;
      },
      drain() {
        left = room;
        const w = waiter;
        waiter = null;
        w?.();
      },
    };
    return ch;
  }

  it('keeps frames itself while the channel is over its mark, and sends them in order once it drains', async () => {
    const ch = pacedChannel(2);
    const out = new Outbox(ch, { limits: { count: 10, bytes: 1 << 20 }, onDrain: ch.onDrain });
    for (let n = 0; n < 35; n++) out.push(frame(n));
    // The count cap made batches leave at 10 and 20 frames; the second write said "over".
    expect(ch.sent.map(numbers)).toEqual([range(0, 10), range(10, 20)]);
    await nextTurn();
    // The turn's flush sends nothing more: the rest waits for the drain.
    expect(ch.sent).toHaveLength(2);
    expect(out.size).toBe(15);
    expect(ch.waiting).toBe(1);
    ch.drain();
    expect(ch.sent.map(numbers)).toEqual([range(0, 10), range(10, 20), range(20, 30), range(30, 35)]);
    expect(out.size).toBe(0);
    // A flush with a callback (before exit) sends everything, drained or not.
    for (let n = 35; n < 60; n++) out.push(frame(n));
    let done = false;
    out.flush(() => (done = true));
    expect(ch.sent.slice(4).flatMap(numbers)).toEqual(range(35, 60));
    await nextTurn();
    expect(done).toBe(true);
  });
});

describe('Outbox with onDrain: batches within the byte cap', () => {
  it('what waited for the drain leaves in batches of at most the byte cap (a long line is slow to read)', () => {
    let left = 1;
    let waiter: (() => void) | null = null;
    const sent: Sent[] = [];
    const ch: IpcChannel = {
      send(message, handle, options) {
        sent.push({ message: message as Envelope, handle, options });
        return --left > 0;
      },
    };
    const out = new Outbox(ch, { limits: { count: 250, bytes: 30_000 }, onDrain: (cb) => (waiter = cb) });
    // 10 KB frames: the third passes the byte cap, so the first batch leaves, and the channel is then over its mark.
    for (let n = 0; n < 20; n++) out.push(frame(n), 10_000);
    expect(sent.map(numbers)).toEqual([range(0, 3)]);
    left = 100;
    waiter!();
    expect(sent.map(numbers)).toEqual([range(0, 3), range(3, 6), range(6, 9), range(9, 12), range(12, 15), range(15, 18), range(18, 20)]);
  });
});
