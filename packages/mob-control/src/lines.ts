import type { Socket } from 'node:net';

/**
 * Reads a socket as lines (the control protocol's framing, both sides): `onLine` gets each
 * line without its newline. A line longer than `max` bytes, whole or still partial, goes to
 * `onOverflow` instead (its text is dropped), and nothing after it is read.
 */
export function readLines(socket: Socket, onLine: (line: string) => void, max = Infinity, onOverflow?: () => void): void {
  // A line not ended yet, in pieces, with its length in bytes: joined once, when its newline
  // comes, so that a long line costs its length, not its square.
  const pieces: string[] = [];
  let bytes = 0;
  let over = false;
  const size = (text: string): number => (max === Infinity ? 0 : Buffer.byteLength(text));
  const overflow = (): void => {
    over = true;
    pieces.length = 0;
    onOverflow?.();
  };
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    if (over) return;
    let start = 0;
    let nl: number;
    while ((nl = chunk.indexOf('\n', start)) >= 0) {
      let line = chunk.slice(start, nl);
      start = nl + 1;
      const b = bytes + size(line);
      if (pieces.length > 0) {
        pieces.push(line);
        line = pieces.join('');
        pieces.length = 0;
        bytes = 0;
      }
      if (b > max) return overflow();
      onLine(line);
      if (over) return;
    }
    if (start === chunk.length) return;
    const rest = start === 0 ? chunk : chunk.slice(start);
    pieces.push(rest);
    bytes += size(rest);
    if (bytes > max) overflow();
  });
}
