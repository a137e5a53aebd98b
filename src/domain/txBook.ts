import { BOOK_GROWTH, bucketKey, bucketScale, grownSlots, projectedGrowth, SEGMENT_BITS, SEGMENTS, segmentOf, segmentSlotsFor, touchPages } from './txSegments.js';
import { WideBits } from './wideBits.js';

/**
 * Every tx id a ledger has seen, with what it needs to decide disputes: open-addressing hash
 * tables over typed arrays, no object per transaction, so memory grows only with stored
 * transactions and the garbage collector never walks them.
 *
 * A slot is 12 bytes, three u32 side by side (a probe and the settle after it touch one cache
 * line): the tx id; a word `amountBits32to39 << 24 | client << 8 | state`; and the amount's
 * low 32 bits. So amounts below 2^40 ten-thousandths (110 million) are held in the slot; the
 * rare larger one (up to LIMIT, 2^53 - 1) keeps its bits 40 to 52 in its segment's WideBits,
 * made when the segment first needs it, and its state byte has the WIDE bit set. Everything
 * outside this file sees amounts as numbers and `meta` as `client << 8 | state`.
 *
 * The table is 64 segments, each sized from the expected transactions to end at most 85% full
 * (14 to 18 bytes per stored transaction when sized right), and doubled one at a time when an
 * estimate was missing or capped (see txSegments.ts): growing never holds two copies of it.
 * (85%, not 80%: 3.5 MB less on 3.75M rows, and no claim cost measured: ids come in runs of 8
 * that share a bucket, so probes stay short.)
 * State 0 marks an empty slot (every u32 is a valid tx id, so no key can). A slot handle names
 * the segment and the slot in it.
 */
export const TxState = {
  Empty: 0,
  /** Owned by a well-formed deposit or withdrawal that was rejected: it is not applied. */
  Owned: 1,
  Withdrawal: 2,
  Settled: 3,
  Disputed: 4,
  ChargedBack: 5,
} as const;
export type TxState = (typeof TxState)[keyof typeof TxState];

/** 64 slots a segment: 4096 in all, 48 KiB. */
const MIN_SEGMENT_SLOTS = 64;
const MAX_LOAD = 0.85;
/** From this share of the input on, its projection is steady enough to grow a segment before it fills (setInputSeen). */
const EARLY_GROWTH_SHARE = 0.2;
const EARLY_GROWTH_PER_CALL = 4;
const SEGMENT_MASK = SEGMENTS - 1;
/** A bit of the state byte no state uses: mark() sets it. */
const MET = 0x80;
/** A bit of the state byte no state uses: the amount's bits 40 to 52 are in the segment's WideBits. */
const WIDE = 0x40;
/** The word's bits that meta() and entries() show: client and state byte, without WIDE or the amount's bits. */
const META_BITS = 0x00ff_ffff & ~WIDE;
/** The state byte without WIDE (MET stays: a marked slot reads as no state). */
const STATE_BITS = 0xff & ~WIDE;
const TWO_32 = 4_294_967_296;

export class TxBook {
  /** Per segment: [key, word, amount low] triples. */
  private readonly slots: Uint32Array[] = [];
  /** Per segment: the amounts' bits 40 to 52 (of WIDE slots), made when first needed. */
  private readonly wide: (WideBits | undefined)[] = [];
  /** Per segment: bucketKey(tx) * scale is the home bucket. */
  private readonly scales = new Float64Array(SEGMENTS);
  /** Per segment: its slots (kept, not divided out of the array's length on each probe). */
  private readonly capacities = new Uint32Array(SEGMENTS);
  /** Per segment: entries, and the count past which it grows. */
  private readonly counts = new Uint32Array(SEGMENTS);
  private readonly limits = new Uint32Array(SEGMENTS);
  private count = 0;
  /** The share of the input (by bytes) whose rows have come so far: 0 when not known (a pipe). */
  private seen = 0;
  /** Per segment: its entries when the input began (a journal's, restored), which the projection leaves out. */
  private readonly before = new Uint32Array(SEGMENTS);

  /**
   * `discard` is given the buffers of each segment outgrown (to give their memory back at once
   * rather than at a garbage collection); the book holds nothing of them afterwards.
   */
  constructor(
    expected = 0,
    private readonly discard?: (buffers: ArrayBuffer[]) => void,
  ) {
    const slots = segmentSlotsFor(expected, MAX_LOAD, MIN_SEGMENT_SLOTS);
    for (let s = 0; s < SEGMENTS; s++) this.allocate(s, slots);
  }

