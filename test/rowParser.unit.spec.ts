import { describe, expect, it } from 'vitest';
import { LIMIT } from '../src/domain/money.js';
import { REASON_CODES, RejectReason } from '../src/domain/rejectReason.js';
import { TxType } from '../src/domain/txType.js';
import { ParsedRow, parseAmount, parseRow, parseType, parseUint, splitFields } from '../src/io/rowParser.js';

/** The trimmed fields of a line as strings, or 'broken' for broken quoting. */
function fieldsOf(text: string): string[] | 'broken' {
  const buf = Buffer.from(text);
  const row = new ParsedRow();
  const n = splitFields(buf, 0, buf.length, row);
  if (n < 0) return 'broken';
  return Array.from({ length: n }, (_, f) => buf.toString('utf8', row.fieldStart[f], row.fieldEnd[f]));
}

/** parseRow on a whole line: 'OK' or the shape reason code, and the decoded values. */
function parse(text: string): { reason: string; type: TxType; client: number; tx: number; amount: number } {
  const buf = Buffer.from(text);
  const row = new ParsedRow();
  parseRow(buf, 0, buf.length, row);
  const reason = row.reason === RejectReason.None ? 'OK' : REASON_CODES[row.reason]!;
  return { reason, type: row.type, client: row.client, tx: row.tx, amount: row.amount };
}

const reasonOf = (text: string): string => parse(text).reason;
const typeOf = (text: string): TxType => parseType(Buffer.from(text), 0, Buffer.byteLength(text));
const uintOf = (text: string, max: number): number => parseUint(Buffer.from(text), 0, Buffer.byteLength(text), max);
const amountOf = (text: string): number => parseAmount(Buffer.from(text), 0, Buffer.byteLength(text));

describe('splitFields: RFC 4180 quoting with trimming', () => {
  it.each([
    ['deposit,1,2,3.0', ['deposit', '1', '2', '3.0']],
    ['"deposit","1","2","3.0"', ['deposit', '1', '2', '3.0']],
    [' " deposit " , " 1 ",\t"2"\t, "3.0" ', ['deposit', '1', '2', '3.0']],
    ['\tdeposit\t, 1 ,2 , 3.0\t', ['deposit', '1', '2', '3.0']],
    ['"deposit","1","5","1,5"', ['deposit', '1', '5', '1,5']],
    ['"dep""osit",1,2,3', ['dep""osit', '1', '2', '3']],
    ['dispute,1,2,""', ['dispute', '1', '2', '']],
    ['dispute,1,2,', ['dispute', '1', '2', '']],
    ['dispute,1,2', ['dispute', '1', '2']],
    [',,,', ['', '', '', '']],
    ['deposit,1,2,3,4,5', ['deposit', '1', '2', '3', '4']], // stops at 5: "too many"
  ])('given %j, then the fields are %j', (text, fields) => {
    expect(fieldsOf(text)).toEqual(fields);
  });

  it.each([
    '"deposit"x,1,2,3', // text after the closing quote
    '"deposit" x,1,2,3',
    '"deposit,1,2,3', // unclosed
    'deposit,1,2,"3',
    'deposit,1,2,"3""',
    'dep"osit,1,2,3', // quote inside an unquoted field
    'deposit,1,2,3"',
    'deposit,1 "2",2,3',
  ])('given %j, then the quoting is broken', (text) => {
    expect(fieldsOf(text)).toBe('broken');
  });
});

describe('parseRow: field count and quoting', () => {
  it.each([
    ['deposit,1,2,3', 'OK'],
    ['dispute,1,2', 'OK'],
    ['dispute,1,2,', 'OK'], // a trailing comma makes an empty 4th field
    ['resolve,1,2,""', 'OK'],
    ['deposit,1,2,', 'BAD_AMOUNT'],
    ['deposit,1,2', 'BAD_AMOUNT'],
    ['withdrawal,1,2', 'BAD_AMOUNT'],
    ['deposit,1', 'MALFORMED_ROW'],
    ['dispute', 'MALFORMED_ROW'],
    ['deposit,1,2,3,4', 'MALFORMED_ROW'],
    ['deposit,1,2,3,4,5', 'MALFORMED_ROW'],
    ['dispute,1,2,,', 'MALFORMED_ROW'],
    ['dispute,1,2,a,b', 'MALFORMED_ROW'],
    ['deposit,1,2,3,', 'MALFORMED_ROW'],
    ['dispute,1,2,"x"', 'OK'],
    ['dispute,1,2,"a,b"', 'OK'],
    ['deposit,1,2,3 ', 'OK'],
    ['"deposit"x,1,2,3', 'MALFORMED_ROW'],
    ['"deposit,1,2,3', 'MALFORMED_ROW'],
    ['dep"osit,1,2,3', 'MALFORMED_ROW'],
    ['"dep""osit",1,2,3', 'UNKNOWN_TYPE'],
    ['"deposit","1","5","1,5"', 'BAD_AMOUNT'],
    [',,,', 'UNKNOWN_TYPE'],
  ])('given %j, then %s', (text, reason) => {
    expect(reasonOf(text)).toBe(reason);
  });

  it('decodes a quoted, padded row', () => {
    expect(parse(' " Deposit " , " 007 ",\t"4294967295"\t, " .5 " ')).toEqual({
      reason: 'OK',
      type: TxType.Deposit,
      client: 7,
      tx: 4_294_967_295,
      amount: 5_000,
    });
  });

  it('ignores the amount of dispute, resolve and chargeback rows', () => {
    for (const text of ['dispute,1,2,abc', 'resolve,1,2,-5', 'chargeback,1,2,1e9']) {
      expect(parse(text)).toMatchObject({ reason: 'OK', client: 1, tx: 2, amount: 0 });
    }
  });
});

