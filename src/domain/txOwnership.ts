import { bucketKey, bucketScale, GROWTH, grownSlots, projectedGrowth, SEGMENTS, segmentOf, segmentSlotsFor, touchPages } from './txSegments.js';

/**
 * Which tx ids are owned. SPEC: the first well-formed deposit or withdrawal with an id owns it,
 * applied or not, so ownership depends on the row stream alone and never on account state.
 * That is what lets it be decided once, in file order, before rows are sharded by client.
 *
 * Open-addressing hash sets of u32 with an occupancy bitmap (every u32 is a valid id, so no key
 * value can mark an empty slot): 4.125 bytes a slot, in 64 segments grown one at a time (see
 * txSegments.ts), each kept between 60% and 75% full.
 */
const MIN_SEGMENT_SLOTS = 32;
const MAX_LOAD = 0.75;

export class TxOwnership {
  private readonly keys: Uint32Array[] = [];
  private readonly used: Uint32Array[] = [];
  private readonly scales = new Float64Array(SEGMENTS);
  private readonly counts = new Uint32Array(SEGMENTS);
  private readonly limits = new Uint32Array(SEGMENTS);
  private count = 0;
  /** The share of the input seen, and each segment's entries before the input (as TxBook.setInputSeen). */
  private seen = 0;
  private readonly before = new Uint32Array(SEGMENTS);

  constructor(expected = 0) {
    const slots = segmentSlotsFor(expected, MAX_LOAD, MIN_SEGMENT_SLOTS);
    for (let s = 0; s < SEGMENTS; s++) this.allocate(s, slots);
  }

  get size(): number {
    return this.count;
  }

  /** Slots in all segments (for tests: how full the set is). */
  get capacity(): number {
    let slots = 0;
    for (const keys of this.keys) slots += keys.length;
    return slots;
  }

  /** As TxBook.setInputSeen: a segment that fills grows to the size the share of the input seen projects. */
  setInputSeen(share: number): void {
    if (this.seen === 0 && share > 0) this.before.set(this.counts);
    this.seen = share;
  }

  /** Claims tx for its first owner: true if it was free (and is now owned), false if taken. */
  claim(tx: number): boolean {
    const segment = segmentOf(tx);
    const keys = this.keys[segment]!;
    const used = this.used[segment]!;
    const capacity = keys.length;
    let slot = (Math.floor(bucketKey(tx) * this.scales[segment]!) << 3) | (tx & 7);
    while ((used[slot >>> 5]! & (1 << (slot & 31))) !== 0) {
      if (keys[slot] === tx) return false;
      if (++slot === capacity) slot = 0;
    }
    keys[slot] = tx;
    used[slot >>> 5] = used[slot >>> 5]! | (1 << (slot & 31));
    this.count++;
    if (++this.counts[segment]! >= this.limits[segment]!) this.grow(segment);
    return true;
  }

  private allocate(segment: number, slots: number): void {
    this.keys[segment] = touchPages(new Uint32Array(slots));
    this.used[segment] = new Uint32Array(Math.ceil(slots / 32));
    this.scales[segment] = bucketScale(slots);
    this.limits[segment] = Math.floor(slots * MAX_LOAD);
  }

  /** Rehashes one segment into the slots projectedGrowth gives (a quarter more when the share seen is not known); the other segments are untouched. */
  private grow(segment: number): void {
    const keys = this.keys[segment]!;
    const used = this.used[segment]!;
    const count = this.counts[segment]!;
    const before = this.before[segment]!;
    this.allocate(segment, grownSlots(keys.length, projectedGrowth(count, before, this.seen, keys.length, MAX_LOAD, GROWTH)));
    this.count -= count;
    this.counts[segment] = 0;
    this.before[segment] = 0;
    for (let i = 0; i < keys.length; i++) {
      if ((used[i >>> 5]! & (1 << (i & 31))) !== 0) this.claim(keys[i]!);
    }
    this.before[segment] = before;
  }
}
