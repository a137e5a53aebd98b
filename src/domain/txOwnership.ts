/**
 * Which tx ids are owned. SPEC: the first well-formed deposit or withdrawal with an id owns it,
 * applied or not, so ownership depends on the row stream alone and never on account state.
 * That is what lets it be decided once, in file order, before rows are sharded by client.
 *
 * An open-addressing hash set of u32 with an occupancy bitmap (every u32 is a valid id, so no
 * key value can mark an empty slot): 4.125 bytes a slot. Ids are hashed in groups of 8
 * consecutive ones that share a 32-byte run of keys, so the usual, mostly increasing ids touch
 * a new cache line every few rows rather than every row.
 */
const MIN_CAPACITY = 1 << 10;
const MAX_LOAD = 0.75;

export class TxOwnership {
  private keys: Uint32Array;
  private used: Uint32Array;
  private mask: number;
  private shift: number;
  private count = 0;

  constructor(expected = 0) {
    let size = MIN_CAPACITY;
    while (size * MAX_LOAD < expected) size *= 2;
    this.keys = new Uint32Array(size);
    this.used = new Uint32Array(size >>> 5);
    this.mask = size - 1;
    this.shift = 32 - Math.log2(size) + 3;
  }

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.keys.byteLength + this.used.byteLength;
  }

  /** Claims tx for its first owner: true if it was free (and is now owned), false if taken. */
  claim(tx: number): boolean {
    const keys = this.keys;
    const used = this.used;
    const mask = this.mask;
    let slot = ((Math.imul(tx >>> 3, 0x9e3779b1) >>> this.shift) << 3) | (tx & 7);
    while ((used[slot >>> 5]! & (1 << (slot & 31))) !== 0) {
      if (keys[slot] === tx) return false;
      slot = (slot + 1) & mask;
    }
    keys[slot] = tx;
    used[slot >>> 5] = used[slot >>> 5]! | (1 << (slot & 31));
    if (++this.count > (mask + 1) * MAX_LOAD) this.grow();
    return true;
  }

  private grow(): void {
    const { keys, used } = this;
    const size = (this.mask + 1) * 2;
    this.keys = new Uint32Array(size);
    this.used = new Uint32Array(size >>> 5);
    this.mask = size - 1;
    this.shift--;
    this.count = 0;
    for (let i = 0; i < keys.length; i++) {
      if ((used[i >>> 5]! & (1 << (i & 31))) !== 0) this.claim(keys[i]!);
    }
  }
}
