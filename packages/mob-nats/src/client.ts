/**
 * The NATS client, loaded on first use: only a Kingpin that joins other hosts pays for it.
 * `@nats-io/transport-node` is this package's one runtime dependency.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const client = (): typeof import('@nats-io/transport-node') => require('@nats-io/transport-node') as typeof import('@nats-io/transport-node');