describe('parseType: five names, case-insensitive', () => {
  it.each([
    ['deposit', TxType.Deposit],
    ['DEPOSIT', TxType.Deposit],
    ['dePosit', TxType.Deposit],
    ['Withdrawal', TxType.Withdrawal],
    ['DISPUTE', TxType.Dispute],
    ['resolve', TxType.Resolve],
    ['ChargeBack', TxType.Chargeback],
    ['deposits', TxType.Unknown],
    ['depositt', TxType.Unknown],
    ['deposi', TxType.Unknown],
    ['depos1t', TxType.Unknown],
    ['withdraw', TxType.Unknown],
    ['with-drawal', TxType.Unknown],
    ['resolved', TxType.Unknown],
    ['chargebacks', TxType.Unknown],
    ['d\u00e9posit', TxType.Unknown],
    ['', TxType.Unknown],
  ])('given %j, then type %i', (text, type) => {
    expect(typeOf(text)).toBe(type);
  });
});

describe('parseUint: client and tx ids', () => {
  it.each([
    ['0', 65_535, 0],
    ['65535', 65_535, 65_535],
    ['65536', 65_535, -1],
    ['007', 65_535, 7],
    ['000000000000000065535', 65_535, 65_535],
    ['4294967295', 4_294_967_295, 4_294_967_295],
    ['4294967296', 4_294_967_295, -1],
    ['00004294967295', 4_294_967_295, 4_294_967_295],
    ['99999999999999999999', 4_294_967_295, -1],
    ['', 65_535, -1],
    ['+1', 65_535, -1],
    ['-1', 65_535, -1],
    ['-0', 65_535, -1],
    ['1 2', 65_535, -1],
    ['1.0', 65_535, -1],
    ['1e3', 65_535, -1],
    ['0x10', 65_535, -1],
  ])('given %j (max %i), then %i', (text, max, value) => {
    expect(uintOf(text, max)).toBe(value);
  });

  it.each([
    ['deposit,65535,1,1', 'OK'],
    ['deposit,65536,1,1', 'BAD_CLIENT'],
    ['deposit,,1,1', 'BAD_CLIENT'],
    ['deposit,1 2,1,1', 'BAD_CLIENT'],
    ['deposit,+1,1,1', 'BAD_CLIENT'],
    ['deposit,1,4294967295,1', 'OK'],
    ['deposit,1,4294967296,1', 'BAD_TX'],
    ['deposit,1,,1', 'BAD_TX'],
    ['deposit,1,-1,1', 'BAD_TX'],
    ['deposit,1,4 2,1', 'BAD_TX'],
  ])('given %j, then %s', (text, reason) => {
    expect(reasonOf(text)).toBe(reason);
  });
});

describe('parseAmount: digits[.digits] or .digits, 4 decimals at most, in (0, LIMIT]', () => {
  it.each([
    ['.5', 5_000],
    ['.0001', 1],
    ['007.1000', 71_000],
    ['1', 10_000],
    ['1.0000', 10_000],
    ['1.2345', 12_345],
    ['0.0001', 1],
    ['900719925474', 9_007_199_254_740_000],
    ['900719925474.0991', LIMIT],
    ['0000000000000000000001.5', 15_000],
    ['1.', -1],
    ['.', -1],
    ['', -1],
    ['1e3', -1],
    ['+1', -1],
    ['-1', -1],
    ['0', -1],
    ['0.0000', -1],
    ['000', -1],
    ['1.23456', -1],
    ['1.00000', -1],
    ['900719925474.0992', -1],
    ['900719925475', -1],
    ['99999999999999999999', -1],
    ['1.2.3', -1],
    ['1,5', -1],
    [' 1', -1],
    ['1 .5', -1],
    ['abc', -1],
  ])('given %j, then %i ten-thousandths', (text, units) => {
    expect(amountOf(text)).toBe(units);
  });
});