  get size(): number {
    return this.count;
  }

  /**
   * Tells the book how much of the input its rows so far are (0 to 1, by bytes; 0 when the size
   * is not known), before the rows of the next chunk: a segment that fills then grows to the size
   * its entries project to for the whole input, in one step, rather than doubling. The first
   * call marks the entries already held (restored from a journal) as not part of the input.
   */
  setInputSeen(share: number): void {
    if (this.seen === 0 && share > 0) this.before.set(this.counts);
    this.seen = share;
    if (share < EARLY_GROWTH_SHARE || share >= 1) return;
    // A segment whose entries project past its limit grows now, while it holds few, rather than
    // when full: an estimate from a first chunk unlike the rest (a file that opens with 8,000
    // disputes) otherwise ran the table near MAX_LOAD for most of the input. A few a call, so
    // the outgrown ones are given back between batches (all 64 at once: +24 MB peak on 20M rows).
    let budget = EARLY_GROWTH_PER_CALL;
    for (let s = 0; s < SEGMENTS && budget > 0; s++) {
      const before = this.before[s]!;
      if (before + (this.counts[s]! - before) / share <= this.limits[s]!) continue;
      this.grow(s);
      budget--;
    }
  }

  /** Slots in all segments (for tests: how full the table is). */
  get capacity(): number {
    let slots = 0;
    for (const capacity of this.capacities) slots += capacity;
    return slots;
  }

  /** Bytes the table holds (for tests: 12 a slot, plus the WideBits made). */
  get bytes(): number {
    let bytes = 0;
    for (let s = 0; s < SEGMENTS; s++) bytes += this.slots[s]!.byteLength + (this.wide[s]?.bytes ?? 0);
    return bytes;
  }

  /** The first slot of the run's bucket in its segment, plus tx's place in the run of 8. */
  private static home(tx: number, scale: number): number {
    return (Math.floor(bucketKey(tx) * scale) << 3) | (tx & 7);
  }

  /** The handle of the slot holding tx, or -1. */
  find(tx: number): number {
    const segment = segmentOf(tx);
    const slots = this.slots[segment]!;
    const capacity = this.capacities[segment]!;
    let slot = TxBook.home(tx, this.scales[segment]!);
    while (slots[3 * slot + 1] !== 0) {
      if (slots[3 * slot] === tx) return ((slot << SEGMENT_BITS) | segment) >>> 0;
      if (++slot === capacity) slot = 0;
    }
    return -1;
  }

  /** Records tx as owned (state Owned) and returns its slot handle; -1 if tx is in the book already. */
  claim(tx: number, client: number): number {
    const segment = segmentOf(tx);
    if (this.counts[segment]! >= this.limits[segment]!) this.grow(segment);
    const slots = this.slots[segment]!;
    const capacity = this.capacities[segment]!;
    let slot = TxBook.home(tx, this.scales[segment]!);
    while (slots[3 * slot + 1] !== 0) {
      if (slots[3 * slot] === tx) return -1;
      if (++slot === capacity) slot = 0;
    }
    slots[3 * slot] = tx;
    slots[3 * slot + 1] = (client << 8) | TxState.Owned;
    this.counts[segment]!++;
    this.count++;
    return ((slot << SEGMENT_BITS) | segment) >>> 0;
  }

  client(handle: number): number {
    return (this.word(handle) >>> 8) & 0xffff;
  }

  state(handle: number): TxState {
    return (this.word(handle) & STATE_BITS) as TxState;
  }

  amount(handle: number): number {
    const segment = handle & SEGMENT_MASK;
    const slot = handle >>> SEGMENT_BITS;
    const slots = this.slots[segment]!;
    const word = slots[3 * slot + 1]!;
    const high = (word & WIDE) === 0 ? word >>> 24 : (word >>> 24) + this.wide[segment]!.get(slot) * 256;
    return high * TWO_32 + slots[3 * slot + 2]!;
  }

  setState(handle: number, state: TxState): void {
    const slots = this.slots[handle & SEGMENT_MASK]!;
    const i = 3 * (handle >>> SEGMENT_BITS) + 1;
    slots[i] = (slots[i]! & ~STATE_BITS) | state;
  }

