/**
 * The control protocol: newline-delimited JSON over the Kingpin's Unix socket.
 *
 * A request is one line, at most MAX_REQUEST bytes: `{ "v": 1, "id": 7, "op": "status", ... }`.
 * Every line the server sends carries the same `v` and the request's `id`:
 * - the answer, last: `{ "v": 1, "id": 7, "ok": true, "result": ... }` or
 *   `{ "v": 1, "id": 7, "ok": false, "error": { "name", "message", "code" } }`;
 * - before it, for requests that stream (reload, scale and stop progress; logs; subscribe):
 *   `{ "v": 1, "id": 7, "event": "progress" | "log" | "stats" | ..., "data": ... }`.
 *
 * A request of another major version is answered with an error of code
 * `E_MOB_CONTROL_VERSION` that names the server's version. Ops: hello, status, reload, scale,
 * stop, logs, metrics, subscribe.
 */

/** The version this build speaks. */
export const CONTROL_VERSION = 1;

/** The longest request line the server reads; a longer one closes the connection. */
export const MAX_REQUEST = 64 * 1024;

/** Every op the server knows. */
export const OPS = ['hello', 'status', 'reload', 'scale', 'stop', 'logs', 'metrics', 'subscribe'] as const;

export type Op = (typeof OPS)[number];

/** A request, as the client sends it. */
export interface ControlRequest {
  v: number;
  id: number;
  op: Op;
  /** reload: the role (all roles when absent); scale: the role; logs: a role */
  role?: string;
  /** scale: the number of workers */
  n?: number;
  /** logs: one worker */
  pid?: number;
  /** logs: how many past lines (default 20) */
  lines?: number;
  /** logs: keep sending new lines (default true) */
  follow?: boolean;
  /** subscribe: ms between stats events (default 1000, at least 250) */
  interval?: number;
}

/** An error as an answer carries it. */
export interface ControlError {
  name: string;
  message: string;
  code?: string;
}

/** One line from the server. */
export interface ControlAnswer {
  v: number;
  id: number;
  ok?: boolean;
  result?: unknown;
  error?: ControlError;
  event?: string;
  data?: unknown;
}
