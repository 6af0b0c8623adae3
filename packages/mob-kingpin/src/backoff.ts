/** How a role's restart delay grows while its workers keep dying soon after starting. */
export interface BackoffOptions {
  /** first delay after the immediate revive, ms (default 100) */
  initial: number;
  /** growth per early death (default 2) */
  factor: number;
  /** cap, ms (default 15,000) */
  max: number;
  /** a worker that exits before it is ready, or sooner than this after, died "at start", ms (default 1,000) */
  minUptime: number;
  /** a worker up this long clears the count of early deaths, ms (default 30,000) */
  reset: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initial: 100, factor: 2, max: 15_000, minUptime: 1_000, reset: 30_000 };

/**
 * The per-role restart delay: the first revive is immediate, then each further early death
 * doubles the delay from `initial`, up to `max`; `stable()` (a worker stayed up `reset` ms)
 * starts over.
 *
 * @example
 * const b = new Backoff(DEFAULT_BACKOFF);
 * b.next(50); // 0
 * b.next(50); // 100
 * b.next(50); // 200
 */
export class Backoff {
  #early = 0;
  readonly options: BackoffOptions;
  constructor(options: BackoffOptions) {
    this.options = options;
  }

  /** Deaths soon after starting, since the role was last stable. */
  get early(): number {
    return this.#early;
  }

  /**
   * The delay before reviving a worker that was up `uptime` ms, of which `readyFor` ms ready
   * (0 if it never got ready: a worker that dies while loading always died "at start").
   */
  next(uptime: number, readyFor = uptime): number {
    if (uptime >= this.options.reset) this.#early = 0;
    if (readyFor >= this.options.minUptime) return 0;
    this.#early++;
    if (this.#early <= 1) return 0;
    const { initial, factor, max } = this.options;
    return Math.min(max, Math.round(initial * factor ** (this.#early - 2)));
  }

  /** A worker of the role has been up `reset` ms. */
  stable(): void {
    this.#early = 0;
  }
}
