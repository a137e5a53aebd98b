import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LIMIT } from '../src/domain/money.js';
import { TxBook, TxState } from '../src/domain/txBook.js';
import { TxOwnership } from '../src/domain/txOwnership.js';
import { SEGMENTS } from '../src/domain/txSegments.js';
import { EXPECTED_TXS_MAX, expectedTxsFor } from '../src/engine/txEstimate.js';

/** A seeded PRNG (mulberry32), so the large tests are reproducible. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** n distinct u32 ids, 0 and 0xffffffff among them, in random order. */
function distinctIds(n: number, seed: number): number[] {
  const next = random(seed);
  const ids = new Set<number>([0, 0xffff_ffff]);
  while (ids.size < n) ids.add(next());
  return [...ids].reverse(); // 0 and 0xffffffff go in last, after the table has grown
}

const STATES = [TxState.Owned, TxState.Withdrawal, TxState.Settled, TxState.Disputed, TxState.ChargedBack] as const;
const u32 = fc.oneof(fc.constantFrom(0, 1, 0xffff_ffff, 0x8000_0000), fc.integer({ min: 0, max: 0xffff_ffff }));
const fewIds = fc.integer({ min: 0, max: 300 }); // many collisions and long probe runs
const state = fc.constantFrom(...STATES);

