import { type BatchPlace } from './rowBatch.js';
import { HeaderReader, parseLines } from './lineParser.js';
import { RowBatch, rowCapacityFor } from './rowBatch.js';
import { ParsedRow } from './rowParser.js';

/**
 * Turns the groups of whole lines read from standard input (wholeLines: as soon as a read holds
 * a line terminator, never waiting for a full chunk) into parsed row batches, with the header
 * checked first and every row's line and byte place in the input as `run()` numbers them, so
 * a group can be journaled as a Batch record exactly like a chunk of a file.
 */
export class LineGroups {
  private readonly header = new HeaderReader();
  private readonly row = new ParsedRow();
  private batch = new RowBatch(0);
  private offset: number;
  private lineBase: number;

  /** `start`: the input goes on after this many lines (header included) and bytes, read before (a resumed stream source). */
  constructor(start?: { offset: number; line: number }) {
    this.offset = start?.offset ?? 0;
    this.lineBase = start?.line ?? 0;
    if (start !== undefined && start.line > 0) this.header.done = true;
  }

  /** Parses one group (throws InputError on a bad header); the batch is reused by the next call. */
  take(group: Buffer): { batch: RowBatch; place: BatchPlace } {
    let from = 0;
    let skippedLines = 0;
    if (!this.header.done) {
      const before = this.header.lines;
      from = this.header.scan(group);
      skippedLines = this.header.lines - before;
    }
    const capacity = rowCapacityFor(group.length - from);
    if (this.batch.capacity < capacity) this.batch = new RowBatch(Math.max(capacity, 2 * this.batch.capacity));
    const batch = this.batch;
    parseLines(group, from, group.length, batch, this.row);
    const base = this.lineBase + skippedLines;
    const place: BatchPlace = { offset: this.offset, base, nextOffset: this.offset + group.length, nextLine: base + batch.lines };
    this.offset = place.nextOffset;
    this.lineBase = place.nextLine;
    return { batch, place };
  }

  /** The header line has been read and checked. */
  get started(): boolean {
    return this.header.done;
  }

  /** Lines read so far (header and blank lines included). */
  get lines(): number {
    return this.lineBase;
  }
}
