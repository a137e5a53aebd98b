import { bucketKey, bucketScale, grownSlots, SEGMENT_BITS, SEGMENTS, segmentOf, segmentSlotsFor } from './txSegments.js';

/**
 * Every tx id a ledger has seen, with what it needs to decide disputes: open-addressing hash
 * tables over typed arrays (16 bytes a slot: key and meta interleaved, so a probe touches one
 * cache line, plus the amount), no object per transaction, so memory grows only with stored
 * transactions and the garbage collector never walks them.
 *
 * The table is 64 segments grown one at a time (see txSegments.ts), each kept between 64% and
 * 80% full: 20 to 25 bytes per stored transaction, and growing never holds two copies of it.
 * meta is `client << 8 | state`; state 0 marks an empty slot (every u32 is a valid tx id, so no
 * key can). A slot handle names the segment and the slot in it.
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

/** 64 slots a segment: 4096 in all, 64 KiB. */
const MIN_SEGMENT_SLOTS = 64;
const MAX_LOAD = 0.8;
const SEGMENT_MASK = SEGMENTS - 1;
/** A bit of the state byte no state uses: mark() sets it. */
const MET = 0x80;

export class TxBook {
  /** Per segment: [key, meta] pairs. */
  private readonly slots: Uint32Array[] = [];
  private readonly amounts: Float64Array[] = [];
  /** Per segment: bucketKey(tx) * scale is the home bucket. */
  private readonly scales = new Float64Array(SEGMENTS);
  /** Per segment: entries, and the count past which it grows. */
  private readonly counts = new Uint32Array(SEGMENTS);
  private readonly limits = new Uint32Array(SEGMENTS);
  private count = 0;

  constructor(expected = 0) {
    const slots = segmentSlotsFor(expected, MAX_LOAD, MIN_SEGMENT_SLOTS);
    for (let s = 0; s < SEGMENTS; s++) this.allocate(s, slots);
  }

  get size(): number {
    return this.count;
  }

  /** Slots in all segments (for tests: how full the table is). */
  get capacity(): number {
    let slots = 0;
    for (const amounts of this.amounts) slots += amounts.length;
    return slots;
  }

  /** The first slot of the run's bucket in its segment, plus tx's place in the run of 8. */
  private static home(tx: number, scale: number): number {
    return (Math.floor(bucketKey(tx) * scale) << 3) | (tx & 7);
  }

  /** The handle of the slot holding tx, or -1. */
  find(tx: number): number {
    const segment = segmentOf(tx);
    const slots = this.slots[segment]!;
    const capacity = slots.length >>> 1;
    let slot = TxBook.home(tx, this.scales[segment]!);
    while (slots[2 * slot + 1] !== 0) {
      if (slots[2 * slot] === tx) return ((slot << SEGMENT_BITS) | segment) >>> 0;
      if (++slot === capacity) slot = 0;
    }
    return -1;
  }

  /** Records tx as owned (state Owned) and returns its slot handle; -1 if tx is in the book already. */
  claim(tx: number, client: number): number {
    const segment = segmentOf(tx);
    if (this.counts[segment]! >= this.limits[segment]!) this.grow(segment);
    const slots = this.slots[segment]!;
    const capacity = slots.length >>> 1;
    let slot = TxBook.home(tx, this.scales[segment]!);
    while (slots[2 * slot + 1] !== 0) {
      if (slots[2 * slot] === tx) return -1;
      if (++slot === capacity) slot = 0;
    }
    slots[2 * slot] = tx;
    slots[2 * slot + 1] = (client << 8) | TxState.Owned;
    this.counts[segment]!++;
    this.count++;
    return ((slot << SEGMENT_BITS) | segment) >>> 0;
  }

  client(handle: number): number {
    return this.slots[handle & SEGMENT_MASK]![2 * (handle >>> SEGMENT_BITS) + 1]! >>> 8;
  }

  state(handle: number): TxState {
    return (this.slots[handle & SEGMENT_MASK]![2 * (handle >>> SEGMENT_BITS) + 1]! & 0xff) as TxState;
  }

  amount(handle: number): number {
    return this.amounts[handle & SEGMENT_MASK]![handle >>> SEGMENT_BITS]!;
  }

  setState(handle: number, state: TxState): void {
    const slots = this.slots[handle & SEGMENT_MASK]!;
    const i = 2 * (handle >>> SEGMENT_BITS) + 1;
    slots[i] = (slots[i]! & ~0xff) | state;
  }

