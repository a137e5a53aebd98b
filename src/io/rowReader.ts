import { InputError } from './inputError.js';
import type { RowBatch } from './rowBatch.js';
import { ParsedRow, parseRow, splitFields } from './rowParser.js';

const LF = 10;
const CR = 13;
const TAB = 9;
const SPACE = 32;
const HEADER = ['type', 'client', 'tx', 'amount'];
export const EXPECTED_HEADER = HEADER.join(',');

/**
 * Turns chunks of whole lines, in order, into RowBatches: counts physical lines, drops the BOM,
 * skips blank lines, checks the header (the first non-blank line) and parses every data row.
 */
export class RowReader {
  private lineNo = 0;
  private headerSeen = false;
  private firstChunk = true;
  private readonly row = new ParsedRow();

  /** Lines read so far, blank and header lines included. */
  get lines(): number {
    return this.lineNo;
  }

  /** Parses every line of chunk (the last one may lack its terminator) into batch. */
  read(chunk: Buffer, batch: RowBatch): void {
    batch.reset(chunk);
    const row = this.row;
    let pos = 0;
    if (this.firstChunk) {
      this.firstChunk = false;
      if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) pos = 3;
    }
    const length = chunk.length;
    while (pos < length) {
      let next = chunk.indexOf(LF, pos);
      if (next < 0) next = length;
      let end = next;
      if (end > pos && chunk[end - 1] === CR) end--;
      const start = pos;
      pos = next + 1;
      this.lineNo++;
      if (isBlank(chunk, start, end)) continue;
      if (!this.headerSeen) {
        this.checkHeader(chunk, start, end);
        this.headerSeen = true;
        continue;
      }
      parseRow(chunk, start, end, row);
      batch.ensureRoom();
      const i = batch.count++;
      batch.reason[i] = row.reason;
      batch.type[i] = row.type;
      batch.client[i] = row.client;
      batch.tx[i] = row.tx;
      batch.amount[i] = row.amount;
      batch.line[i] = this.lineNo;
      batch.start[i] = start;
      batch.end[i] = end;
    }
  }

  private checkHeader(chunk: Buffer, start: number, end: number): void {
    const row = this.row;
    const fields = splitFields(chunk, start, end, row);
    let ok = fields === HEADER.length;
    for (let f = 0; ok && f < HEADER.length; f++) {
      const name = chunk.toString('latin1', row.fieldStart[f], row.fieldEnd[f]).toLowerCase();
      ok = name === HEADER[f];
    }
    if (!ok) throw new InputError(`bad header, expected '${EXPECTED_HEADER}'`, this.lineNo);
  }
}

function isBlank(buf: Buffer, start: number, end: number): boolean {
  for (let p = start; p < end; p++) {
    const c = buf[p];
    if (c !== SPACE && c !== TAB) return false;
  }
  return true;
}

