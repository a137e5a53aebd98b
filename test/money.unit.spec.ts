import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatAmount, LIMIT } from '../src/domain/money.js';
import { parseAmount } from '../src/io/rowParser.js';

/** An independent formatter: exact BigInt division, no floating point anywhere. */
function formatWithBigInt(units: number): string {
  const value = BigInt(units);
  const abs = value < 0n ? -value : value;
  const fraction = (abs % 10_000n).toString().padStart(4, '0');
  return `${value < 0n ? '-' : ''}${abs / 10_000n}.${fraction}`;
}

function parse(text: string): number {
  const buf = Buffer.from(text);
  return parseAmount(buf, 0, buf.length);
}

describe('formatAmount', () => {
  it.each([
    [0, '0.0000'],
    [-0, '0.0000'],
    [1, '0.0001'],
    [10, '0.0010'],
    [100, '0.0100'],
    [1_000, '0.1000'],
    [10_000, '1.0000'],
    [-1, '-0.0001'],
    [-10_000, '-1.0000'],
    [12_345_678, '1234.5678'],
    [-12_345_678, '-1234.5678'],
    [LIMIT, '900719925474.0991'],
    [-LIMIT, '-900719925474.0991'],
  ])('renders %i ten-thousandths as %s', (units, text) => {
    expect(formatAmount(units)).toBe(text);
  });

  it('agrees with a BigInt formatter for every safe integer', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (units) => formatAmount(units) === formatWithBigInt(units)),
      { numRuns: 10_000, examples: [[0], [1], [-1], [9_999], [-9_999], [LIMIT], [-LIMIT]] },
    );
  });
});

describe('parseAmount ∘ formatAmount', () => {
  it('gives back every amount in 1..LIMIT', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: LIMIT }), (units) => parse(formatAmount(units)) === units),
      { numRuns: 10_000, examples: [[1], [9_999], [10_000], [LIMIT - 1], [LIMIT]] },
    );
  });

  it('refuses zero, negatives and LIMIT + 1', () => {
    expect(parse(formatAmount(0))).toBe(-1);
    expect(parse(formatAmount(-1))).toBe(-1);
    expect(parse(formatAmount(-LIMIT))).toBe(-1);
    expect(parse('900719925474.0992')).toBe(-1);
  });
});
