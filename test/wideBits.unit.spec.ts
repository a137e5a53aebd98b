import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WideBits } from '../src/domain/wideBits.js';

describe('WideBits', () => {
  it('behaves like a Map of slot to bits, sparse or dense, and stays within 2 bytes a slot once dense', () => {
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 5_000 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 0x1fff })), { maxLength: 3_000 }), (capacity, sets) => {
        const wide = new WideBits(capacity);
        const model = new Map<number, number>();
        for (const [at, bits] of sets) {
          const slot = at % capacity;
          wide.set(slot, bits);
          model.set(slot, bits);
        }
        for (let slot = 0; slot < capacity; slot++) if (wide.get(slot) !== (model.get(slot) ?? 0)) return false;
        return wide.bytes <= Math.max(96, 2 * capacity);
      }),
      { numRuns: 200 },
    );
  });

  it('holds a few entries of a large segment in a few bytes each', () => {
    const wide = new WideBits(1 << 20);
    for (let i = 0; i < 300; i++) wide.set(i * 3_001, i);
    expect(wide.bytes).toBeLessThanOrEqual(1_024 * 6);
    for (let i = 0; i < 300; i++) expect(wide.get(i * 3_001)).toBe(i);
    expect(wide.get(1)).toBe(0);
  });
});
