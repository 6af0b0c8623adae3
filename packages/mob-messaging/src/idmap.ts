/**
 * A map from call ids (non-negative integers below 2^53) to values, for the tables every
 * call passes through: a caller's pending calls, a link's calls in flight.
 *
 * Why not a `Map`: a `Map` whose keys keep increasing is rebuilt every so often, and V8's
 * old table keeps a pointer to its successor. Once one table has been promoted to the old
 * generation (it lived through two scavenges: a quiet spell, one call at a time), each dead
 * table there keeps the next one alive through the scavenges, with every call it holds, until
 * a full collection; the next table is promoted in turn and the chain never ends. Measured:
 * 3 to 4 MB promoted per scavenge where 0.6 MB is live, and 3 to 4 times the CPU per call of
 * a pipelining caller, for as long as the process runs. This table has no such pointer: its
 * two arrays are replaced only when it is rebuilt, and a deleted entry's slot is cleared at
 * once.
 *
 * Open addressing with linear probing (ids in sequence land in consecutive slots) and
 * tombstones (none where a deleted entry ends a run), rebuilt when 3/4 of the slots are in
 * use, or when a probe is long and many slots hold tombstones. Iteration returns a snapshot in key
 * order, so entries may be deleted while it runs.
 *
 * @example
 * const pending = new IdMap<string>();
 * pending.set(7, 'add');
 * pending.get(7); // 'add'
 * pending.delete(7); // true
 */
export class IdMap<V> {
  #keys!: Float64Array;
  #values!: (V | undefined)[];
  #mask!: number;
  #size = 0;
  /** slots that are not free: entries and tombstones */
  #used = 0;
  #rebuilt = 0;

  constructor() {
    this.#alloc(MIN_CAPACITY);
  }

  /** Entries in the map. */
  get size(): number {
    return this.#size;
  }

  has(key: number): boolean {
    return this.#find(key) >= 0;
  }

  get(key: number): V | undefined {
    const i = this.#find(key);
    return i >= 0 ? this.#values[i] : undefined;
  }

