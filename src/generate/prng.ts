/**
 * Seeded pseudo-random numbers for the generator: sfc32 (Small Fast Counting RNG). Pure 32-bit
 * integer arithmetic, so a seed yields the same stream on every platform and Node version, which
 * is what makes `generate --seed S` byte-for-byte reproducible. Not for anything secret.
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Any safe integer seed; nearby seeds give unrelated streams. */
  constructor(seed: number) {
    // splitmix32 spreads the seed (both 32-bit halves) over the 128-bit state.
    let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / 4294967296) >>> 0, 0x9e3779b1);
    const mix = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    for (let i = 0; i < 15; i++) this.u32(); // sfc32's first outputs still echo the seed
  }

  /** Uniform integer in 0 .. 2^32 − 1. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in 0 .. n − 1 (n ≤ 2^32; the bias is below 2^-32 · n, far under what test data notices). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}
