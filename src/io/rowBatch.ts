/**
 * The rows of one chunk of input in fixed-width columns: what the parser decided about each row
 * and where its text is, so rejected rows can be written verbatim without a string per row.
 * All columns live in one (optionally shared) buffer, so a batch can be parsed in one thread
 * and decided in others without copying.
 */
export const BYTES_PER_ROW = 8 + 4 + 4 + 4 + 4 + 2 + 1 + 1;

/** The most rows a chunk of this many bytes can hold: every non-blank line is at least 2 bytes with its LF. */
export function rowCapacityFor(chunkBytes: number): number {
  return Math.ceil(chunkBytes / 2) + 1;
}

export class RowBatch {
  readonly capacity: number;
  readonly columns: ArrayBuffer | SharedArrayBuffer;
  /** Rows parsed. */
  count = 0;
  /** Physical lines the chunk held from where parsing started (blank ones included). */
  lines = 0;
  /** The chunk the rows were parsed from; start/end index into it. */
  buf: Uint8Array = new Uint8Array(0);
  readonly amount: Float64Array;
  readonly tx: Uint32Array;
  /** 1-based line number within the parsed part of the chunk. */
  readonly line: Uint32Array;
  readonly start: Uint32Array;
  readonly end: Uint32Array;
  readonly client: Uint16Array;
  readonly type: Uint8Array;
  /** RejectReason of the row shape (0 = well-formed), then the business outcome (0 = applied). */
  readonly reason: Uint8Array;

  constructor(capacity: number, columns?: ArrayBuffer | SharedArrayBuffer) {
    this.capacity = capacity;
    this.columns = columns ?? new ArrayBuffer(capacity * BYTES_PER_ROW);
    let offset = 0;
    const take = <T>(make: (buffer: ArrayBuffer | SharedArrayBuffer, at: number, n: number) => T, width: number): T => {
      const view = make(this.columns, offset, capacity);
      offset += width * capacity;
      return view;
    };
    this.amount = take((b, at, n) => new Float64Array(b, at, n), 8);
    this.tx = take((b, at, n) => new Uint32Array(b, at, n), 4);
    this.line = take((b, at, n) => new Uint32Array(b, at, n), 4);
    this.start = take((b, at, n) => new Uint32Array(b, at, n), 4);
    this.end = take((b, at, n) => new Uint32Array(b, at, n), 4);
    this.client = take((b, at, n) => new Uint16Array(b, at, n), 2);
    this.type = take((b, at, n) => new Uint8Array(b, at, n), 1);
    this.reason = take((b, at, n) => new Uint8Array(b, at, n), 1);
  }
}

/** Where a reported batch sits in the input. */
export interface BatchPlace {
  /** Byte offset in the input of the batch's chunk (row start offsets index into the chunk). */
  offset: number;
  /** Line number before the batch's first line: a row's line is base + batch.line[i]. */
  base: number;
  /** Where the input goes on after this batch: its byte offset and the lines read up to it. */
  nextOffset: number;
  nextLine: number;
}

// The journal's batch record strips the flag; it imports it from here.
export { DUPLICATE_FLAG } from '../domain/txType.js';
