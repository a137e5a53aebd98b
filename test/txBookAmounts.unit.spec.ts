import { describe, expect, it } from 'vitest';
import { BookComparison } from '../src/domain/bookComparison.js';
import { Ledger } from '../src/domain/ledger.js';
import { stateDifference } from '../src/domain/ledgerState.js';
import { LIMIT } from '../src/domain/money.js';
import { RejectReason } from '../src/domain/rejectReason.js';
import { TxBook, TxState } from '../src/domain/txBook.js';
import { TxType } from '../src/domain/txType.js';

/**
 * A TxBook slot holds an amount's low 40 bits (12 bytes a slot); larger amounts, up to LIMIT,
 * keep their top bits in their segment's WideBits (a small map, dense once that is smaller). Every amount must come
 * back exact whatever it went through: growth, state changes, pieces, a restore.
 */
const TWO_32 = 2 ** 32;
const TWO_40 = 2 ** 40;
const EDGES = [1, 255, TWO_32 - 1, TWO_32, TWO_32 + 1, 2 ** 39 + 12_345, TWO_40 - 1, TWO_40, TWO_40 + 1, 2 ** 52 + 3, LIMIT - 1, LIMIT];

/** Amounts on every edge of the split, and between them, for n ids. */
function amountFor(i: number): number {
  if (i < EDGES.length) return EDGES[i]!;
  const edge = EDGES[i % EDGES.length]!;
  return edge > 1_000 ? edge - (i % 977) : edge + (i % 977);
}

describe('TxBook amounts', () => {
  it('gives back every amount from 1 to LIMIT exactly, across growth and through every state', () => {
    const book = new TxBook();
    const n = 50_000;
    for (let i = 0; i < n; i++) book.settle(book.claim(1_000_000 + i, i % 65_536), TxState.Settled, amountFor(i));
    const wrong: number[] = [];
    for (let i = 0; i < n; i++) {
      const slot = book.find(1_000_000 + i);
      for (const state of [TxState.Disputed, TxState.Settled, TxState.Disputed, TxState.ChargedBack]) {
        book.setState(slot, state);
        if (book.amount(slot) !== amountFor(i) || book.state(slot) !== state || book.client(slot) !== i % 65_536) wrong.push(i);
      }
      if (book.meta(slot) !== (((i % 65_536) << 8) | TxState.ChargedBack)) wrong.push(i);
    }
    expect(wrong).toEqual([]);
  });

  it('takes 12 bytes a slot, plus a few per amount of 2^40 or more, and never more than 14 bytes a slot', () => {
    const book = new TxBook(10_000);
    const slots = book.capacity;
    expect(book.bytes).toBe(12 * slots);
    for (let tx = 0; tx < 5_000; tx++) book.settle(book.claim(tx, 1), TxState.Settled, TWO_40 - 1 - tx);
    expect(book.bytes).toBe(12 * slots);
    // A few large amounts, as a generated file has (0.5% of them): a few bytes each.
    for (let tx = 5_000; tx < 5_050; tx++) book.settle(book.claim(tx, 1), TxState.Settled, LIMIT - tx);
    expect(book.bytes).toBeGreaterThan(12 * slots);
    expect(book.bytes).toBeLessThan(12 * slots + 64 * 96 + 50 * 24);
    // Every amount large: a u16 per slot at most.
    for (let tx = 5_050; tx < 7_000; tx++) book.settle(book.claim(tx, 1), TxState.Settled, TWO_40 + tx);
    expect(book.bytes).toBeLessThanOrEqual(14 * slots);
    for (let tx = 0; tx < 7_000; tx++) {
      const amount = tx < 5_000 ? TWO_40 - 1 - tx : tx < 5_050 ? LIMIT - tx : TWO_40 + tx;
      if (book.amount(book.find(tx)) !== amount) expect(tx).toBe(-1);
    }
  });

  it('round-trips large amounts through entries, pieces, drain and insert', () => {
    const book = new TxBook();
    const expected = new Map<number, { meta: number; amount: number }>();
    for (let i = 0; i < 20_000; i++) {
      const tx = (Math.imul(i, 0x9e3779b1) + 7) >>> 0;
      const state = i % 3 === 0 ? TxState.Owned : i % 3 === 1 ? TxState.Settled : TxState.Disputed;
      const slot = book.claim(tx, i % 65_536);
      const amount = state === TxState.Owned ? 0 : amountFor(i);
      if (state !== TxState.Owned) book.settle(slot, state, amount);
      expected.set(tx, { meta: ((i % 65_536) << 8) | state, amount });
    }
    const { keys, amounts } = book.entries();
    const seen = (k: Uint32Array, a: Float64Array, count: number, into: Map<number, { meta: number; amount: number }>): void => {
      for (let i = 0; i < count; i++) into.set(k[2 * i]!, { meta: k[2 * i + 1]!, amount: a[i]! });
    };
    const fromEntries = new Map<number, { meta: number; amount: number }>();
    seen(keys, amounts, amounts.length, fromEntries);
    expect(fromEntries).toEqual(expected);

    const pieceKeys = new Uint32Array(2 * 1_000);
    const pieceAmounts = new Float64Array(1_000);
    const fromPieces = new Map<number, { meta: number; amount: number }>();
    book.eachPiece(pieceKeys, pieceAmounts, (count) => seen(pieceKeys, pieceAmounts, count, fromPieces));
    expect(fromPieces).toEqual(expected);

    const restored = new TxBook();
    for (const count of book.drain(pieceKeys, pieceAmounts)) {
      for (let i = 0; i < count; i++) restored.insert(pieceKeys[2 * i]!, pieceKeys[2 * i + 1]!, pieceAmounts[i]!);
    }
    expect(book.size).toBe(0);
    expect(restored.size).toBe(expected.size);
    for (const [tx, { meta, amount }] of expected) {
      const slot = restored.find(tx);
      expect([restored.meta(slot), restored.amount(slot)]).toEqual([meta, amount]);
    }
  });

  it('inserts a piece at once, keeping only the clients asked for', () => {
    const keys = new Uint32Array([1, (4 << 8) | TxState.Settled, 2, (5 << 8) | TxState.Disputed, 3, (6 << 8) | TxState.Owned]);
    const amounts = new Float64Array([LIMIT, TWO_40 + 3, 0]);
    const book = new TxBook();
    book.insertPiece(keys, amounts, 3, (client) => client !== 5);
    expect(book.size).toBe(2);
    expect([book.meta(book.find(1)), book.amount(book.find(1))]).toEqual([(4 << 8) | TxState.Settled, LIMIT]);
    expect(book.find(2)).toBe(-1);
    expect(() => book.insertPiece(new Uint32Array([9, 1 << 8]), new Float64Array([0.5]), 1)).toThrow(RangeError);
  });

  it('refuses what is not an amount or a meta word rather than storing it wrong', () => {
    const book = new TxBook();
    expect(() => book.insert(1, (7 << 8) | TxState.Settled, LIMIT + 1)).toThrow(RangeError);
    expect(() => book.insert(2, (7 << 8) | TxState.Settled, -1)).toThrow(RangeError);
    expect(() => book.insert(3, (7 << 8) | TxState.Settled, 1.5)).toThrow(RangeError);
    expect(() => book.insert(4, 0x0100_0000 | TxState.Settled, 1)).toThrow(RangeError);
  });
});

