/**
 * How the tx tables (TxBook, TxOwnership) are laid out: 64 open-addressing segments, each grown
 * on its own. Growing rehashes one segment while the others stay put, so a table never holds
 * an old and a new copy of itself at once (1/64 of it at most), and a table sized too small
 * costs a few cache-sized rehashes rather than twice its memory.
 *
 * Ids hash in runs of 8 consecutive ones that share a bucket of 8 slots, so the usual, mostly
 * increasing ids touch a new cache line every few rows rather than every row. The segment and
 * the bucket come from two independent multiplicative hashes of the run.
 */
export const SEGMENT_BITS = 6;
export const SEGMENTS = 1 << SEGMENT_BITS;
/** A slot handle is `local << SEGMENT_BITS | segment` as a u32, so a segment has at most 2^26 slots. */
export const MAX_SEGMENT_SLOTS = 1 << (32 - SEGMENT_BITS);
/** The bucket key has this many bits; a bucket is `floor(key * buckets / 2^KEY_BITS)`, exact in a double. */
const KEY_BITS = 32 - SEGMENT_BITS;
/** Each step grows a segment by a quarter: it stays between 68% and 85% full (at the TxBook's MAX_LOAD 0.85). */
export const GROWTH = 1.25;

export function segmentOf(tx: number): number {
  return Math.imul(tx >>> 3, 0x9e3779b1) >>> KEY_BITS;
}

/** 26 well-mixed bits of the run of tx (the top bits of a second product). */
export function bucketKey(tx: number): number {
  return Math.imul(tx >>> 3, 0x85ebca6b) >>> SEGMENT_BITS;
}

/** scale for a segment of `slots` slots: bucketKey(tx) * scale is the bucket (slots are a multiple of 8). */
export function bucketScale(slots: number): number {
  return slots / 8 / 2 ** KEY_BITS;
}

/**
 * Slots per segment (a multiple of 8, at least `min`) to hold `expected` entries at most
 * `maxLoad` full. Hashing spreads the entries unevenly over the segments, so each gets three
 * standard deviations more than its share (1.2% more for 4M entries): a table sized right
 * does not grow.
 */
export function segmentSlotsFor(expected: number, maxLoad: number, min: number): number {
  const share = expected / SEGMENTS;
  const slots = Math.max(min, Math.ceil((share + 3 * Math.sqrt(share)) / maxLoad / 8) * 8);
  return Math.min(slots, MAX_SEGMENT_SLOTS);
}

/**
 * A table sized from nothing (a pipe: no size to estimate from) doubles its segments instead:
 * growing a quarter at a time from the smallest size would rehash every entry about four times
 * over (the steps sum to 5x the final table), doubling about once, for a table between 42% and
 * 85% full rather than 68% to 85%.
 */
export const UNSIZED_GROWTH = 2;

/** The next size of a full segment; a RangeError past 2^26 slots (over 3 billion entries in all, or ids aimed at one segment). */
export function grownSlots(slots: number, growth = GROWTH): number {
  if (slots >= MAX_SEGMENT_SLOTS) throw new RangeError(`a tx table segment is full (${MAX_SEGMENT_SLOTS} slots)`);
  return Math.min(MAX_SEGMENT_SLOTS, Math.ceil((slots * growth) / 8) * 8);
}
