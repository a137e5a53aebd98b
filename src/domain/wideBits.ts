/**
 * The top bits (40 to 52) of the large amounts of one TxBook segment, by slot. Few amounts are
 * that large (2^40 ten-thousandths is 110 million), but a generated file aims some at LIMIT in
 * every segment, so a u16 per slot would cost 2 bytes a slot everywhere: they are kept in a
 * small open-addressing map of `slot + 1 -> bits` instead (6 bytes a slot of it, at most half
 * full), and in a u16 per slot once the map would be larger than that (many large amounts),
 * so the worst case stays 14 bytes a slot.
 */
const GOLDEN = 0x9e3779b1;

export class WideBits {
  /** `slot + 1` per map slot (0: empty), or undefined once dense. */
  private keys: Uint32Array | undefined = new Uint32Array(16);
  /** The bits, by map slot (sparse) or by segment slot (dense). */
  private values = new Uint16Array(16);
  private shift = 28;
  private count = 0;

  /** For a segment of `capacity` slots. */
  constructor(private readonly capacity: number) {}

  get bytes(): number {
    return (this.keys?.byteLength ?? 0) + this.values.byteLength;
  }

  /** The bits of slot (0 if none were set). */
  get(slot: number): number {
    const keys = this.keys;
    if (keys === undefined) return this.values[slot]!;
    const mask = keys.length - 1;
    for (let i = Math.imul(slot + 1, GOLDEN) >>> this.shift; ; i = (i + 1) & mask) {
      const key = keys[i]!;
      if (key === slot + 1) return this.values[i]!;
      if (key === 0) return 0;
    }
  }

  set(slot: number, bits: number): void {
    const keys = this.keys;
    if (keys === undefined) {
      this.values[slot] = bits;
      return;
    }
    const mask = keys.length - 1;
    let i = Math.imul(slot + 1, GOLDEN) >>> this.shift;
    while (keys[i] !== 0 && keys[i] !== slot + 1) i = (i + 1) & mask;
    if (keys[i] === 0) {
      keys[i] = slot + 1;
      if (++this.count * 2 > keys.length) {
        this.values[i] = bits;
        this.resize(2 * keys.length);
        return;
      }
    }
    this.values[i] = bits;
  }

  /** A map twice the size, or a u16 per slot once the map would take more bytes than that. */
  private resize(size: number): void {
    const keys = this.keys!;
    const values = this.values;
    if (6 * size >= 2 * this.capacity) {
      this.keys = undefined;
      this.values = new Uint16Array(this.capacity);
      for (let i = 0; i < keys.length; i++) if (keys[i] !== 0) this.values[keys[i]! - 1] = values[i]!;
      return;
    }
    this.keys = new Uint32Array(size);
    this.values = new Uint16Array(size);
    this.shift = 32 - Math.log2(size);
    this.count = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== 0) this.set(keys[i]! - 1, values[i]!);
  }
}
