/**
 * Every tx id a ledger has seen, with what it needs to decide disputes: an open-addressing hash
 * table over typed arrays (12 bytes a slot: key and meta interleaved, so a probe touches one
 * cache line, plus the amount), no object per transaction, so memory grows only with stored
 * transactions and the garbage collector never walks them.
 *
 * meta is `client << 8 | state`; state 0 marks an empty slot (every u32 is a valid tx id, so no
 * key can). The capacity is any whole number (hashes map onto it by multiplication, not a mask),
 * so the table grows by half and stays between 53% and 80% full.
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

const MIN_CAPACITY = 1 << 12;
const MAX_LOAD = 0.8;

export class TxBook {
  /** [key, meta] pairs. */
  private slots: Uint32Array;
  private amounts: Float64Array;
  private capacity: number;
  /** Buckets of 8 slots / 2^21: maps 21 hash bits onto a bucket by one exact multiplication. */
  private scale: number;
  private count = 0;

  constructor(expected = 0) {
    this.capacity = Math.max(MIN_CAPACITY, Math.ceil(expected / MAX_LOAD / 8) * 8);
    this.scale = this.capacity / 8 / 2_097_152;
    this.slots = new Uint32Array(this.capacity * 2);
    this.amounts = new Float64Array(this.capacity);
  }

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.slots.byteLength + this.amounts.byteLength;
  }

  /**
   * The first slot to look at: runs of 8 consecutive ids share a bucket, picked by the top 21
   * bits of a Fibonacci hash of the run (a product of a 21-bit integer and capacity/8/2^21 is
   * exact in a double, so the bucket is always in range).
   */
  private home(tx: number): number {
    const bucket = Math.floor((Math.imul(tx >>> 3, 0x9e3779b1) >>> 11) * this.scale);
    return (bucket << 3) | (tx & 7);
  }

  /** The slot holding tx, or -1. */
  find(tx: number): number {
    const slots = this.slots;
    const capacity = this.capacity;
    let slot = this.home(tx);
    while (slots[2 * slot + 1] !== 0) {
      if (slots[2 * slot] === tx) return slot;
      if (++slot === capacity) slot = 0;
    }
    return -1;
  }

  /** Records tx as owned (state Owned) and returns its slot; -1 if tx is in the book already. */
  claim(tx: number, client: number): number {
    if (this.count + 1 > this.capacity * MAX_LOAD) this.grow();
    const slots = this.slots;
    const capacity = this.capacity;
    let slot = this.home(tx);
    while (slots[2 * slot + 1] !== 0) {
      if (slots[2 * slot] === tx) return -1;
      if (++slot === capacity) slot = 0;
    }
    slots[2 * slot] = tx;
    slots[2 * slot + 1] = (client << 8) | TxState.Owned;
    this.count++;
    return slot;
  }

  client(slot: number): number {
    return this.slots[2 * slot + 1]! >>> 8;
  }

  state(slot: number): TxState {
    return (this.slots[2 * slot + 1]! & 0xff) as TxState;
  }

  amount(slot: number): number {
    return this.amounts[slot]!;
  }

  setState(slot: number, state: TxState): void {
    const i = 2 * slot + 1;
    this.slots[i] = (this.slots[i]! & ~0xff) | state;
  }

  /** Marks an owned tx as applied, with the amount a dispute will move. */
  settle(slot: number, state: TxState, amount: number): void {
    this.setState(slot, state);
    this.amounts[slot] = amount;
  }

  /** The live entries, in slot order: [tx, meta] pairs and their amounts (copies). */
  entries(): { keys: Uint32Array; amounts: Float64Array } {
    const keys = new Uint32Array(this.count * 2);
    const amounts = new Float64Array(this.count);
    let n = 0;
    for (let slot = 0; slot < this.capacity; slot++) {
      const meta = this.slots[2 * slot + 1]!;
      if (meta === 0) continue;
      keys[2 * n] = this.slots[2 * slot]!;
      keys[2 * n + 1] = meta;
      amounts[n++] = this.amounts[slot]!;
    }
    return { keys, amounts };
  }

  /** Puts back an entry from entries() (restoring a snapshot); tx must not be in the book. */
  insert(tx: number, meta: number, amount: number): void {
    const slot = this.claim(tx, meta >>> 8);
    if (slot < 0) throw new RangeError(`tx ${tx} is in the book twice`);
    this.slots[2 * slot + 1] = meta;
    this.amounts[slot] = amount;
  }

  private grow(): void {
    const { slots, amounts } = this;
    const oldCapacity = this.capacity;
    this.capacity = Math.ceil((oldCapacity * 1.5) / 8) * 8;
    this.scale = this.capacity / 8 / 2_097_152;
    this.slots = new Uint32Array(this.capacity * 2);
    this.amounts = new Float64Array(this.capacity);
    const capacity = this.capacity;
    const next = this.slots;
    for (let i = 0; i < oldCapacity; i++) {
      const meta = slots[2 * i + 1]!;
      if (meta === 0) continue;
      const tx = slots[2 * i]!;
      let slot = this.home(tx);
      while (next[2 * slot + 1] !== 0) if (++slot === capacity) slot = 0;
      next[2 * slot] = tx;
      next[2 * slot + 1] = meta;
      this.amounts[slot] = amounts[i]!;
    }
  }
}
