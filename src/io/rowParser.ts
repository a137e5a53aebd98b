import { LIMIT } from '../domain/money.js';
import { RejectReason } from '../domain/rejectReason.js';
import { TxType } from '../domain/txType.js';

/**
 * Parses one data row from bytes, with no allocation: splits it into fields under SPEC's
 * quoting rules, then checks the fields in SPEC section 4 order. Quotes can never span lines
 * (SPEC: a quoted field not closed on its own line is malformed), so a row is always one line.
 */

const TAB = 9;
const SPACE = 32;
const QUOTE = 34;
const COMMA = 44;
const DOT = 46;
const LF = 10;
const CR = 13;
const ZERO = 48;
const MAX_CLIENT = 65_535;
const MAX_TX = 4_294_967_295;
const MAX_WHOLE_UNITS = Math.floor(LIMIT / 10_000);
const FRACTION_SCALE = [10_000, 1_000, 100, 10, 1];

/** The parser's result for the last row: field bounds and the decoded values. */
export class ParsedRow {
  /** Start and end offsets of up to 5 fields (5 means "too many"). */
  readonly fieldStart = new Int32Array(5);
  readonly fieldEnd = new Int32Array(5);
  reason: RejectReason = RejectReason.None;
  type: TxType = TxType.Unknown;
  client = 0;
  tx = 0;
  amount = 0;
}

/** Splits buf[start, end) into trimmed field bounds; returns the field count (max 5) or -1 for broken quoting. */
export function splitFields(buf: Uint8Array, start: number, end: number, row: ParsedRow): number {
  const fieldStart = row.fieldStart;
  const fieldEnd = row.fieldEnd;
  let n = 0;
  let p = start;
  for (;;) {
    let c = 0;
    while (p < end && ((c = buf[p]!) === SPACE || c === TAB)) p++;
    let s = p;
    let e: number;
    if (p < end && c === QUOTE) {
      s = ++p;
      for (;;) {
        if (p >= end) return -1;
        if (buf[p] === QUOTE) {
          if (p + 1 < end && buf[p + 1] === QUOTE) p += 2;
          else break;
        } else p++;
      }
      e = p++;
      while (s < e && ((c = buf[s]!) === SPACE || c === TAB)) s++;
      while (e > s && ((c = buf[e - 1]!) === SPACE || c === TAB)) e--;
      while (p < end && ((c = buf[p]!) === SPACE || c === TAB)) p++;
      if (p < end && c !== COMMA) return -1;
    } else {
      while (p < end && (c = buf[p]!) !== COMMA) {
        if (c === QUOTE) return -1;
        p++;
      }
      e = p;
      while (e > s && ((c = buf[e - 1]!) === SPACE || c === TAB)) e--;
    }
    fieldStart[n] = s;
    fieldEnd[n] = e;
    n++;
    if (p >= end) return n;
    if (n === 5) return n;
    p++; // the comma; a comma at the very end opens one more, empty, field
  }
}

/**
 * The usual row's first field, `deposit,` or `withdrawal,` in lower case, matched in place, byte
 * by byte (one comparison each, no scan for the comma first and no second pass: parse 89 -> 71
 * ns a row on the generator's 1M rows). Any other spelling goes the way of parseType.
 */
function isLowerDepositComma(buf: Uint8Array, s: number, to: number): boolean {
  return (
    buf[s] === 0x64 && s + 7 < to && buf[s + 7] === COMMA && buf[s + 1] === 0x65 && buf[s + 2] === 0x70 && buf[s + 3] === 0x6f && buf[s + 4] === 0x73 && buf[s + 5] === 0x69 && buf[s + 6] === 0x74
  );
}

function isLowerWithdrawalComma(buf: Uint8Array, s: number, to: number): boolean {
  return (
    buf[s] === 0x77 && s + 10 < to && buf[s + 10] === COMMA && buf[s + 1] === 0x69 && buf[s + 2] === 0x74 && buf[s + 3] === 0x68 && buf[s + 4] === 0x64 &&
    buf[s + 5] === 0x72 && buf[s + 6] === 0x61 && buf[s + 7] === 0x77 && buf[s + 8] === 0x61 && buf[s + 9] === 0x6c
  );
}

