/**
 * The applied deposits and withdrawals of one ledger, by tx id: an open-addressing hash table
 * over parallel typed arrays (16 bytes a slot, no object per transaction), so memory grows only
 * with stored transactions and the garbage collector never sees them.
 *
 * A slot's meta is `client << 8 | state`; state 0 marks an empty slot, since every u32 is a
 * valid tx id and the key alone cannot.
 */
export const TxState = {
  Empty: 0,
  Withdrawal: 1,
  Settled: 2,
  Disputed: 3,
  ChargedBack: 4,
} as const;
export type TxState = (typeof TxState)[keyof typeof TxState];

const MIN_CAPACITY = 1 << 10;
const MAX_LOAD = 0.75;

export class TxBook {
  private keys: Uint32Array;
  private metas: Uint32Array;
  private amounts: Float64Array;
  private mask: number;
  private shift: number;
  private count = 0;

  constructor(capacity = MIN_CAPACITY) {
    let size = MIN_CAPACITY;
    while (size < capacity) size *= 2;
    this.keys = new Uint32Array(size);
    this.metas = new Uint32Array(size);
    this.amounts = new Float64Array(size);
    this.mask = size - 1;
    this.shift = 32 - Math.log2(size);
  }

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.keys.byteLength + this.metas.byteLength + this.amounts.byteLength;
  }

  /** The slot holding tx, or -1. */
  find(tx: number): number {
    const keys = this.keys;
    const metas = this.metas;
    const mask = this.mask;
    let slot = Math.imul(tx, 0x9e3779b1) >>> this.shift;
    while (metas[slot] !== 0) {
      if (keys[slot] === tx) return slot;
      slot = (slot + 1) & mask;
    }
    return -1;
  }

  /** Stores a tx that is not in the book yet (the caller owns the uniqueness of tx ids). */
  insert(tx: number, client: number, state: TxState, amount: number): void {
    if (this.count + 1 > (this.mask + 1) * MAX_LOAD) this.grow();
    const keys = this.keys;
    const metas = this.metas;
    const mask = this.mask;
    let slot = Math.imul(tx, 0x9e3779b1) >>> this.shift;
    while (metas[slot] !== 0) slot = (slot + 1) & mask;
    keys[slot] = tx;
    metas[slot] = (client << 8) | state;
    this.amounts[slot] = amount;
    this.count++;
  }

  client(slot: number): number {
    return this.metas[slot]! >>> 8;
  }

  state(slot: number): TxState {
    return (this.metas[slot]! & 0xff) as TxState;
  }

  amount(slot: number): number {
    return this.amounts[slot]!;
  }

  setState(slot: number, state: TxState): void {
    this.metas[slot] = (this.metas[slot]! & ~0xff) | state;
  }

  private grow(): void {
    const { keys, metas, amounts } = this;
    const size = (this.mask + 1) * 2;
    this.keys = new Uint32Array(size);
    this.metas = new Uint32Array(size);
    this.amounts = new Float64Array(size);
    this.mask = size - 1;
    this.shift--;
    this.count = 0;
    for (let i = 0; i < metas.length; i++) {
      const meta = metas[i]!;
      if (meta !== 0) this.insert(keys[i]!, meta >>> 8, (meta & 0xff) as TxState, amounts[i]!);
    }
  }
}
