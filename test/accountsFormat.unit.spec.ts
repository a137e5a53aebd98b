// --format json|ndjson for the accounts: the same accounts as the CSV, amounts as exact decimal strings.
import { describe, expect, it } from 'vitest';
import { AccountFlag } from '../src/domain/ledger.js';
import { CLIENT_COUNT } from '../src/domain/ledgerState.js';
import type { AccountBalances } from '../src/io/accountsCsv.js';
import { formatAccounts } from '../src/io/accountsCsv.js';
import { formatAccountsAs } from '../src/io/accountsJson.js';

function accounts(rows: [client: number, available: number, held: number, locked: boolean][]): AccountBalances {
  const state = { available: new Float64Array(CLIENT_COUNT), held: new Float64Array(CLIENT_COUNT), flags: new Uint8Array(CLIENT_COUNT) };
  for (const [client, available, held, locked] of rows) {
    state.available[client] = available;
    state.held[client] = held;
    state.flags[client] = AccountFlag.Exists | (locked ? AccountFlag.Locked : 0);
  }
  return state;
}

const SAMPLE = accounts([
  [65_535, -25_000, 30_000, true],
  [0, 15_000, 0, false],
  [7, 90_071_992_547_409_91, 0, false],
]);

describe('formatAccountsAs', () => {
  it('csv is formatAccounts, byte for byte', () => {
    expect(formatAccountsAs(SAMPLE, 'csv')).toBe(formatAccounts(SAMPLE));
  });

  it('json is one array, ascending by client; client a number, amounts strings, locked a boolean', () => {
    const text = formatAccountsAs(SAMPLE, 'json');
    expect(text).toBe(
      '[\n' +
        '{"client":0,"available":"1.5000","held":"0.0000","total":"1.5000","locked":false},\n' +
        '{"client":7,"available":"900719925474.0991","held":"0.0000","total":"900719925474.0991","locked":false},\n' +
        '{"client":65535,"available":"-2.5000","held":"3.0000","total":"0.5000","locked":true}\n' +
        ']\n',
    );
    expect(JSON.parse(text)).toEqual([
      { client: 0, available: '1.5000', held: '0.0000', total: '1.5000', locked: false },
      { client: 7, available: '900719925474.0991', held: '0.0000', total: '900719925474.0991', locked: false },
      { client: 65_535, available: '-2.5000', held: '3.0000', total: '0.5000', locked: true },
    ]);
  });

  it('ndjson is one object per line, the same objects as json', () => {
    const lines = formatAccountsAs(SAMPLE, 'ndjson').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => JSON.parse(line))).toEqual(JSON.parse(formatAccountsAs(SAMPLE, 'json')));
  });

  it('no accounts: an empty array, an empty ndjson, the csv header', () => {
    const none = accounts([]);
    expect(formatAccountsAs(none, 'json')).toBe('[]\n');
    expect(formatAccountsAs(none, 'ndjson')).toBe('');
    expect(formatAccountsAs(none, 'csv')).toBe('client,available,held,total,locked\n');
  });
});
