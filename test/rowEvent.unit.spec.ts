// rowEvent's exact bytes: the event is built key by key (not by spreading its origin, which made
// JSON.stringify much slower), and its output must be what the spread version wrote, key order
// included: line, id, partition (when defined), result, reason, then the row or the account.
import { describe, expect, it } from 'vitest';
import { AccountFlag } from '../src/domain/ledger.js';
import { CLIENT_COUNT } from '../src/domain/ledgerState.js';
import { formatAmount } from '../src/domain/money.js';
import { REASON_CODES, RejectReason } from '../src/domain/rejectReason.js';
import { TxType } from '../src/domain/txType.js';
import type { AccountBalances } from '../src/io/accountsCsv.js';
import { type RowOrigin, rowEvent } from '../src/io/rowEvent.js';

const TYPE_NAMES = ['', 'deposit', 'withdrawal', 'dispute', 'resolve', 'chargeback'];

/** The event as the spread-based version built it: the reference for the bytes. */
function spreadEvent(origin: RowOrigin, row: { type: number; client: number; tx: number; amount: number; reason: number }, accounts: AccountBalances, text: string): string {
  const event: Record<string, unknown> = { ...origin };
  event.result = row.reason === 0 ? 'applied' : 'rejected';
  if (row.reason !== 0) event.reason = REASON_CODES[row.reason];
  if (row.reason !== 0 && row.reason < 6) {
    event.row = text;
    return JSON.stringify(event);
  }
  event.type = TYPE_NAMES[row.type];
  event.client = row.client;
  event.tx = row.tx;
  if (row.type === TxType.Deposit || row.type === TxType.Withdrawal) event.amount = formatAmount(row.amount);
  const available = accounts.available[row.client]!;
  const held = accounts.held[row.client]!;
  event.available = formatAmount(available);
  event.held = formatAmount(held);
  event.total = formatAmount(available + held);
  event.locked = (accounts.flags[row.client]! & AccountFlag.Locked) !== 0;
  return JSON.stringify(event);
}

function accounts(): AccountBalances {
  const a = { available: new Float64Array(CLIENT_COUNT), held: new Float64Array(CLIENT_COUNT), flags: new Uint8Array(CLIENT_COUNT) };
  a.available[7] = 125_000; // 12.5
  a.held[7] = 10_000; // 1
  a.flags[7] = AccountFlag.Exists;
  a.available[9] = 0;
  a.flags[9] = AccountFlag.Exists | AccountFlag.Locked;
  return a;
}

const deposit = { type: TxType.Deposit, client: 7, tx: 3, amount: 25_000, reason: RejectReason.None };

describe('rowEvent', () => {
  it('writes the same bytes as before for an applied row, from a file line', () => {
    expect(rowEvent({ line: 4 }, deposit, accounts(), 'deposit,7,3,2.5')).toBe(
      '{"line":4,"result":"applied","type":"deposit","client":7,"tx":3,"amount":"2.5000","available":"12.5000","held":"1.0000","total":"13.5000","locked":false}',
    );
  });

  it('puts a stream entry\'s id and partition right after the line', () => {
    expect(rowEvent({ line: 2, id: '1700000000000-0', partition: 3 }, { ...deposit, type: TxType.Dispute, amount: 0 }, accounts(), '')).toBe(
      '{"line":2,"id":"1700000000000-0","partition":3,"result":"applied","type":"dispute","client":7,"tx":3,"available":"12.5000","held":"1.0000","total":"13.5000","locked":false}',
    );
    expect(rowEvent({ line: 2, partition: 0 }, deposit, accounts(), '')).toMatch(/^\{"line":2,"partition":0,"result":"applied",/);
  });

  it('a row that is not well-formed carries its text, no account', () => {
    expect(rowEvent({ line: 5, id: 'x-1' }, { type: 0, client: 0, tx: 0, amount: 0, reason: RejectReason.BadClient }, accounts(), 'deposit,x,1,1')).toBe(
      '{"line":5,"id":"x-1","result":"rejected","reason":"BAD_CLIENT","row":"deposit,x,1,1"}',
    );
  });

  it('equals the spread-built event for every kind of row and origin, undefined fields included', () => {
    const origins: RowOrigin[] = [{ line: 1 }, { line: 9, id: 'a' }, { line: 9, partition: 2 }, { line: 3, id: 'b-0', partition: 0 }, { line: 8, id: undefined, partition: undefined }];
    const rows = [
      deposit,
      { type: TxType.Withdrawal, client: 9, tx: 4, amount: 1, reason: RejectReason.AccountLocked },
      { type: TxType.Chargeback, client: 7, tx: 3, amount: 0, reason: RejectReason.None },
      { type: TxType.Resolve, client: 7, tx: 5, amount: 0, reason: RejectReason.NotDisputed },
      { type: 0, client: 0, tx: 0, amount: 0, reason: RejectReason.MalformedRow },
      { type: 0, client: 0, tx: 0, amount: 0, reason: RejectReason.BadAmount },
    ];
    const a = accounts();
    for (const origin of origins) {
      for (const row of rows) expect(rowEvent(origin, row, a, 'some "row",1')).toBe(spreadEvent(origin, row, a, 'some "row",1'));
    }
  });
});
