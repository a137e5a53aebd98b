import { InputError } from './inputError.js';
import type { RowBatch } from './rowBatch.js';
import { ParsedRow, parsePlainLine, parseRow, splitFields } from './rowParser.js';

const LF = 10;
const CR = 13;
const TAB = 9;
const SPACE = 32;
const HEADER = ['type', 'client', 'tx', 'amount'];
const EXPECTED_HEADER = HEADER.join(',');

/**
 * Parses every line of buf[from, to) into batch (which must have room for them: rowCapacityFor).
 * A chunk ends on a line boundary except at the end of input. Blank lines are counted and
 * skipped. Pure and thread-agnostic: the same code runs in the main thread and in workers.
 */
export function parseLines(buf: Uint8Array, from: number, to: number, batch: RowBatch, row = new ParsedRow()): void {
  const { reason, type, client, tx, amount, line, start, end } = batch;
  let count = 0;
  let lineNo = 0;
  let pos = from;
  while (pos < to) {
    const first = pos;
    lineNo++;
    let stop = parsePlainLine(buf, first, to, row);
    if (stop >= 0) {
      // A plain row: its terminator is CR LF, LF, or the end.
      pos = stop + (buf[stop] === CR ? 2 : 1);
    } else {
      let next = buf.indexOf(LF, first);
      if (next < 0 || next >= to) next = to;
      stop = next;
      if (stop > first && buf[stop - 1] === CR) stop--;
      pos = next + 1;
      if (isBlank(buf, first, stop)) continue;
      parseRow(buf, first, stop, row);
    }
    reason[count] = row.reason;
    type[count] = row.type;
    client[count] = row.client;
    tx[count] = row.tx;
    amount[count] = row.amount;
    line[count] = lineNo;
    start[count] = first;
    end[count] = stop;
    count++;
  }
  batch.count = count;
  batch.lines = lineNo;
  batch.buf = buf;
}

/**
 * Finds the header: drops a leading BOM, skips blank lines, and checks the first non-blank line
 * (the header may only be preceded by blank lines, so this is done before any parallel work).
 */
export class HeaderReader {
  private lineNo = 0;
  private started = false;
  done = false;

  /** Scans chunk from its start; returns where the data rows begin (chunk.length if not yet). */
  scan(chunk: Uint8Array): number {
    let pos = 0;
    if (!this.started) {
      this.started = true;
      if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) pos = 3;
    }
    while (pos < chunk.length) {
      let next = chunk.indexOf(LF, pos);
      if (next < 0) next = chunk.length;
      let stop = next;
      if (stop > pos && chunk[stop - 1] === CR) stop--;
      const first = pos;
      pos = next + 1;
      this.lineNo++;
      if (isBlank(chunk, first, stop)) continue;
      this.check(chunk, first, stop);
      this.done = true;
      return Math.min(pos, chunk.length);
    }
    return chunk.length;
  }

  /** Lines consumed so far, the header's included. */
  get lines(): number {
    return this.lineNo;
  }

  private check(chunk: Uint8Array, start: number, end: number): void {
    const row = new ParsedRow();
    const fields = splitFields(chunk, start, end, row);
    let ok = fields === HEADER.length;
    for (let f = 0; ok && f < HEADER.length; f++) {
      const name = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).toString('latin1', row.fieldStart[f], row.fieldEnd[f]);
      ok = name.toLowerCase() === HEADER[f];
    }
    if (!ok) throw new InputError(`bad header, expected '${EXPECTED_HEADER}'`, this.lineNo, `found '${shownText(chunk, start, end)}'`);
  }
}

/** A line as it can be shown in one line of stderr: at most 60 characters, control bytes as '?'. */
function shownText(buf: Uint8Array, start: number, end: number): string {
  const text = Buffer.from(buf.buffer, buf.byteOffset, buf.length).toString('utf8', start, Math.min(end, start + 240));
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 60 ? `${clean.slice(0, 57)}...` : clean;
}

function isBlank(buf: Uint8Array, start: number, end: number): boolean {
  for (let p = start; p < end; p++) {
    const c = buf[p];
    if (c !== SPACE && c !== TAB) return false;
  }
  return true;
}