/** Parses buf[start, end) (a non-blank data line without terminator) into row. */
export function parseRow(buf: Uint8Array, start: number, end: number, row: ParsedRow): void {
  if (parsePlainLine(buf, start, end, row) !== end) parseAnyRow(buf, start, end, row);
}

/**
 * The fast path: parses the line that starts at `start` (and ends at the next LF, or at `to`)
 * in one pass, without first looking for its end, if it is a well-formed row with no quotes and
 * no spaces (`deposit,1,7,2.5`). Returns where its text ends (before any CR LF), or -1 for
 * anything else, which then goes the general way; that way also finds the reject reason, so
 * this path only ever accepts, and accepts exactly what the general one would.
 */
export function parsePlainLine(buf: Uint8Array, start: number, to: number, row: ParsedRow): number {
  let p = start;
  let c = 0;
  let type: TxType;
  if (isLowerDepositComma(buf, start, to)) {
    type = TxType.Deposit;
    p = start + 7;
  } else if (isLowerWithdrawalComma(buf, start, to)) {
    type = TxType.Withdrawal;
    p = start + 10;
  } else {
    while (p < to && (c = buf[p]!) !== COMMA && c !== LF) p++;
    if (p === to || c !== COMMA) return -1;
    type = parseType(buf, start, p);
    if (type === TxType.Unknown) return -1;
  }
  // A digit is `(d = byte - ZERO) >>> 0 <= 9`: one unsigned comparison (a byte below '0' gives a
  // negative d, far above 9 as a u32). Inline: as a helper function it cost ~5 ns a row.
  let s = ++p;
  let client = 0;
  for (let d; p < to && (d = buf[p]! - ZERO) >>> 0 <= 9; p++) client = client * 10 + d;
  if (p === s || p === to || buf[p] !== COMMA || client > MAX_CLIENT) return -1;
  s = ++p;
  let tx = 0;
  for (let d; p < to && (d = buf[p]! - ZERO) >>> 0 <= 9; p++) tx = tx * 10 + d;
  if (p === s || tx > MAX_TX) return -1;
  let amount = 0;
  if (type === TxType.Deposit || type === TxType.Withdrawal) {
    if (p === to || buf[p] !== COMMA) return -1;
    s = ++p;
    let whole = 0;
    for (let d; p < to && (d = buf[p]! - ZERO) >>> 0 <= 9; p++) {
      whole = whole * 10 + d;
      if (whole > MAX_WHOLE_UNITS) return -1;
    }
    let fraction = 0;
    let fractionDigits = 0;
    if (p < to && buf[p] === DOT) {
      for (let d; ++p < to && (d = buf[p]! - ZERO) >>> 0 <= 9; ) {
        if (fractionDigits === 4) return -1;
        fraction = fraction * 10 + d;
        fractionDigits++;
      }
      if (fractionDigits === 0) return -1;
    } else if (p === s) return -1;
    amount = whole * 10_000 + fraction * FRACTION_SCALE[fractionDigits]!;
    if (amount <= 0 || amount > LIMIT) return -1;
  } else if (p < to && buf[p] === COMMA) {
    // The amount of a dispute, resolve or chargeback is ignored, but it must be one plain field.
    while (++p < to && (c = buf[p]!) !== LF && c !== CR) if (c === COMMA || c === QUOTE) return -1;
  }
  // The row must end here: at the end, or at a line terminator (CR LF, LF, or a CR at the end).
  if (p < to && (c = buf[p]!) !== LF) {
    if (c !== CR || (p + 1 < to && buf[p + 1] !== LF)) return -1;
  }
  row.reason = RejectReason.None;
  row.type = type;
  row.client = client;
  row.tx = tx;
  row.amount = amount;
  return p;
}

