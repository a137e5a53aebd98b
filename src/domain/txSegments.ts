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
/** TxOwnership grows a segment by a quarter a step: it stays between 60% and 75% full (at its MAX_LOAD 0.75). */
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
 * The tx book (TxBook) doubles a segment instead. A book outgrows its size only when it had no
 * estimate (a pipe) or a capped one (over 4M transactions): growing a quarter at a time from
 * there rehashes every entry about four times (the steps sum to 5x the final table) and leaves
 * the many outgrown arrays to the allocator. Measured on 15M rows (sized for 4M): 8.1 s and
 * 536 MB peak growing by quarters, 6.4 s and 418 MB doubling; a sized book never grows.
 */
export const BOOK_GROWTH = 2;

/** The next size of a full segment; a RangeError past 2^26 slots (over 3 billion entries in all, or ids aimed at one segment). */
export function grownSlots(slots: number, growth = GROWTH): number {
  if (slots >= MAX_SEGMENT_SLOTS) throw new RangeError(`a tx table segment is full (${MAX_SEGMENT_SLOTS} slots)`);
  return Math.min(MAX_SEGMENT_SLOTS, Math.ceil((slots * growth) / 8) * 8);
}

/** A segment grown to its projected size grows at least this much, and at most this much. */
const PROJECTED_MIN_GROWTH = 1.25;
const PROJECTED_MAX_GROWTH = 16;

/**
 * How much a full segment grows, given the share of the input whose rows have come (0 to 1, by
 * bytes; 0 when not known): its entries from the input so far (`count` less those it held
 * `before` the input, restored from a journal), projected to the whole input plus 2% and three
 * standard deviations, at `maxLoad`; at least a quarter more, at most 16 times. Past the input's
 * end, a quarter; not knowing, `fallback`. One rehash, and a table that ends near maxLoad,
 * instead of doubling (or growing by quarters) past an estimate that was capped or missing.
 */
export function projectedGrowth(count: number, before: number, seen: number, slots: number, maxLoad: number, fallback: number): number {
  if (seen >= 1) return PROJECTED_MIN_GROWTH;
  if (!(seen > 0)) return fallback;
  const projected = before + (count - before) / seen;
  const wanted = (projected * 1.02 + 3 * Math.sqrt(projected)) / maxLoad / slots;
  return Math.min(PROJECTED_MAX_GROWTH, Math.max(PROJECTED_MIN_GROWTH, wanted));
}

/** u32s in a 4 KiB page. */
const PAGE_WORDS = 1024;

/**
 * Writes a zero into every 4 KiB page of a new (all-zero) table, in order. Left to the probes,
 * each page's first touch is a read (the kernel maps its shared zero page) and then a write
 * (a second fault, for a page of its own), at random places: on this VM a 3.75M-row run took
 * 25K faults in its table, 10–15 ns a row; touched here it takes 12K, in ~2 µs each, about
 * half the time. The table ends fully touched anyway: at its load, every page gets entries.
 */
export function touchPages(table: Uint32Array): Uint32Array {
  for (let i = 0; i < table.length; i += PAGE_WORDS) table[i] = 0;
  return table;
}
