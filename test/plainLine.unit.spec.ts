import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RejectReason } from '../src/domain/rejectReason.js';
import { parseLines } from '../src/io/lineParser.js';
import { RowBatch, rowCapacityFor } from '../src/io/rowBatch.js';
import { ParsedRow, parsePlainLine } from '../src/io/rowParser.js';

/**
 * parsePlainLine is the fast path for the usual row; everything it does not accept goes the
 * general way (split under the quoting rules, then checked field by field). A line with one
 * space in front never takes the fast path, and the general way trims that space: so a line and
 * ' ' + line must parse to the same row, whichever way the first went.
 */
function parsed(text: string): { reason: number; type: number; client: number; tx: number; amount: number } {
  const buf = Buffer.from(text, 'latin1');
  const batch = new RowBatch(rowCapacityFor(buf.length + 1));
  parseLines(buf, 0, buf.length, batch);
  expect(batch.count).toBe(1);
  const { reason, type, client, tx, amount } = batch;
  const ok = reason[0] === RejectReason.None;
  // A rejected row's values are whatever its parse reached: compare only what a row carries.
  return ok ? { reason: 0, type: type[0]!, client: client[0]!, tx: tx[0]!, amount: amount[0]! } : { reason: reason[0]!, type: -1, client: -1, tx: -1, amount: -1 };
}

const typeWord = fc.constantFrom('deposit', 'withdrawal', 'dispute', 'resolve', 'chargeback', 'Deposit', 'WITHDRAWAL', 'deposi', 'depositt', 'withdrawa', 'withdrawals', 'd', '', 'deposit ', '"deposit"');
const digits = fc.stringMatching(/^[0-9]{0,22}$/);
const amount = fc.oneof(digits, fc.tuple(digits, digits).map(([w, f]) => `${w}.${f}`), fc.constantFrom('.5', '5.', '1e3', '-1', '+1', '0', '0.0000', '"1.5"'));
const noise = fc.constantFrom('', '', '', '', ',', ' ', '"', '\r', 'x', ',,', '\t');
const line = fc
  .tuple(typeWord, noise, digits, noise, digits, noise, fc.option(amount), noise, fc.boolean())
  .map(([type, n1, client, n2, tx, n3, amt, n4, comma]) => `${type}${n1},${client}${n2},${tx}${n3}${amt === null ? (comma ? ',' : '') : `,${amt}`}${n4}`)
  .filter((text) => !text.includes('\n') && text.trim() !== '');

describe('parsePlainLine: the fast path agrees with the general one', () => {
  it('accepts the usual rows, in lower case, as the general path does', () => {
    const row = new ParsedRow();
    for (const text of ['deposit,1,7,2.5', 'withdrawal,65535,4294967295,900719925474.0991', 'deposit,0,0,.0001', 'dispute,3,9,', 'resolve,3,9', 'chargeback,3,9,']) {
      const buf = Buffer.from(text);
      expect(parsePlainLine(buf, 0, buf.length, row), text).toBe(buf.length);
      expect(parsed(text), text).toEqual(parsed(` ${text}`));
    }
  });

  it('leaves to the general path what it does not accept, with no bytes read past the line', () => {
    const row = new ParsedRow();
    for (const text of ['deposit', 'deposit,', 'withdrawal', 'withdrawa,1,2,3', 'deposit ,1,2,3', 'deposit,1,2,3,', 'deposit,1,2,"3"']) {
      const buf = Buffer.from(`${text}\ndeposit,1,2,3\n`);
      expect(parsePlainLine(buf, 0, text.length, row), text).toBe(-1);
    }
    // The comma after the type is past the end it was given: not a row of this line.
    for (const [text, to] of [['deposit,1,2,3', 7], ['withdrawal,1,2,3', 10]] as const) {
      expect(parsePlainLine(Buffer.from(text), 0, to, row), text).toBe(-1);
    }
  });

  it('a line and the same line after a space parse to the same row (random near-valid rows)', () => {
    fc.assert(
      fc.property(line, (text) => {
        expect(parsed(text)).toEqual(parsed(` ${text}`));
      }),
      { numRuns: 20_000 },
    );
  });
});