/** The general path: any row, split under the quoting rules, checked in SPEC section 4 order. */
function parseAnyRow(buf: Uint8Array, start: number, end: number, row: ParsedRow): void {
  const fields = splitFields(buf, start, end, row);
  row.type = TxType.Unknown;
  if (fields < 3 || fields > 4) {
    row.reason = RejectReason.MalformedRow;
    return;
  }
  const fs = row.fieldStart;
  const fe = row.fieldEnd;
  const type = parseType(buf, fs[0]!, fe[0]!);
  row.type = type;
  if (type === TxType.Unknown) {
    row.reason = RejectReason.UnknownType;
    return;
  }
  const client = parseUint(buf, fs[1]!, fe[1]!, MAX_CLIENT);
  if (client < 0) {
    row.reason = RejectReason.BadClient;
    return;
  }
  row.client = client;
  const tx = parseUint(buf, fs[2]!, fe[2]!, MAX_TX);
  if (tx < 0) {
    row.reason = RejectReason.BadTx;
    return;
  }
  row.tx = tx;
  row.amount = 0;
  if (type === TxType.Deposit || type === TxType.Withdrawal) {
    const amount = fields === 4 ? parseAmount(buf, fs[3]!, fe[3]!) : -1;
    if (amount < 0) {
      row.reason = RejectReason.BadAmount;
      return;
    }
    row.amount = amount;
  }
  row.reason = RejectReason.None;
}

/** Case-insensitive match of the five type names. `c | 0x20` lowercases letters and maps no other byte onto one. */
export function parseType(buf: Uint8Array, s: number, e: number): TxType {
  const len = e - s;
  if (len === 7) {
    const c0 = buf[s]! | 0x20;
    if (c0 === 0x64 /* d */) {
      if (matches(buf, s, DEPOSIT)) return TxType.Deposit;
      if (matches(buf, s, DISPUTE)) return TxType.Dispute;
    } else if (c0 === 0x72 /* r */ && matches(buf, s, RESOLVE)) return TxType.Resolve;
  } else if (len === 10) {
    const c0 = buf[s]! | 0x20;
    if (c0 === 0x77 /* w */ && matches(buf, s, WITHDRAWAL)) return TxType.Withdrawal;
    if (c0 === 0x63 /* c */ && matches(buf, s, CHARGEBACK)) return TxType.Chargeback;
  }
  return TxType.Unknown;
}

const bytesOf = (word: string): Uint8Array => Uint8Array.from(word, (c) => c.charCodeAt(0));
const DEPOSIT = bytesOf('deposit');
const DISPUTE = bytesOf('dispute');
const RESOLVE = bytesOf('resolve');
const WITHDRAWAL = bytesOf('withdrawal');
const CHARGEBACK = bytesOf('chargeback');

function matches(buf: Uint8Array, s: number, lower: Uint8Array): boolean {
  for (let i = 1; i < lower.length; i++) {
    if ((buf[s + i]! | 0x20) !== lower[i]) return false;
  }
  return true;
}

/** A plain decimal integer in 0..max (leading zeros allowed), or -1. */
export function parseUint(buf: Uint8Array, s: number, e: number, max: number): number {
  if (s >= e) return -1;
  let value = 0;
  for (let p = s; p < e; p++) {
    const d = buf[p]! - ZERO;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
    if (value > max) return -1;
  }
  return value;
}

/** `digits[.digits]` or `.digits`, at most 4 decimals, in (0, LIMIT], as ten-thousandths; else -1. */
export function parseAmount(buf: Uint8Array, s: number, e: number): number {
  let p = s;
  let whole = 0;
  while (p < e) {
    const d = buf[p]! - ZERO;
    if (d < 0 || d > 9) break;
    whole = whole * 10 + d;
    if (whole > MAX_WHOLE_UNITS) return -1;
    p++;
  }
  const wholeDigits = p - s;
  let fraction = 0;
  let fractionDigits = 0;
  if (p < e) {
    if (buf[p] !== DOT) return -1;
    p++;
    for (; p < e; p++) {
      const d = buf[p]! - ZERO;
      if (d < 0 || d > 9 || fractionDigits === 4) return -1;
      fraction = fraction * 10 + d;
      fractionDigits++;
    }
    if (fractionDigits === 0) return -1;
  } else if (wholeDigits === 0) return -1;
  // whole <= MAX_WHOLE_UNITS keeps this within 2^53 + 10^4: exact enough to compare with LIMIT (money.ts).
  const units = whole * 10_000 + fraction * FRACTION_SCALE[fractionDigits]!;
  return units > 0 && units <= LIMIT ? units : -1;
}