  /** Marks an owned tx as applied, with the amount a dispute will move. */
  settle(handle: number, state: TxState, amount: number): void {
    this.setState(handle, state);
    this.amounts[handle & SEGMENT_MASK]![handle >>> SEGMENT_BITS] = amount;
  }

  /** The live entries, in segment and slot order: [tx, meta] pairs and their amounts (copies). */
  entries(): { keys: Uint32Array; amounts: Float64Array } {
    const keys = new Uint32Array(this.count * 2);
    const amounts = new Float64Array(this.count);
    let n = 0;
    for (let s = 0; s < SEGMENTS; s++) {
      const slots = this.slots[s]!;
      const from = this.amounts[s]!;
      for (let slot = 0; slot < from.length; slot++) {
        const meta = slots[2 * slot + 1]!;
        if (meta === 0) continue;
        keys[2 * n] = slots[2 * slot]!;
        keys[2 * n + 1] = meta;
        amounts[n++] = from[slot]!;
      }
    }
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
      const from = this.amounts[s]!;
      for (let slot = 0; slot < from.length; slot++) {
        const meta = slots[2 * slot + 1]!;
        if (meta === 0) continue;
        keys[2 * n] = slots[2 * slot]!;
        keys[2 * n + 1] = meta;
        amounts[n++] = from[slot]!;
        if (n === amounts.length) {
          yield n;
          n = 0;
        }
      }
      if (!empty) continue;
      this.count -= this.counts[s]!;
      this.counts[s] = 0;
      this.allocate(s, MIN_SEGMENT_SLOTS);
      discard([slots.buffer as ArrayBuffer, from.buffer as ArrayBuffer]);
    }
    if (n > 0) yield n;
  }

  /** Visits every live entry's tx id and `client << 8 | state` word. */
  forEachEntry(visit: (tx: number, meta: number) => void): void {
    for (const slots of this.slots) {
      for (let i = 1; i < slots.length; i += 2) if (slots[i] !== 0) visit(slots[i - 1]!, slots[i]!);
    }
  }

  /** Puts back an entry from entries() (restoring a snapshot); tx must not be in the book. */
  insert(tx: number, meta: number, amount: number): void {
    const handle = this.claim(tx, meta >>> 8);
    if (handle < 0) throw new RangeError(`tx ${tx} is in the book twice`);
    this.slots[handle & SEGMENT_MASK]![2 * (handle >>> SEGMENT_BITS) + 1] = meta;
    this.amounts[handle & SEGMENT_MASK]![handle >>> SEGMENT_BITS] = amount;
  }

  /** The slot's `client << 8 | state` word, as entries() gives it. */
  meta(handle: number): number {
    return this.slots[handle & SEGMENT_MASK]![2 * (handle >>> SEGMENT_BITS) + 1]!;
  }

  /**
   * Marks the slot as met (a comparison that must meet each entry once); false if it was met
   * already. The mark is a bit state never uses; clearMarks() takes every mark off again.
   */
  mark(handle: number): boolean {
    const slots = this.slots[handle & SEGMENT_MASK]!;
    const i = 2 * (handle >>> SEGMENT_BITS) + 1;
    if ((slots[i]! & MET) !== 0) return false;
    slots[i] = slots[i]! | MET;
    return true;
  }

  clearMarks(): void {
    for (const slots of this.slots) for (let i = 1; i < slots.length; i += 2) slots[i] = slots[i]! & ~MET;
  }

  private allocate(segment: number, slots: number): void {
    this.slots[segment] = new Uint32Array(slots * 2);
    this.amounts[segment] = new Float64Array(slots);
    this.scales[segment] = bucketScale(slots);
    this.limits[segment] = Math.floor(slots * MAX_LOAD);
  }

  /** Rehashes one segment into a quarter more slots; the other segments are untouched. */
  private grow(segment: number): void {
    const old = this.slots[segment]!;
    const oldAmounts = this.amounts[segment]!;
    this.allocate(segment, grownSlots(oldAmounts.length));
    const next = this.slots[segment]!;
    const amounts = this.amounts[segment]!;
    const scale = this.scales[segment]!;
    const capacity = amounts.length;
    for (let i = 0; i < oldAmounts.length; i++) {
      const meta = old[2 * i + 1]!;
      if (meta === 0) continue;
      const tx = old[2 * i]!;
      let slot = TxBook.home(tx, scale);
      while (next[2 * slot + 1] !== 0) if (++slot === capacity) slot = 0;
      next[2 * slot] = tx;
      next[2 * slot + 1] = meta;
      amounts[slot] = oldAmounts[i]!;
    }
  }
}
