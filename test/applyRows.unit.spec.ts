import { describe, expect, it } from 'vitest';
import { applyRows, type RowColumns } from '../src/domain/applyRows.js';
import { AccountFlag, Ledger } from '../src/domain/ledger.js';
import { namesAccount, REASON_CODES, RejectReason } from '../src/domain/rejectReason.js';
import { DUPLICATE_FLAG, TxType } from '../src/domain/txType.js';
import { parseLines } from '../src/io/lineParser.js';
import { RowBatch } from '../src/io/rowBatch.js';
import { ParsedRow } from '../src/io/rowParser.js';

interface Row {
  type: number;
  client: number;
  tx: number;
  /** Ten-thousandths. */
  amount?: number;
  /** The row-shape verdict (None = well-formed). */
  shape?: RejectReason;
}

function columns(rows: Row[]): RowColumns & { reason: Uint8Array } {
  return {
    count: rows.length,
    type: Uint8Array.from(rows, (r) => r.type),
    client: Uint16Array.from(rows, (r) => r.client),
    tx: Uint32Array.from(rows, (r) => r.tx),
    amount: Float64Array.from(rows, (r) => r.amount ?? 0),
    reason: Uint8Array.from(rows, (r) => r.shape ?? RejectReason.None),
  };
}

function balances(ledger: Ledger, client: number): { available: number; held: number; exists: boolean; locked: boolean } {
  const flags = ledger.flags[client]!;
  return { available: ledger.available[client]!, held: ledger.held[client]!, exists: (flags & AccountFlag.Exists) !== 0, locked: (flags & AccountFlag.Locked) !== 0 };
}

const { Deposit, Withdrawal, Dispute, Resolve, Chargeback } = TxType;

describe('applyRows', () => {
  it('given rows, then the ledger holds their accounts and each row’s outcome is written to reason', () => {
    const ledger = new Ledger();
    const rows = columns([
      { type: Deposit, client: 1, tx: 1, amount: 15_000 },
      { type: Withdrawal, client: 1, tx: 2, amount: 5_000 },
      { type: Withdrawal, client: 1, tx: 3, amount: 99_999 },
      { type: Deposit, client: 2, tx: 4, amount: 20_000 },
      { type: Dispute, client: 2, tx: 4 },
      { type: Chargeback, client: 2, tx: 4 },
      { type: Deposit, client: 2, tx: 4, amount: 1 },
      { type: Resolve, client: 1, tx: 1 },
    ]);
    applyRows(ledger, rows);
    expect(balances(ledger, 1)).toEqual({ available: 10_000, held: 0, exists: true, locked: false });
    expect(balances(ledger, 2)).toEqual({ available: 0, held: 0, exists: true, locked: true });
    expect([...rows.reason].map((r) => REASON_CODES[r])).toEqual([
      'APPLIED',
      'APPLIED',
      'INSUFFICIENT_FUNDS',
      'APPLIED',
      'APPLIED',
      'APPLIED',
      'DUPLICATE_TX',
      'NOT_DISPUTED',
    ]);
  });

  it('given rows that are not well-formed, then they keep their code, reach no ledger and name no account', () => {
    const ledger = new Ledger();
    const rows = columns([
      { type: Deposit, client: 3, tx: 1, amount: 10_000, shape: RejectReason.BadAmount },
      { type: Deposit, client: 4, tx: 1, amount: 10_000 },
    ]);
    applyRows(ledger, rows);
    expect([...rows.reason]).toEqual([RejectReason.BadAmount, RejectReason.None]);
    expect(balances(ledger, 3).exists).toBe(false);
    // The malformed row owned no id: the next one takes it.
    expect(balances(ledger, 4)).toEqual({ available: 10_000, held: 0, exists: true, locked: false });
  });

  it('calls the observer once per row, in row order, with its outcome, after the ledger has applied it', () => {
    const ledger = new Ledger();
    const rows = columns([
      { type: Deposit, client: 1, tx: 1, amount: 10_000 },
      { type: 0, client: 0, tx: 0, shape: RejectReason.MalformedRow },
      { type: Dispute, client: 1, tx: 1 },
      { type: Dispute, client: 1, tx: 1 },
      { type: Withdrawal, client: 1, tx: 2, amount: 1 },
    ]);
    const seen: [number, string, number, number][] = [];
    applyRows(ledger, rows, (i, outcome) => seen.push([i, REASON_CODES[outcome]!, ledger.available[1]!, ledger.held[1]!]));
    expect(seen).toEqual([
      [0, 'APPLIED', 10_000, 0],
      [1, 'MALFORMED_ROW', 10_000, 0],
      [2, 'APPLIED', 0, 10_000],
      [3, 'ALREADY_DISPUTED', 0, 10_000],
      [4, 'INSUFFICIENT_FUNDS', 0, 10_000],
    ]);
  });

  it('given a type flagged as a duplicate decided upstream, then the row is DUPLICATE_TX and its id stays free', () => {
    const ledger = new Ledger();
    const rows = columns([
      { type: Deposit | DUPLICATE_FLAG, client: 1, tx: 7, amount: 10_000 },
      { type: Dispute, client: 1, tx: 7 },
    ]);
    applyRows(ledger, rows);
    expect([...rows.reason].map((r) => REASON_CODES[r])).toEqual(['DUPLICATE_TX', 'UNKNOWN_TX']);
    expect(balances(ledger, 1)).toEqual({ available: 0, held: 0, exists: true, locked: false });
  });

  it('given a shard, then only the rows of its clients are applied and observed', () => {
    const ledger = new Ledger();
    const rows = columns([0, 1, 2, 3, 4, 5].map((client) => ({ type: Deposit, client, tx: client + 1, amount: 10_000 })));
    const seen: number[] = [];
    applyRows(ledger, rows, (i) => seen.push(i), { index: 1, count: 3 });
    expect(seen).toEqual([1, 4]);
    expect([0, 1, 2, 3, 4, 5].map((c) => ledger.available[c])).toEqual([0, 10_000, 0, 0, 10_000, 0]);
    expect([...rows.reason]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('applies a parsed RowBatch as it comes from the parser', () => {
    const text = Buffer.from('deposit,1,1,2.5\nwithdrawal,1,2,1\nrefund,1,3,1\nwithdrawal,1,4,5\n');
    const batch = new RowBatch(16);
    parseLines(text, 0, text.length, batch, new ParsedRow());
    const outcomes: string[] = [];
    applyRows(new Ledger(), batch, (_, outcome) => outcomes.push(REASON_CODES[outcome]!));
    expect(outcomes).toEqual(['APPLIED', 'APPLIED', 'UNKNOWN_TYPE', 'INSUFFICIENT_FUNDS']);
  });
});

describe('namesAccount', () => {
  it('is false for exactly the row-shape codes of SPEC section 4, true for applied and every business code', () => {
    const shape = ['MALFORMED_ROW', 'UNKNOWN_TYPE', 'BAD_CLIENT', 'BAD_TX', 'BAD_AMOUNT'];
    for (const reason of Object.values(RejectReason)) expect(namesAccount(reason)).toBe(!shape.includes(REASON_CODES[reason]!));
  });

  it('throws on a number that is no reject reason', () => {
    expect(() => namesAccount(99 as RejectReason)).toThrow(RangeError);
  });
});
