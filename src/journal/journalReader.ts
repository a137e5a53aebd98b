import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { FRAME_BYTES, frameChecksum, type JournalRecord, MAX_PAYLOAD_BYTES, RECORD_MAGIC } from './format.js';

/**
 * How a reading of the journal ended: at its clean end, at a torn last record (a crash
 * mid-write: a bad frame with no good record after it), at damage (a bad frame with good records
 * after it), or where its reader chose to stop. `offset` is where the next record would start.
 */
export type JournalEnding =
  | { kind: 'clean'; offset: number }
  | { kind: 'torn'; offset: number; why: string }
  | { kind: 'damaged'; offset: number; why: string }
  | { kind: 'stopped'; offset: number };

/** What a reader does with one record: 'stop' ends the reading there (the ending is then 'stopped'). */
export type RecordVisit = (record: JournalRecord) => void | 'stop';

/**
 * The one way to read records: from byte `from` in order, each passed to `visit`, until the end
 * of the file, the first bad frame, or `visit` says stop; returns how it ended, which every
 * caller acts on (a 'damaged' ending is never taken for the end of the journal).
 */
export function readJournal(path: string, from: number, visit: RecordVisit): JournalEnding {
  const reader = new JournalReader(path, from);
  try {
    for (let record = reader.next(); record !== undefined; record = reader.next()) {
      if (visit(record) === 'stop') return { kind: 'stopped', offset: record.end };
    }
    return reader.ending;
  } finally {
    reader.close();
  }
}

const READ_BYTES = 1 << 20;
const SCAN_BYTES = READ_BYTES / 2;

/**
 * Reads records in order from a byte offset, checking each frame (magic, length, CRC). At the
 * first bad frame it stops and says why in `ending`: a bad frame after which no good record
 * follows is a torn write at the end (a crash), which recovery may cut off; a bad frame with
 * good records after it is damage, which nothing repairs silently. (Used through readJournal.)
 */
export class JournalReader {
  readonly size: number;
  private readonly fd: number;
  private buf = Buffer.allocUnsafeSlow(READ_BYTES);
  /** buf holds the file's bytes [bufAt, bufAt + bufLength). */
  private bufAt = 0;
  private bufLength = 0;
  private pos: number;
  private bad: (JournalEnding & { kind: 'torn' | 'damaged' }) | undefined;

  constructor(
    readonly path: string,
    from = 0,
  ) {
    this.fd = openSync(path, 'r');
    this.size = fstatSync(this.fd).size;
    this.pos = from;
  }

  /** Where the next record would start (after a bad frame: where it is). */
  get offset(): number {
    return this.pos;
  }

  /** How the reading ends: clean while no bad frame has been met (at the end: clean). */
  get ending(): JournalEnding {
    return this.bad ?? { kind: 'clean', offset: this.pos };
  }

  next(): JournalRecord | undefined {
    if (this.bad !== undefined || this.pos >= this.size) return undefined;
    const problem = this.frameProblem(this.pos);
    if (problem !== undefined) {
      this.bad = this.laterRecordAfter(this.pos)
        ? { kind: 'damaged', offset: this.pos, why: problem }
        : { kind: 'torn', offset: this.pos, why: problem };
      return undefined;
    }
    const length = this.buf.readUInt32LE(this.pos - this.bufAt + 4);
    const start = this.pos - this.bufAt;
    const record: JournalRecord = {
      kind: this.buf.readUInt8(start + 12),
      seq: this.buf.readUInt32LE(start + 16) + this.buf.readUInt32LE(start + 20) * 2 ** 32,
      offset: this.pos,
      end: this.pos + FRAME_BYTES + length,
      // A copy: the read buffer is reused.
      payload: Buffer.from(this.buf.subarray(start + FRAME_BYTES, start + FRAME_BYTES + length)),
    };
    this.pos = record.end;
    return record;
  }

  close(): void {
    closeSync(this.fd);
  }

  /** Why the frame at `at` is not a good record, or undefined; a good one is left loaded in buf. */
  private frameProblem(at: number): string | undefined {
    if (this.size - at < FRAME_BYTES) return `${this.size - at} bytes at the end, too few for a record`;
    this.load(at, FRAME_BYTES);
    const head = at - this.bufAt;
    if (this.buf.readUInt32LE(head) !== RECORD_MAGIC) return 'no record starts here (bad magic)';
    const length = this.buf.readUInt32LE(head + 4);
    if (length % 8 !== 0 || length > MAX_PAYLOAD_BYTES) return `impossible record length ${length}`;
    if (at + FRAME_BYTES + length > this.size) return `record of ${FRAME_BYTES + length} bytes runs past the end of the file`;
    this.load(at, FRAME_BYTES + length);
    const start = at - this.bufAt;
    const record = this.buf.subarray(start, start + FRAME_BYTES + length);
    if (frameChecksum(record) !== record.readUInt32LE(8)) return 'checksum mismatch';
    return undefined;
  }

  /** Whether any good record starts after `at` (then the bad frame at `at` is damage, not a torn end). */
  private laterRecordAfter(at: number): boolean {
    const magic = Buffer.alloc(4);
    magic.writeUInt32LE(RECORD_MAGIC);
    // Records are 8-byte aligned (every record's length is a multiple of 8): only those offsets can hold one.
    for (let p = (at + 8) & ~7; p + FRAME_BYTES <= this.size; ) {
      const span = Math.min(SCAN_BYTES, this.size - p);
      const limit = p + span;
      this.load(p, span);
      let found = this.buf.indexOf(magic, p - this.bufAt);
      while (found >= 0 && this.bufAt + found < limit) {
        const candidate = this.bufAt + found;
        if (candidate % 8 === 0) {
          if (this.frameProblem(candidate) === undefined) return true;
          this.load(p, span);
        }
        found = this.buf.indexOf(magic, candidate + 1 - this.bufAt);
      }
      p = limit;
    }
    return false;
  }

  /** Makes buf hold the file's bytes [at, at + bytes). */
  private load(at: number, bytes: number): void {
    if (at >= this.bufAt && at + bytes <= this.bufAt + this.bufLength) return;
    if (bytes > this.buf.length) this.buf = Buffer.allocUnsafeSlow(Math.max(bytes, 2 * this.buf.length));
    this.bufAt = at;
    this.bufLength = 0;
    while (this.bufLength < bytes) {
      const n = readSync(this.fd, this.buf, this.bufLength, this.buf.length - this.bufLength, at + this.bufLength);
      if (n === 0) break;
      this.bufLength += n;
    }
  }
}