describe('TxBook', () => {
  it('claims and finds each of 100k random ids (0 and 0xffffffff included) with its client, state and amount across growth', () => {
    const ids = distinctIds(100_000, 7);
    const book = new TxBook();
    const next = random(11);
    const expected = ids.map((tx) => ({ tx, client: next() % 65_536, amount: (next() % 1_000_000) + 1, state: STATES[next() % STATES.length]! }));
    expected[0]!.amount = LIMIT;
    expected[1]!.client = 65_535;
    // Plain checks in the 100k loops (expect() per id is slow); mismatching ids are collected.
    const wrong: number[] = [];
    for (const { tx, client, amount, state } of expected) {
      const slot = book.claim(tx, client);
      if (slot < 0 || book.client(slot) !== client || book.state(slot) !== TxState.Owned) wrong.push(tx);
      else if (state !== TxState.Owned) book.settle(slot, state, amount);
    }
    expect(wrong).toEqual([]);
    expect(book.size).toBe(100_000);
    for (const { tx, client, amount, state } of expected) {
      const slot = book.find(tx);
      const ok = slot >= 0 && book.client(slot) === client && book.state(slot) === state;
      if (!ok || (state !== TxState.Owned && book.amount(slot) !== amount) || book.claim(tx, client) !== -1) wrong.push(tx);
    }
    expect(wrong).toEqual([]);
    expect(book.size).toBe(100_000);
    const stored = new Set(ids);
    let absent = 0;
    for (let probe = 0; absent < 10_000; probe++) {
      const tx = (Math.imul(probe, 0x9e3779b1) + 12_345) >>> 0;
      if (stored.has(tx)) continue;
      if (book.find(tx) !== -1) wrong.push(tx);
      absent++;
    }
    expect(wrong).toEqual([]);
  });

  it('keeps states and amounts set before the table grows', () => {
    const book = new TxBook();
    for (let tx = 0; tx < 500; tx++) book.settle(book.claim(tx, tx % 7), TxState.Settled, tx + 1);
    for (let tx = 0; tx < 500; tx += 3) book.setState(book.find(tx), TxState.Disputed);
    for (let tx = 500; tx < 20_000; tx++) book.settle(book.claim(tx, 9), TxState.Withdrawal, 1);
    for (let tx = 0; tx < 500; tx++) {
      const slot = book.find(tx);
      expect([book.client(slot), book.state(slot), book.amount(slot)]).toEqual([tx % 7, tx % 3 === 0 ? TxState.Disputed : TxState.Settled, tx + 1]);
    }
  });

  it('gives the buffers of each outgrown segment to discard, and never touches them again', () => {
    const outgrown: ArrayBuffer[] = [];
    // Detaching each one (as releaseNow does) makes any later use of it fail or read nothing.
    const book = new TxBook(0, (buffers) => {
      for (const buffer of buffers) outgrown.push(structuredClone(buffer, { transfer: [buffer] }));
    });
    for (let tx = 0; tx < 50_000; tx++) book.settle(book.claim(tx, tx % 9), TxState.Settled, tx === 7 ? LIMIT : tx + 1);
    expect(outgrown.length).toBeGreaterThan(SEGMENTS);
    const wrong: number[] = [];
    for (let tx = 0; tx < 50_000; tx++) {
      const slot = book.find(tx);
      if (book.client(slot) !== tx % 9 || book.amount(slot) !== (tx === 7 ? LIMIT : tx + 1)) wrong.push(tx);
    }
    expect(wrong).toEqual([]);
  });

  it('changes only the state with setState, through every state', () => {
    const book = new TxBook();
    const slot = book.claim(0xffff_ffff, 65_535);
    book.settle(slot, TxState.Settled, LIMIT);
    for (const next of [TxState.Disputed, TxState.Settled, TxState.Disputed, TxState.ChargedBack]) {
      book.setState(slot, next);
      expect([book.client(slot), book.state(slot), book.amount(slot)]).toEqual([65_535, next, LIMIT]);
    }
  });

  it('behaves like a Map under any sequence of claims, settles and state changes', () => {
    type Op = { kind: 'claim'; tx: number; client: number; settle: TxState; amount: number } | { kind: 'set'; tx: number; state: TxState };
    const claim = fc.record({
      kind: fc.constant('claim' as const),
      tx: fc.oneof(u32, fewIds),
      client: fc.integer({ min: 0, max: 65_535 }),
      settle: state,
      amount: fc.integer({ min: 1, max: LIMIT }),
    });
    const set = fc.record({ kind: fc.constant('set' as const), tx: fc.oneof(u32, fewIds), state });
    const prefill = fc.tuple(fc.integer({ min: 0, max: 4_000 }), u32, fc.constantFrom(1, 8, 4_096, 65_536, 0x9e37_79b9));
    const ops = fc.array(fc.oneof({ arbitrary: claim, weight: 4 }, { arbitrary: set, weight: 1 }), { maxLength: 3_000, size: 'max' });
    fc.assert(
      fc.property(ops, fc.integer({ min: 0, max: 5_000 }), prefill, (list: Op[], expectedTxs, [count, base, stride]) => {
        const book = new TxBook(expectedTxs);
        const model = new Map<number, { client: number; state: TxState; amount: number }>();
        // A run of ids first, so the operations below straddle the table's growth.
        for (let i = 0; i < count; i++) {
          const tx = (base + i * stride) >>> 0;
          book.settle(book.claim(tx, i % 65_536), TxState.Settled, i + 1);
          model.set(tx, { client: i % 65_536, state: TxState.Settled, amount: i + 1 });
        }
        for (const op of list) {
          const known = model.get(op.tx);
          const slot = book.find(op.tx);
          if (slot >= 0 !== (known !== undefined)) return false;
          if (op.kind === 'claim') {
            const claimed = book.claim(op.tx, op.client);
            if (claimed >= 0 !== (known === undefined)) return false;
            if (known !== undefined) continue;
            const entry = { client: op.client, state: op.settle, amount: 0 };
            if (op.settle !== TxState.Owned) {
              book.settle(claimed, op.settle, op.amount);
              entry.amount = op.amount;
            }
            model.set(op.tx, entry);
          } else if (known !== undefined) {
            book.setState(slot, op.state);
            known.state = op.state;
          }
        }
        if (book.size !== model.size) return false;
        for (const [tx, entry] of model) {
          const slot = book.find(tx);
          if (book.client(slot) !== entry.client || book.state(slot) !== entry.state || book.amount(slot) !== entry.amount) return false;
        }
        return true;
      }),
      { numRuns: 200 },
    );
  });
});