  /** Marks an owned tx as applied, with the amount a dispute will move (an integer, 0 to 2^53 - 1). */
  settle(handle: number, state: TxState, amount: number): void {
    const segment = handle & SEGMENT_MASK;
    const slot = handle >>> SEGMENT_BITS;
    const slots = this.slots[segment]!;
    const i = 3 * slot;
    const high = Math.floor(amount / TWO_32);
    const word = slots[i + 1]! & 0x00ff_ff00;
    if (high < 256 && high >= 0) slots[i + 1] = (high << 24) | word | state;
    else slots[i + 1] = this.wideHigh(segment, slot, high, amount) | word | WIDE | state;
    slots[i + 2] = amount >>> 0;
  }

  /** Keeps a large amount's bits 40 to 52 in the segment's WideBits; returns its bits 32 to 39 for the word. */
  private wideHigh(segment: number, slot: number, high: number, amount: number): number {
    if (!Number.isSafeInteger(amount) || amount < 0) throw new RangeError(`not an amount in ten-thousandths: ${amount}`);
    (this.wide[segment] ??= new WideBits(this.capacities[segment]!)).set(slot, high >>> 8);
    return (high & 0xff) << 24;
  }

  /** The live entries, in segment and slot order: [tx, meta] pairs and their amounts (copies). */
  entries(): { keys: Uint32Array; amounts: Float64Array } {
    const keys = new Uint32Array(this.count * 2);
    const amounts = new Float64Array(this.count);
    this.eachPiece(keys, amounts, () => {});
    return { keys, amounts };
  }

  /**
   * The live entries in entries() order, packed into `keys` and `amounts` (room for a piece of
   * amounts.length entries), `visit` called with each full piece and the last one: the entries
   * without a copy of them all.
   */
  eachPiece(keys: Uint32Array, amounts: Float64Array, visit: (count: number) => void): void {
    for (const count of this.pieces(keys, amounts, false, () => {})) visit(count);
  }

  /**
   * Empties the book into pieces, as eachPiece() does but resumable (a generator: it yields
   * each piece's count), letting go of each segment once it is packed (`discard` is given its
   * buffers, to give their memory back at once rather than at a garbage collection), so the
   * entries can move to another table (a worker's) without two whole tables at once. The
   * book is empty afterwards.
   */
  drain(keys: Uint32Array, amounts: Float64Array, discard: (buffers: ArrayBuffer[]) => void = () => {}): Generator<number, void, void> {
    return this.pieces(keys, amounts, true, discard);
  }

  /** The one packing loop of eachPiece() and drain(): with `empty`, each segment is let go once packed. */
  private *pieces(keys: Uint32Array, amounts: Float64Array, empty: boolean, discard: (buffers: ArrayBuffer[]) => void): Generator<number, void, void> {
    let n = 0;
    for (let s = 0; s < SEGMENTS; s++) {
      const slots = this.slots[s]!;
      const wide = this.wide[s];
      const capacity = this.capacities[s]!;
      for (let slot = 0; slot < capacity; slot++) {
        const word = slots[3 * slot + 1]!;
        if (word === 0) continue;
        keys[2 * n] = slots[3 * slot]!;
        keys[2 * n + 1] = word & META_BITS;
        // amount() written out: a call per entry here boxed each amount (1.8M entries: 0.3 s, 15 MB of heap).
        const high = (word & WIDE) === 0 ? word >>> 24 : (word >>> 24) + wide!.get(slot) * 256;
        amounts[n++] = high * TWO_32 + slots[3 * slot + 2]!;
        if (n === amounts.length) {
          yield n;
          n = 0;
        }
      }
      if (!empty) continue;
      this.count -= this.counts[s]!;
      this.counts[s] = 0;
      this.before[s] = 0;
      this.allocate(s, MIN_SEGMENT_SLOTS);
      discard([slots.buffer as ArrayBuffer]);
    }
    if (n > 0) yield n;
  }

  /** Visits every live entry's tx id and `client << 8 | state` word. */
  forEachEntry(visit: (tx: number, meta: number) => void): void {
    for (const slots of this.slots) {
      for (let i = 1; i < slots.length; i += 3) if (slots[i] !== 0) visit(slots[i - 1]!, slots[i]! & META_BITS);
    }
  }

  /** Puts back an entry from entries() (restoring a snapshot); tx must not be in the book. */
  insert(tx: number, meta: number, amount: number): void {
    TxBook.check(meta, amount);
    const handle = this.claim(tx, meta >>> 8);
    if (handle < 0) throw new RangeError(`tx ${tx} is in the book twice`);
    this.settle(handle, (meta & 0xff) as TxState, amount);
  }