  set(key: number, value: V): this {
    if (!(key >= 0)) throw new RangeError(`IdMap: a key must be a number >= 0, got ${String(key)}`);
    const keys = this.#keys;
    const mask = this.#mask;
    let tomb = -1;
    let i = slot(key, mask);
    let probed = 0;
    for (; ; i = (i + 1) & mask) {
      probed++;
      const k = keys[i];
      if (k === key) {
        this.#values[i] = value;
        return this;
      }
      if (k === FREE) break;
      if (k === TOMB && tomb < 0) tomb = i;
    }
    if (tomb >= 0) i = tomb;
    else this.#used++;
    keys[i] = key;
    this.#values[i] = value;
    this.#size++;
    // At most 3/4 of the slots in use, so that a probe soon meets a free one; and no long run
    // of tombstones to walk through (see #tombs).
    if (this.#used * 4 > keys.length * 3 || (probed > MAX_PROBE && this.#tombs())) this.#rebuild();
    return this;
  }

  /** false when there was no such key */
  delete(key: number): boolean {
    const i = this.#find(key);
    if (i < 0) return false;
    const keys = this.#keys;
    const mask = this.#mask;
    this.#values[i] = undefined;
    this.#size--;
    if (keys[(i + 1) & mask] !== FREE) {
      // A tombstone: lookups go on past it, and the next insertion there reuses it.
      keys[i] = TOMB;
      return true;
    }
    // The end of a run: no lookup goes past this slot, so it is free again, and so are the
    // tombstones right before it. One call at a time (or the newest of many answered last),
    // the table never fills with tombstones and is never rebuilt for them.
    keys[i] = FREE;
    this.#used--;
    for (let j = (i - 1) & mask; keys[j] === TOMB; j = (j - 1) & mask) {
      keys[j] = FREE;
      this.#used--;
    }
    // Empty, and larger than the least: half the size (as a rebuild would make it), so that a
    // table grown by a burst shrinks again once the calls go one at a time.
    if (this.#size === 0 && keys.length > MIN_CAPACITY) {
      this.#alloc(keys.length / 2);
      this.#used = 0;
    }
    return true;
  }

  clear(): void {
    if (this.#used === 0 && this.#keys.length === MIN_CAPACITY) return;
    this.#alloc(MIN_CAPACITY);
    this.#size = 0;
    this.#used = 0;
  }

  /** The keys, in increasing order (a snapshot). */
  keys(): number[] {
    return this.entries().map(([k]) => k);
  }

  /** The values, in their keys' order (a snapshot). */
  values(): V[] {
    return this.entries().map(([, v]) => v);
  }

  /** The entries, in increasing key order (a snapshot). */
  entries(): [number, V][] {
    const out: [number, V][] = [];
    const keys = this.#keys;
    for (let i = 0; i < keys.length; i++) if (keys[i]! >= 0) out.push([keys[i]!, this.#values[i] as V]);
    return out.sort((a, b) => a[0] - b[0]);
  }

  #find(key: number): number {
    // A negative or NaN key (a forged id) is in no map; negative keys mark free slots.
    if (!(key >= 0)) return -1;
    const keys = this.#keys;
    const mask = this.#mask;
    for (let i = slot(key, mask), probed = 1; ; i = (i + 1) & mask, probed++) {
      const k = keys[i];
      if (k === key) return i;
      if (k === FREE) {
        if (probed > MAX_PROBE && this.#tombs()) this.#rebuild();
        return -1;
      }
    }
  }

  /**
   * True when tombstones fill at least 1/8 of the slots. Fewer than 3/4 of the slots in use
   * does not keep probes short by itself: a burst of ids in a row (a link's first 1000 calls,
   * while it was the only one) leaves a run of tombstones; every other id after it (round-robin
   * with a second link) wraps around into that run, and each insertion walks it to its end while
   * the count of used slots stays put (an insertion reuses a tombstone). Measured: 122 slots per
   * insertion for good, 20% of a pipelining caller's CPU. A probe longer than MAX_PROBE
   * rebuilds the table then; with this many tombstones, a rebuild costs at most 8 slots per
   * delete since the last one.
   */
  #tombs(): boolean {
    return (this.#used - this.#size) * 8 >= this.#keys.length;
  }

  /**
   * The longest run of slots in use (entries and tombstones): how far a lookup may probe.
   * For tests and diagnostics.
   *
   * @example
   * new IdMap().longestRun; // 0
   */
  get longestRun(): number {
    const keys = this.#keys;
    let best = 0;
    let run = 0;
    // Twice round, for a run that wraps past the end.
    for (let j = 0; j < keys.length * 2; j++) {
      run = keys[j & this.#mask] === FREE ? 0 : run + 1;
      if (run > best) best = run;
    }
    return Math.min(best, keys.length);
  }

  /**
   * Slots in the table (a power of 2, at least 16). For tests and diagnostics.
   *
   * @example
   * new IdMap().capacity; // 16
   */
  get capacity(): number {
    return this.#keys.length;
  }

  /**
   * How many times the table was rebuilt (grown, shrunk or cleared of tombstones, its entries
   * moved to new arrays; an emptied table halved or a clear() does not count). For tests and
   * diagnostics.
   *
   * @example
   * new IdMap().rebuilds; // 0
   */
  get rebuilds(): number {
    return this.#rebuilt;
  }

  /**
   * New arrays without tombstones: twice as large when more than a quarter of the slots hold
   * entries, half as large when less than 1/16 do, else the same size. With ids in sequence,
   * the slots ahead of the newest id stay free until the next rebuild, so a new id's lookup
   * stops at once, and a table of n calls in flight is rebuilt once every n or more deletes.
   */
  #rebuild(): void {
    this.#rebuilt++;
    const keys = this.#keys;
    const values = this.#values;
    let capacity = keys.length;
    if (this.#size * 4 > capacity) capacity *= 2;
    else if (this.#size * 16 < capacity && capacity > MIN_CAPACITY) capacity /= 2;
    this.#alloc(capacity);
    const nk = this.#keys;
    const nv = this.#values;
    const mask = this.#mask;
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j]!;
      if (k < 0) continue;
      let i = slot(k, mask);
      while (nk[i] !== FREE) i = (i + 1) & mask;
      nk[i] = k;
      nv[i] = values[j];
    }
    this.#used = this.#size;
  }

  /** Empty arrays of `capacity` slots (a power of 2). */
  #alloc(capacity: number): void {
    this.#keys = new Float64Array(capacity).fill(FREE);
    this.#values = new Array<V | undefined>(capacity).fill(undefined);
    this.#mask = capacity - 1;
  }
}

/**
 * A set of call ids; see IdMap.
 *
 * @example
 * const inflight = new IdSet();
 * inflight.add(3);
 * inflight.delete(3); // true
 */
export class IdSet {
  readonly #map = new IdMap<true>();

  /** Ids in the set. */
  get size(): number {
    return this.#map.size;
  }

  has(id: number): boolean {
    return this.#map.has(id);
  }

  add(id: number): this {
    this.#map.set(id, true);
    return this;
  }

  /** false when it was not in the set */
  delete(id: number): boolean {
    return this.#map.delete(id);
  }

  clear(): void {
    this.#map.clear();
  }

  /** The ids, in increasing order (a snapshot). */
  values(): number[] {
    return this.#map.keys();
  }
}

/** a slot never used since the last rebuild */
const FREE = -1;
/** a slot whose entry was deleted */
const TOMB = -2;
/** A probe longer than this rebuilds the table when it holds many tombstones (see #tombs). */
const MAX_PROBE = 16;
const MIN_CAPACITY = 16;

/** An id's home slot: its low bits, mixed with the high ones (keys such as pid * 2^31 + id). */
function slot(key: number, mask: number): number {
  const hi = (key / 4294967296) >>> 0;
  return ((key >>> 0) ^ Math.imul(hi, 0x9e3779b1)) & mask;
}
