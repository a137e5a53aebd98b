import { type BatchPlace } from '../io/rowBatch.js';
import type { RowBatch } from '../io/rowBatch.js';
import { DUPLICATE_FLAG } from '../io/rowBatch.js';
import { FRAME_BYTES } from './format.js';

/**
 * A Batch record's payload: where the batch sits in its input, then every row as fixed-width
 * columns (copied from the RowBatch as they are), then the text of each rejected row, so that
 * the rejects file and `journal replay` need no input file:
 *
 *   [u32 input][u32 rows][f64 offset][f64 base][f64 nextOffset][f64 nextLine][u32 text bytes][u32 0]
 *   amount f64[rows] · tx u32[rows] · line u32[rows] · start u32[rows] · client u16[rows] ·
 *   type u8[rows] · reason u8[rows] · (pad to 4) · per rejected row: [u32 length][bytes]
 *
 * A row's line is base + line[i]; its byte offset in the input is offset + start[i]; reason 0
 * means applied, 1–5 not well-formed, 6+ a business rejection.
 */
const HEADER_BYTES = 48;
export const BYTES_PER_JOURNAL_ROW = 8 + 4 + 4 + 4 + 2 + 1 + 1;

function columnsEnd(rows: number): number {
  return (HEADER_BYTES + rows * BYTES_PER_JOURNAL_ROW + 3) & ~3;
}

/** The payload size of a batch (for sizing the buffer it is written into). */
export function batchPayloadBytes(batch: RowBatch): number {
  let text = 0;
  for (let i = 0; i < batch.count; i++) if (batch.reason[i] !== 0) text += 4 + batch.end[i]! - batch.start[i]!;
  return columnsEnd(batch.count) + text;
}

/** Writes the payload at record[FRAME_BYTES...]; record must start 8-byte aligned in its ArrayBuffer. */
export function writeBatchPayload(record: Buffer, input: number, batch: RowBatch, place: BatchPlace): number {
  const n = batch.count;
  const at = record.byteOffset + FRAME_BYTES;
  const ab = record.buffer;
  const view = new DataView(ab, at);
  view.setUint32(0, input, true);
  view.setUint32(4, n, true);
  view.setFloat64(8, place.offset, true);
  view.setFloat64(16, place.base, true);
  view.setFloat64(24, place.nextOffset, true);
  view.setFloat64(32, place.nextLine, true);
  view.setUint32(44, 0, true);
  let p = at + HEADER_BYTES;
  new Float64Array(ab, p, n).set(batch.amount.subarray(0, n));
  p += 8 * n;
  new Uint32Array(ab, p, n).set(batch.tx.subarray(0, n));
  p += 4 * n;
  new Uint32Array(ab, p, n).set(batch.line.subarray(0, n));
  p += 4 * n;
  new Uint32Array(ab, p, n).set(batch.start.subarray(0, n));
  p += 4 * n;
  new Uint16Array(ab, p, n).set(batch.client.subarray(0, n));
  p += 2 * n;
  const types = new Uint8Array(ab, p, n);
  types.set(batch.type.subarray(0, n));
  // The sharded engine marks a duplicate's type in memory; the journal holds the plain type
  // (a replay by one ledger finds the duplicate itself).
  for (let i = 0; i < n; i++) if (types[i]! & DUPLICATE_FLAG) types[i] = types[i]! & ~DUPLICATE_FLAG;
  p += n;
  new Uint8Array(ab, p, n).set(batch.reason.subarray(0, n));
  const textStart = columnsEnd(n);
  let q = textStart;
  const { reason, start, end, buf } = batch;
  for (let i = 0; i < n; i++) {
    if (reason[i] === 0) continue;
    const length = end[i]! - start[i]!;
    view.setUint32(q, length, true);
    record.set(buf.subarray(start[i]!, end[i]!), FRAME_BYTES + q + 4);
    q += 4 + length;
  }
  view.setUint32(40, q - textStart, true);
  return q;
}

/** A Batch record read back. */
export interface JournalBatch {
  input: number;
  rows: number;
  offset: number;
  base: number;
  nextOffset: number;
  nextLine: number;
  amount: Float64Array;
  tx: Uint32Array;
  line: Uint32Array;
  start: Uint32Array;
  client: Uint16Array;
  type: Uint8Array;
  reason: Uint8Array;
  /** The text of each rejected row, in row order. */
  rejectedText: Buffer[];
}

export function readBatchPayload(payload: Buffer): JournalBatch {
  // Typed views need alignment: copy a payload that does not start on 8 bytes.
  const bytes = payload.byteOffset % 8 === 0 ? payload : Buffer.from(new Uint8Array(payload));
  if (bytes.length < HEADER_BYTES) throw new RangeError('batch record too short');
  const ab = bytes.buffer;
  const view = new DataView(ab, bytes.byteOffset, bytes.length);
  const n = view.getUint32(4, true);
  if (columnsEnd(n) > bytes.length) throw new RangeError('batch record shorter than its rows');
  let p = bytes.byteOffset + HEADER_BYTES;
  const take = <T>(make: (at: number) => T, width: number): T => {
    const column = make(p);
    p += width * n;
    return column;
  };
  const batch: JournalBatch = {
    input: view.getUint32(0, true),
    rows: n,
    offset: view.getFloat64(8, true),
    base: view.getFloat64(16, true),
    nextOffset: view.getFloat64(24, true),
    nextLine: view.getFloat64(32, true),
    amount: take((at) => new Float64Array(ab, at, n), 8),
    tx: take((at) => new Uint32Array(ab, at, n), 4),
    line: take((at) => new Uint32Array(ab, at, n), 4),
    start: take((at) => new Uint32Array(ab, at, n), 4),
    client: take((at) => new Uint16Array(ab, at, n), 2),
    type: take((at) => new Uint8Array(ab, at, n), 1),
    reason: take((at) => new Uint8Array(ab, at, n), 1),
    rejectedText: [],
  };
  let q = columnsEnd(n);
  for (let i = 0; i < n; i++) {
    if (batch.reason[i] === 0) continue;
    if (q + 4 > bytes.length) throw new RangeError('batch record shorter than its rejected rows');
    const length = view.getUint32(q, true);
    if (q + 4 + length > bytes.length) throw new RangeError('batch record shorter than its rejected rows');
    batch.rejectedText.push(bytes.subarray(q + 4, q + 4 + length));
    q += 4 + length;
  }
  return batch;
}
