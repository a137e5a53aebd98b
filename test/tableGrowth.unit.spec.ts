import { describe, expect, it } from 'vitest';
import { TxBook, TxState } from '../src/domain/txBook.js';
import { TxOwnership } from '../src/domain/txOwnership.js';
import { BOOK_GROWTH, GROWTH, projectedGrowth } from '../src/domain/txSegments.js';
import { EXPECTED_TXS_MAX, sampledTxs } from '../src/engine/txEstimate.js';

/**
 * A tx table that outgrows its estimate (capped at 4M transactions, or none for a pipe) grows a
 * segment at a time. Told the share of the input seen so far, a full segment grows to what its
 * entries project for the whole input, in one step; not told, it doubles (TxBook) or grows by a
 * quarter (TxOwnership), as before.
 */
describe('projectedGrowth', () => {
  it('projects the entries from the input so far to the whole input, at the load wanted', () => {
    // 1,000 entries a quarter of the way in: 4,000 projected, plus 2% and 3 sigma, at 0.85.
    const growth = projectedGrowth(1_000, 0, 0.25, 1_200, 0.85, 2);
    expect(growth * 1_200).toBeCloseTo((4_000 * 1.02 + 3 * Math.sqrt(4_000)) / 0.85, 6);
  });

  it('leaves out the entries held before the input (restored from a journal)', () => {
    // 900 restored, 100 more in the first tenth of the input: 900 + 1,000 projected.
    expect(projectedGrowth(1_000, 900, 0.1, 1_200, 0.85, 2) * 1_200).toBeCloseTo((1_900 * 1.02 + 3 * Math.sqrt(1_900)) / 0.85, 6);
  });

  it('grows a quarter at least, 16 times at most, a quarter past the end, and falls back when the share is not known', () => {
    expect(projectedGrowth(1_000, 0, 0.99, 100_000, 0.85, 2)).toBe(1.25);
    expect(projectedGrowth(1_000, 0, 0.001, 1_200, 0.85, 2)).toBe(16);
    expect(projectedGrowth(1_000, 0, 1, 1_200, 0.85, 2)).toBe(1.25);
    expect(projectedGrowth(1_000, 0, 0, 1_200, 0.85, BOOK_GROWTH)).toBe(BOOK_GROWTH);
    expect(projectedGrowth(1_000, 0, 0, 1_200, 0.75, GROWTH)).toBe(GROWTH);
  });
});

/** Claims n increasing ids in `chunks` equal steps, telling the table the share seen before each (0 = never). */
function fill(claim: (tx: number) => void, setSeen: (share: number) => void, n: number, chunks: number, told: boolean): void {
  for (let c = 0; c < chunks; c++) {
    if (told) setSeen((c + 1) / chunks);
    for (let i = Math.floor((c * n) / chunks); i < Math.floor(((c + 1) * n) / chunks); i++) claim(5_000_000 + i);
  }
}

describe('a tx table that outgrows its estimate', () => {
  const n = 400_000;

  it('TxBook told the share seen ends near its load, in fewer, larger steps; not told, it doubles', () => {
    const told = new TxBook(n / 5);
    fill((tx) => told.settle(told.claim(tx, tx % 65_536), TxState.Settled, 1), (s) => told.setInputSeen(s), n, 100, true);
    const untold = new TxBook(n / 5);
    fill((tx) => untold.settle(untold.claim(tx, tx % 65_536), TxState.Settled, 1), () => undefined, n, 100, false);
    for (const book of [told, untold]) {
      expect(book.size).toBe(n);
      for (const tx of [5_000_000, 5_000_000 + n / 2, 5_000_000 + n - 1]) expect(book.find(tx)).toBeGreaterThanOrEqual(0);
    }
    expect(told.size / told.capacity).toBeGreaterThan(0.7);
    expect(told.capacity).toBeLessThan(untold.capacity);
  });

  it('a journal\'s entries restored before the input are not projected as the input\'s', () => {
    const book = new TxBook(n);
    for (let i = 0; i < n; i++) book.settle(book.claim(90_000_000 + i, 1), TxState.Settled, 1);
    const before = book.capacity;
    // A small input after a large journal: its first rows fill nothing; the table stays as it is.
    book.setInputSeen(0.01);
    for (let i = 0; i < 1_000; i++) book.claim(5_000_000 + i, 1);
    expect(book.capacity).toBeLessThan(before * 1.3);
  });

  it('TxOwnership told the share seen ends near its load; not told, it grows by quarters as before', () => {
    const told = new TxOwnership(n / 5);
    fill((tx) => told.claim(tx), (s) => told.setInputSeen(s), n, 100, true);
    const untold = new TxOwnership(n / 5);
    fill((tx) => untold.claim(tx), () => undefined, n, 100, false);
    for (const owned of [told, untold]) {
      expect(owned.size).toBe(n);
      expect(owned.claim(5_000_000 + n - 1)).toBe(false);
    }
    expect(told.size / told.capacity).toBeGreaterThan(0.6);
  });
});

describe('sampledTxs: the tables sized from the first chunk', () => {
  const rows = (types: number[], reasons?: number[]) => ({ count: types.length, type: types, reason: reasons ?? types.map(() => 0) });

  it('projects the rows that own an id, per byte of the chunk, to the input, plus 2%', () => {
    // 3 of 4 rows own an id (deposit 1, withdrawal 2; a dispute 3 does not), in 100 bytes of a 1,000,000-byte input.
    expect(sampledTxs(rows([1, 2, 3, 1]), 100, 1_000_000)).toBe(Math.ceil(30_000 * 1.02));
  });

  it('leaves out the rejected rows', () => {
    expect(sampledTxs(rows([1, 1, 1, 1], [0, 5, 0, 5]), 100, 1_000_000)).toBe(Math.ceil(20_000 * 1.02));
  });

  it('is 0 when the input size is not known (a pipe) or the chunk had no bytes, and never more than EXPECTED_TXS_MAX', () => {
    expect(sampledTxs(rows([1]), 100, 0)).toBe(0);
    expect(sampledTxs(rows([1]), 0, 1_000)).toBe(0);
    expect(sampledTxs(rows([1, 1]), 20, 70 * 2 ** 30)).toBe(EXPECTED_TXS_MAX);
  });
});

describe('early growth: a segment whose entries project past its limit', () => {
  it('grows from a fifth of the input on, before it fills, when the estimate was low', () => {
    const n = 200_000;
    // Sized for half the transactions the input holds (a first chunk unlike the rest).
    const book = new TxBook(n / 2);
    const sized = book.capacity;
    let grownAt = -1;
    for (let c = 0; c < 100; c++) {
      book.setInputSeen((c + 1) / 100);
      if (grownAt < 0 && book.capacity > sized) grownAt = c + 1;
      for (let i = (c * n) / 100; i < ((c + 1) * n) / 100; i++) book.claim(5_000_000 + i, 1);
    }
    // Full at ~42% of the input; it grew at the first share past 20% instead, once, to its end size.
    expect(grownAt).toBe(20);
    expect(book.size / book.capacity).toBeGreaterThan(0.7);
  });

  it('leaves a table sized right alone', () => {
    const n = 200_000;
    const book = new TxBook(n);
    const sized = book.capacity;
    for (let c = 0; c < 100; c++) {
      book.setInputSeen((c + 1) / 100);
      for (let i = (c * n) / 100; i < ((c + 1) * n) / 100; i++) book.claim(5_000_000 + i, 1);
    }
    expect(book.capacity).toBe(sized);
  });
});
