import { CLIENT_COUNT } from '../domain/ledgerState.js';
import { namesAccount, type RejectReason } from '../domain/rejectReason.js';
import { rowEvent } from '../io/rowEvent.js';

/**
 * The events of one committed batch as one binary stream entry (field `b`): per row its input,
 * line, outcome and, for a well-formed row, what it did and its account's balances after it
 * (41 bytes); for a row that was not well-formed its text instead. `payrun events` turns them
 * back into the NDJSON of `payrun stream` (rowEvent), one line per row.
 */
const VERSION = 1;
const HEADER = 7;
const ACCOUNT_ROW = 41;

export interface DecidedRow {
  input: number;
  line: number;
  reason: RejectReason;
  type: number;
  client: number;
  tx: number;
  amount: number;
  available: number;
  held: number;
  flags: number;
  /** The row's text (rows that name no account only). */
  text?: Buffer;
}

/** Collects a batch's decided rows into one buffer. */
export class EventWriter {
  private buf: Buffer;
  /** Over buf: DataView's setters are inlined by the JIT; Buffer's write*LE are calls with checks. */
  private view: DataView;
  private at = HEADER;
  count = 0;

  constructor(
    private readonly partition: number,
    rowsHint: number,
  ) {
    this.buf = Buffer.allocUnsafe(HEADER + rowsHint * ACCOUNT_ROW + 64);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  private room(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.at + bytes));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
    this.view = new DataView(bigger.buffer, bigger.byteOffset, bigger.length);
  }

  add(row: DecidedRow): void {
    this.addRow(row.input, row.line, row.reason, row.type, row.client, row.tx, row.amount, row.available, row.held, row.flags, row.text);
  }

  /** add() without an object per row (the consumer's hot path). */
  addRow(input: number, line: number, reason: RejectReason, type: number, client: number, tx: number, amount: number, available: number, held: number, flags: number, text?: Buffer): void {
    const wellFormed = namesAccount(reason);
    this.room(wellFormed ? ACCOUNT_ROW : 13 + (text?.length ?? 0));
    const b = this.buf;
    const v = this.view;
    let at = this.at;
    v.setUint32(at, input, true);
    v.setUint32(at + 4, line, true);
    b[at + 8] = reason;
    at += 9;
    if (wellFormed) {
      b[at] = type;
      v.setUint16(at + 1, client, true);
      v.setUint32(at + 3, tx, true);
      v.setFloat64(at + 7, amount, true);
      v.setFloat64(at + 15, available, true);
      v.setFloat64(at + 23, held, true);
      b[at + 31] = flags;
      at += 32;
    } else {
      const bytes = text ?? Buffer.alloc(0);
      v.setUint32(at, bytes.length, true);
      bytes.copy(b, at + 4);
      at += 4 + bytes.length;
    }
    this.at = at;
    this.count++;
  }

  /** The entry's bytes (a copy: the writer may be reused). */
  finish(): Buffer {
    this.buf[0] = VERSION;
    this.buf.writeUInt16LE(this.partition, 1);
    this.buf.writeUInt32LE(this.count, 3);
    return Buffer.from(this.buf.subarray(0, this.at));
  }
}

/** A batch entry's rows, in order; throws on bytes that are not one. */
export function decodeEvents(bytes: Buffer): { partition: number; rows: DecidedRow[] } {
  if (bytes.length < HEADER || bytes[0] !== VERSION) throw new Error('not a payrun events entry');
  const partition = bytes.readUInt16LE(1);
  const count = bytes.readUInt32LE(3);
  const rows: DecidedRow[] = [];
  let at = HEADER;
  for (let i = 0; i < count; i++) {
    const row: DecidedRow = { input: bytes.readUInt32LE(at), line: bytes.readUInt32LE(at + 4), reason: bytes[at + 8] as RejectReason, type: 0, client: 0, tx: 0, amount: 0, available: 0, held: 0, flags: 0 };
    at += 9;
    if (namesAccount(row.reason)) {
      row.type = bytes[at]!;
      row.client = bytes.readUInt16LE(at + 1);
      row.tx = bytes.readUInt32LE(at + 3);
      row.amount = bytes.readDoubleLE(at + 7);
      row.available = bytes.readDoubleLE(at + 15);
      row.held = bytes.readDoubleLE(at + 23);
      row.flags = bytes[at + 31]!;
      at += 32;
    } else {
      const length = bytes.readUInt32LE(at);
      row.text = bytes.subarray(at + 4, at + 4 + length);
      at += 4 + length;
    }
    rows.push(row);
  }
  if (at !== bytes.length) throw new Error('a payrun events entry with bytes left over');
  return { partition, rows };
}

/** One account's balances at a time, where rowEvent looks them up (by client). */
const view = { available: new Float64Array(CLIENT_COUNT), held: new Float64Array(CLIENT_COUNT), flags: new Uint8Array(CLIENT_COUNT) };

/** One decided row as today's NDJSON event (`payrun stream`'s line; the id is `<input>-<line>`). */
export function eventJson(row: DecidedRow, partition: number): string {
  view.available[row.client] = row.available;
  view.held[row.client] = row.held;
  view.flags[row.client] = row.flags;
  const decided = { type: row.type, client: row.client, tx: row.tx, amount: row.amount, reason: row.reason };
  return rowEvent({ line: row.line, id: `${row.input}-${row.line}`, partition }, decided, view, row.text?.toString('utf8') ?? '');
}