describe('Ledger with amounts past 2^32 and 2^40 ten-thousandths', () => {
  it('disputes, resolves and charges back large deposits to the exact unit', () => {
    const ledger = new Ledger();
    const big = [TWO_32, TWO_32 + 1, TWO_40 - 1, TWO_40 + 9_999, 2 ** 50 + 1];
    big.forEach((amount, i) => expect(ledger.apply(TxType.Deposit, 1, 10 + i, amount, false)).toBe(RejectReason.None));
    const total = big.reduce((sum, x) => sum + x, 0);
    expect(ledger.available[1]).toBe(total);
    for (let i = 0; i < big.length; i++) expect(ledger.apply(TxType.Dispute, 1, 10 + i, 0, false)).toBe(RejectReason.None);
    expect([ledger.available[1], ledger.held[1]]).toEqual([0, total]);
    expect(ledger.apply(TxType.Resolve, 1, 12, 0, false)).toBe(RejectReason.None);
    expect(ledger.apply(TxType.Chargeback, 1, 14, 0, false)).toBe(RejectReason.None);
    expect(ledger.available[1]).toBe(TWO_40 - 1);
    expect(ledger.held[1]).toBe(total - (TWO_40 - 1) - (2 ** 50 + 1));
    expect(ledger.apply(TxType.Dispute, 1, 12, 0, false)).toBe(RejectReason.None);
    expect([ledger.available[1], ledger.held[1]]).toEqual([0, total - (2 ** 50 + 1)]);
  });

  it('holds a LIMIT deposit exactly: its dispute and chargeback move all of it', () => {
    const ledger = new Ledger();
    expect(ledger.apply(TxType.Deposit, 2, 1, LIMIT, false)).toBe(RejectReason.None);
    expect(ledger.apply(TxType.Deposit, 2, 2, 1, false)).toBe(RejectReason.Overflow);
    expect(ledger.apply(TxType.Dispute, 2, 1, 0, false)).toBe(RejectReason.None);
    expect([ledger.available[2], ledger.held[2]]).toEqual([0, LIMIT]);
    expect(ledger.apply(TxType.Chargeback, 2, 1, 0, false)).toBe(RejectReason.None);
    expect([ledger.available[2], ledger.held[2]]).toEqual([0, 0]);
  });

  it('keeps large amounts through exportState, fromState, liveState and a BookComparison', () => {
    const ledger = new Ledger();
    for (let i = 0; i < 3_000; i++) ledger.apply(TxType.Deposit, i % 50, 5_000 + i, amountFor(i % EDGES.length) % 2 ** 47, false);
    for (let i = 0; i < 3_000; i += 7) ledger.apply(TxType.Dispute, i % 50, 5_000 + i, 0, false);
    const state = ledger.exportState();
    const restored = Ledger.fromState(state);
    expect(stateDifference(restored.exportState(), state)).toBeUndefined();
    const live = ledger.liveState();
    const comparison = new BookComparison(restored);
    expect(comparison.accounts(live.available, live.held, live.flags)).toBeUndefined();
    expect(comparison.count(live.txCount)).toBeUndefined();
    live.eachTxPiece((keys, amounts, count) => expect(comparison.entries(keys, amounts, count)).toBeUndefined());
    expect(comparison.finish(live.txCount)).toBeUndefined();
  });
});
