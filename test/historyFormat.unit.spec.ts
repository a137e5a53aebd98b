// journal history's rows as text: CSV with a quoted name where needed, JSON with the stream event's keys.
import { describe, expect, it } from 'vitest';
import { RejectReason } from '../src/domain/rejectReason.js';
import { TxType } from '../src/domain/txType.js';
import { HISTORY_CSV_HEADER, HistoryFormatter, type HistoryRow } from '../src/io/historyFormat.js';

const DEPOSIT: HistoryRow = { input: 1, name: 'day 1, "final".csv', line: 2, type: TxType.Deposit, client: 7, tx: 10, amount: 15_000, reason: RejectReason.None, available: 15_000, held: 0, locked: false };
const DISPUTE: HistoryRow = { ...DEPOSIT, input: 2, name: 'day2.csv', line: 9, type: TxType.Dispute, amount: 0, reason: RejectReason.AlreadyDisputed, available: -5_000, held: 20_000, locked: true };

function text(format: 'csv' | 'json' | 'ndjson', rows: HistoryRow[]): string {
  const formatter = new HistoryFormatter(format);
  return formatter.start() + rows.map((row) => formatter.row(row)).join('') + formatter.end();
}

describe('HistoryFormatter', () => {
  it('csv: a header, the name quoted, an empty amount for a dispute and an empty reason when applied', () => {
    expect(text('csv', [DEPOSIT, DISPUTE])).toBe(
      HISTORY_CSV_HEADER +
        '1,"day 1, ""final"".csv",2,deposit,7,10,1.5000,applied,,1.5000,0.0000,1.5000,false\n' +
        '2,day2.csv,9,dispute,7,10,,rejected,ALREADY_DISPUTED,-0.5000,2.0000,1.5000,true\n',
    );
  });

  it('json: one array of the rows; ndjson: the same objects one per line', () => {
    const json = text('json', [DEPOSIT, DISPUTE]);
    const expected = [
      { input: 1, name: 'day 1, "final".csv', line: 2, result: 'applied', type: 'deposit', client: 7, tx: 10, amount: '1.5000', available: '1.5000', held: '0.0000', total: '1.5000', locked: false },
      { input: 2, name: 'day2.csv', line: 9, result: 'rejected', reason: 'ALREADY_DISPUTED', type: 'dispute', client: 7, tx: 10, available: '-0.5000', held: '2.0000', total: '1.5000', locked: true },
    ];
    expect(JSON.parse(json)).toEqual(expected);
    expect(json.split('\n')).toHaveLength(5); // [, two rows, ], and the end of the last line
    const ndjson = text('ndjson', [DEPOSIT, DISPUTE]).split('\n');
    expect(ndjson.pop()).toBe('');
    expect(ndjson.map((line) => JSON.parse(line))).toEqual(expected);
  });

  it('no rows: the header, [] or nothing', () => {
    expect(text('csv', [])).toBe(HISTORY_CSV_HEADER);
    expect(text('json', [])).toBe('[]\n');
    expect(text('ndjson', [])).toBe('');
  });
});
