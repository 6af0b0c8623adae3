import type { Socket } from 'node:net';

/**
 * Reads a socket as lines (the control protocol's framing, both sides): `onLine` gets each
 * line without its newline. A partial line longer than `max` characters goes to `onOverflow`
 * instead (its text is dropped).
 */
export function readLines(socket: Socket, onLine: (line: string) => void, max = Infinity, onOverflow?: () => void): void {
  let buf = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      onLine(line);
    }
    if (buf.length > max) {
      buf = '';
      onOverflow?.();
    }
  });
}