describe('TxOwnership', () => {
  it('claims each of 100k random ids (0 and 0xffffffff included) once: true, then false, across growth', () => {
    const ids = distinctIds(100_000, 13);
    const owners = new TxOwnership();
    expect(ids.filter((tx) => !owners.claim(tx))).toEqual([]);
    expect(owners.size).toBe(100_000);
    expect(ids.filter((tx) => owners.claim(tx))).toEqual([]);
    expect(owners.size).toBe(100_000);
  });

  it('claims ids like a Set', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(u32, fewIds), { maxLength: 5_000, size: 'max' }), fc.integer({ min: 0, max: 5_000 }), (ids, capacity) => {
        const owners = new TxOwnership(capacity);
        const model = new Set<number>();
        for (const tx of ids) {
          if (owners.claim(tx) === model.has(tx)) return false;
          model.add(tx);
        }
        return owners.size === model.size && [...model].every((tx) => !owners.claim(tx));
      }),
      { numRuns: 200 },
    );
  });
});

/**
 * Memory: a table grows one segment at a time, so each growth step adds a sliver of the table
 * (never a second copy of it), and it stays between 68% (60% for ownership) and 85% (75%) full.
 */
describe('table sizing and growth', () => {
  /** Claims `n` ids and records every capacity the table passes through. */
  function grow(table: { capacity: number }, claim: (tx: number) => void, n: number): number[] {
    const capacities = [table.capacity];
    for (let i = 0; i < n; i++) {
      claim(Math.imul(i, 0x2545f491) >>> 0); // distinct: an odd multiplier is a bijection on u32
      if (table.capacity !== capacities[capacities.length - 1]) capacities.push(table.capacity);
    }
    return capacities;
  }

  it('TxBook with no estimate (a pipe) or too small a one doubles a segment at a time and ends 42-85% full', () => {
    for (const estimate of [0, 1_000]) {
      const book = new TxBook(estimate);
      const n = 1_000_000;
      const capacities = grow(book, (tx) => book.claim(tx, 1), n);
      expect(book.size).toBe(n);
      for (let i = 1; i < capacities.length; i++) {
        const step = capacities[i]! - capacities[i - 1]!;
        expect(step).toBeGreaterThan(0);
        expect(step).toBeLessThanOrEqual((capacities[i - 1]! / SEGMENTS) * 1.6 + 8); // one segment doubled
      }
      const load = n / book.capacity;
      expect(load).toBeGreaterThan(0.42);
      expect(load).toBeLessThanOrEqual(0.85);
    }
  });

  it('TxOwnership grows a segment at a time and ends 60-75% full', () => {
    const owners = new TxOwnership();
    const n = 1_000_000;
    const capacities = grow(owners, (tx) => owners.claim(tx), n);
    expect(owners.size).toBe(n);
    for (let i = 1; i < capacities.length; i++) expect(capacities[i]! - capacities[i - 1]!).toBeLessThanOrEqual((capacities[i - 1]! / SEGMENTS) * 0.4 + 8);
    const load = n / owners.capacity;
    expect(load).toBeGreaterThan(0.58);
    expect(load).toBeLessThanOrEqual(0.75);
  });

  it('a table sized for its entries does not grow, and is at most 85% full', () => {
    const n = 300_000;
    const book = new TxBook(n);
    const owners = new TxOwnership(n);
    const capacities = [book.capacity, owners.capacity];
    grow(book, (tx) => book.claim(tx, 1), n);
    grow(owners, (tx) => owners.claim(tx), n);
    expect([book.capacity, owners.capacity]).toEqual(capacities);
    expect(book.capacity).toBeLessThan((n / 0.85) * 1.05);
    expect(owners.capacity).toBeLessThan((n / 0.75) * 1.05);
  });

  it('sizes the tables from an input size, capped: padded rows or a sparse 70 GB file reserve no more than EXPECTED_TXS_MAX', () => {
    expect(expectedTxsFor(0)).toBe(0);
    expect(expectedTxsFor(-5)).toBe(0);
    expect(expectedTxsFor(36_000)).toBe(1_000);
    expect(expectedTxsFor(70 * 2 ** 30)).toBe(EXPECTED_TXS_MAX);
    expect(expectedTxsFor(Number.MAX_SAFE_INTEGER)).toBe(EXPECTED_TXS_MAX);
    // The tables for the cap exist (no typed array too long) and stay small: 58 MB and 21 MB.
    expect(new TxBook(EXPECTED_TXS_MAX).bytes).toBeLessThan(58e6);
    expect(new TxOwnership(EXPECTED_TXS_MAX).capacity * 4.125).toBeLessThan(23e6);
  });
});
