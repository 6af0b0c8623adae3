import type { Socket } from 'node:net';

/**
 * Reads a socket as lines (the control protocol's framing, both sides): `onLine` gets each
 * line without its newline. A line longer than `max` bytes, whole or still partial, goes to
 * `onOverflow` instead (its text is dropped), and nothing after it is read.
 */
export function readLines(socket: Socket, onLine: (line: string) => void, max = Infinity, onOverflow?: () => void): void {
  let buf = '';
  let over = false;
  const tooLong = (text: string): boolean => text.length > max || (text.length * 3 > max && Buffer.byteLength(text) > max);
  const overflow = (): void => {
    over = true;
    buf = '';
    onOverflow?.();
  };
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    if (over) return;
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (tooLong(line)) return overflow();
      onLine(line);
      if (over) return;
    }
    if (tooLong(buf)) overflow();
  });
}