  /**
   * insert() for a piece of entries ([tx, meta] pairs, amounts), those of the clients `keep`
   * accepts (all without it): one call for the piece, since a call per entry that is not
   * inlined boxes each amount (restoring 1.8M entries took 0.3 s more and 15 MB of heap).
   */
  insertPiece(keys: Uint32Array, amounts: Float64Array, count: number, keep?: (client: number) => boolean): void {
    for (let i = 0; i < count; i++) {
      const meta = keys[2 * i + 1]!;
      if (keep !== undefined && !keep(meta >>> 8)) continue;
      const amount = amounts[i]!;
      // TxBook.check() written out: called, it boxed each amount.
      if (meta >>> 24 !== 0 || (meta & WIDE) !== 0 || !(amount >= 0 && amount <= Number.MAX_SAFE_INTEGER && Math.floor(amount) === amount)) TxBook.check(meta, amount);
      const tx = keys[2 * i]!;
      const handle = this.claim(tx, meta >>> 8);
      if (handle < 0) throw new RangeError(`tx ${tx} is in the book twice`);
      this.settle(handle, (meta & 0xff) as TxState, amount);
    }
  }

  private static check(meta: number, amount: number): void {
    if (meta >>> 24 !== 0 || (meta & WIDE) !== 0) throw new RangeError(`not a transaction's client and state: ${meta}`);
    if (!(amount >= 0 && amount <= Number.MAX_SAFE_INTEGER && Math.floor(amount) === amount)) throw new RangeError(`not an amount in ten-thousandths: ${amount}`);
  }

  /** The slot's `client << 8 | state` word, as entries() gives it. */
  meta(handle: number): number {
    return this.word(handle) & META_BITS;
  }

  /**
   * Marks the slot as met (a comparison that must meet each entry once); false if it was met
   * already. The mark is a bit state never uses; clearMarks() takes every mark off again.
   */
  mark(handle: number): boolean {
    const slots = this.slots[handle & SEGMENT_MASK]!;
    const i = 3 * (handle >>> SEGMENT_BITS) + 1;
    if ((slots[i]! & MET) !== 0) return false;
    slots[i] = slots[i]! | MET;
    return true;
  }

  clearMarks(): void {
    for (const slots of this.slots) for (let i = 1; i < slots.length; i += 3) slots[i] = slots[i]! & ~MET;
  }

  private word(handle: number): number {
    return this.slots[handle & SEGMENT_MASK]![3 * (handle >>> SEGMENT_BITS) + 1]!;
  }

  private allocate(segment: number, slots: number): void {
    this.slots[segment] = touchPages(new Uint32Array(slots * 3));
    this.capacities[segment] = slots;
    this.wide[segment] = undefined;
    this.scales[segment] = bucketScale(slots);
    this.limits[segment] = Math.floor(slots * MAX_LOAD);
  }

  /**
   * The next size of a full segment: projected from the share of the input seen (txSegments.ts,
   * projectedGrowth); without it, twice the slots (BOOK_GROWTH). On 20M rows sized for the 4M
   * cap, doubling ended at 49% full: 758 MB peak RSS by default; projected, 393 MB.
   */
  private grownCapacity(segment: number, capacity: number): number {
    return grownSlots(capacity, projectedGrowth(this.counts[segment]!, this.before[segment]!, this.seen, capacity, MAX_LOAD, BOOK_GROWTH));
  }

  /** Rehashes one segment into more slots (grownCapacity); the other segments are untouched. */
  private grow(segment: number): void {
    const old = this.slots[segment]!;
    const oldWide = this.wide[segment];
    const oldCapacity = this.capacities[segment]!;
    this.allocate(segment, this.grownCapacity(segment, oldCapacity));
    const next = this.slots[segment]!;
    const capacity = this.capacities[segment]!;
    const wide = oldWide === undefined ? undefined : (this.wide[segment] = new WideBits(capacity));
    const scale = this.scales[segment]!;
    for (let i = 0; i < oldCapacity; i++) {
      const word = old[3 * i + 1]!;
      if (word === 0) continue;
      const tx = old[3 * i]!;
      let slot = TxBook.home(tx, scale);
      while (next[3 * slot + 1] !== 0) if (++slot === capacity) slot = 0;
      next[3 * slot] = tx;
      next[3 * slot + 1] = word;
      next[3 * slot + 2] = old[3 * i + 2]!;
      if ((word & WIDE) !== 0) wide!.set(slot, oldWide!.get(i));
    }
    this.discard?.([old.buffer as ArrayBuffer]);
  }
}
