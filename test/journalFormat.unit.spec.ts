// The journal's pure parts: framing and checksums, the Batch payload, snapshot files, how the
// reader tells a torn end from damage, and the Replayer's checks (sequence, decisions).
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../src/domain/ledger.js';
import { stateDifference } from '../src/domain/ledgerState.js';
import { RejectReason } from '../src/domain/rejectReason.js';
import { type BatchPlace } from '../src/io/rowBatch.js';
import { parseLines } from '../src/io/lineParser.js';
import { RowBatch, rowCapacityFor } from '../src/io/rowBatch.js';
import { batchPayloadBytes, readBatchPayload, writeBatchPayload } from '../src/journal/batchRecord.js';
import {
  FRAME_BYTES,
  frameChecksum,
  type JournalRecord,
  jsonPayloadBytes,
  padded,
  readJsonPayload,
  RECORD_MAGIC,
  RecordKind,
  sealFrame,
  writeJsonPayload,
} from '../src/journal/format.js';
import type { InputEntry } from '../src/journal/inputs.js';
import { type JournalEnding, JournalReader, readJournal } from '../src/journal/journalReader.js';
import { JournalDamaged } from '../src/journal/journalError.js';
import { journaledRejects } from '../src/journal/journaledRejects.js';
import { JournalWriter } from '../src/journal/journalWriter.js';
import { Replayer } from '../src/journal/replayer.js';
import { decodeSnapshot, encodeSnapshot, readSnapshotFile, snapshotName, writeSnapshotFile } from '../src/journal/snapshotFile.js';

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'payrun-journal-unit-'));
});
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});
let fileSeq = 0;
const tempPath = (name: string): string => join(tmp, `${fileSeq++}-${name}`);

/** Data rows (no header) parsed into a batch, each well-formed row then decided by `ledger` as the engine does. */
function decidedBatch(rows: string[], ledger: Ledger): { batch: RowBatch; text: Buffer } {
  const text = Buffer.from(rows.map((row) => `${row}\n`).join(''));
  const batch = new RowBatch(rowCapacityFor(text.length));
  parseLines(text, 0, text.length, batch);
  for (let i = 0; i < batch.count; i++) {
    if (batch.reason[i] !== RejectReason.None) continue;
    batch.reason[i] = ledger.apply(batch.type[i]!, batch.client[i]!, batch.tx[i]!, batch.amount[i]!, false);
  }
  return { batch, text };
}

/** A sealed record (frame and payload) as it would be in the file. */
function sealed(kind: RecordKind, seq: number, payloadBytes: number, write: (record: Buffer) => number): Buffer {
  const record = Buffer.allocUnsafeSlow(FRAME_BYTES + payloadBytes + 8);
  const total = sealFrame(record, kind, seq, write(record));
  return Buffer.from(record.subarray(0, total));
}

function asRecord(bytes: Buffer, offset = 0): JournalRecord {
  const length = bytes.readUInt32LE(4);
  return {
    kind: bytes.readUInt8(12),
    seq: bytes.readUInt32LE(16) + bytes.readUInt32LE(20) * 2 ** 32,
    offset,
    end: offset + FRAME_BYTES + length,
    payload: Buffer.from(bytes.subarray(FRAME_BYTES, FRAME_BYTES + length)),
  };
}

function jsonRecord(kind: RecordKind, seq: number, value: unknown): Buffer {
  return sealed(kind, seq, jsonPayloadBytes(value), (record) => writeJsonPayload(record, value));
}

function batchRecord(seq: number, input: number, batch: RowBatch, place: BatchPlace): Buffer {
  return sealed(RecordKind.Batch, seq, batchPayloadBytes(batch), (record) => writeBatchPayload(record, input, batch, place));
}

const DAY1 = [
  'deposit,1,1,10.0',
  'deposit,2,2,5.5',
  'withdrawal,1,3,20', // INSUFFICIENT_FUNDS
  'deposit,1,1,1', // DUPLICATE_TX
  'bogus,1,9,1', // UNKNOWN_TYPE
  'dispute,1,1',
  'withdrawal,2,4,0.5',
  'deposit,3,5,1.2345',
  'resolve,1,1',
  'dispute,2,2',
  'chargeback,2,2',
];

describe('frame: seal and checksum', () => {
  it('writes magic, padded length, kind, seq and a CRC that frameChecksum reproduces', () => {
    const value = { format: 1, created: 'x' };
    const record = jsonRecord(RecordKind.Start, 0x1_0000_0005, value);
    expect(record.readUInt32LE(0)).toBe(RECORD_MAGIC);
    expect(record.toString('latin1', 0, 4)).toBe('JRNL');
    const length = record.readUInt32LE(4);
    expect(length % 8).toBe(0);
    expect(length).toBe(padded(jsonPayloadBytes(value)));
    expect(record.length).toBe(FRAME_BYTES + length);
    expect(record.readUInt8(12)).toBe(RecordKind.Start);
    expect([record[13], record[14], record[15]]).toEqual([0, 0, 0]);
    expect(record.readUInt32LE(16)).toBe(5);
    expect(record.readUInt32LE(20)).toBe(1);
    expect(record.readUInt32LE(8)).toBe(frameChecksum(record));
    // The padding after the payload is zero, whatever the buffer held before.
    expect([...record.subarray(FRAME_BYTES + jsonPayloadBytes(value))].every((b) => b === 0)).toBe(true);
    expect(readJsonPayload(asRecord(record).payload)).toEqual(value);
  });

  it('covers magic, length and everything after the CRC field: any flipped byte fails it', () => {
    const record = jsonRecord(RecordKind.InputEnd, 7, { input: 0, rows: 3, lines: 4 });
    for (let at = 0; at < record.length; at++) {
      const damaged = Buffer.from(record);
      damaged[at]! ^= 0x01;
      expect(frameChecksum(damaged) === damaged.readUInt32LE(8), `byte ${at}`).toBe(false);
    }
  });

  it('is zlib CRC-32 over bytes [0,8) then [12,end)', () => {
    const record = jsonRecord(RecordKind.InputBegin, 2, { input: 0, sha256: 'ab', size: 1, name: 'a.csv' });
    expect(frameChecksum(record)).toBe(crc32(record.subarray(12), crc32(record.subarray(0, 8))));
  });
});

describe('batch payload', () => {
  it('round-trips every column and the text of each rejected row', () => {
    const { batch, text } = decidedBatch(DAY1, new Ledger());
    const place: BatchPlace = { offset: 4096, base: 10, nextOffset: 4096 + text.length, nextLine: 10 + batch.lines };
    const record = batchRecord(3, 2, batch, place);
    expect(record.length % 8).toBe(0);
    const read = readBatchPayload(asRecord(record).payload);
    const n = batch.count;
    expect(read.input).toBe(2);
    expect(read.rows).toBe(n);
    expect([read.offset, read.base, read.nextOffset, read.nextLine]).toEqual([place.offset, place.base, place.nextOffset, place.nextLine]);
    expect([...read.amount]).toEqual([...batch.amount.subarray(0, n)]);
    expect([...read.tx]).toEqual([...batch.tx.subarray(0, n)]);
    expect([...read.line]).toEqual([...batch.line.subarray(0, n)]);
    expect([...read.start]).toEqual([...batch.start.subarray(0, n)]);
    expect([...read.client]).toEqual([...batch.client.subarray(0, n)]);
    expect([...read.type]).toEqual([...batch.type.subarray(0, n)]);
    expect([...read.reason]).toEqual([...batch.reason.subarray(0, n)]);
    const rejected = DAY1.filter((_, i) => batch.reason[i] !== RejectReason.None);
    expect([...read.reason]).toEqual([0, 0, 9, 6, 2, 0, 0, 0, 0, 0, 0]);
    expect(read.rejectedText.map((b) => b.toString('utf8'))).toEqual(rejected);
  });

  it('reads a payload that does not start 8-byte aligned', () => {
    const { batch, text } = decidedBatch(DAY1, new Ledger());
    const record = batchRecord(3, 0, batch, { offset: 0, base: 1, nextOffset: text.length, nextLine: 1 + batch.lines });
    const payload = asRecord(record).payload;
    const shifted = Buffer.alloc(payload.length + 3).subarray(3);
    payload.copy(shifted);
    expect(shifted.byteOffset % 8).not.toBe(0);
    const read = readBatchPayload(shifted);
    expect([...read.tx]).toEqual([...batch.tx.subarray(0, batch.count)]);
    expect([...read.amount]).toEqual([...batch.amount.subarray(0, batch.count)]);
  });

  it('an empty batch round-trips', () => {
    const batch = new RowBatch(4);
    const read = readBatchPayload(asRecord(batchRecord(5, 1, batch, { offset: 9, base: 3, nextOffset: 9, nextLine: 3 })).payload);
    expect(read.rows).toBe(0);
    expect(read.rejectedText).toEqual([]);
  });

  it('a payload cut short is refused, not read past its end', () => {
    const { batch, text } = decidedBatch(DAY1, new Ledger());
    const payload = asRecord(batchRecord(3, 0, batch, { offset: 0, base: 1, nextOffset: text.length, nextLine: 12 })).payload;
    expect(() => readBatchPayload(payload.subarray(0, 40))).toThrow(RangeError);
    expect(() => readBatchPayload(payload.subarray(0, 100))).toThrow(RangeError);
    expect(() => readBatchPayload(payload.subarray(0, payload.length - 16))).toThrow(RangeError);
  });
});

describe('snapshot file', () => {
  const inputs: InputEntry[] = [
    { index: 0, kind: 'file', sha256: 'f'.repeat(64), size: 123, name: 'day1.csv', journalOffset: 80, complete: true, nextOffset: 123, nextLine: 12, rows: 11, rejected: 3 },
  ];

  it('encode/decode round-trips seq, offset, inputs and the whole state', () => {
    const ledger = new Ledger();
    decidedBatch(DAY1, ledger);
    const state = ledger.exportState();
    const bytes = encodeSnapshot({ seq: 42, journalOffset: 9000, inputs, state });
    expect(bytes.toString('latin1', 0, 8)).toBe('PAYRUNSS');
    const back = decodeSnapshot(bytes);
    expect(back.seq).toBe(42);
    expect(back.journalOffset).toBe(9000);
    expect(back.inputs).toEqual(inputs);
    expect(stateDifference(back.state, state)).toBeUndefined();
    expect(back.state.txAmounts.length).toBe(state.txAmounts.length);
    // A ledger restored from it decides the next rows as the original does.
    const restored = Ledger.fromState(back.state);
    for (const [type, client, tx, amount] of [[3, 1, 1, 0], [2, 1, 7, 4], [1, 2, 2, 1], [4, 2, 2, 0]] as const) {
      expect(restored.apply(type, client, tx, amount, false)).toBe(ledger.apply(type, client, tx, amount, false));
    }
  });

  it('an empty ledger round-trips', () => {
    const state = new Ledger().exportState();
    const back = decodeSnapshot(encodeSnapshot({ seq: 1, journalOffset: 80, inputs: [], state }));
    expect(stateDifference(back.state, state)).toBeUndefined();
    expect(back.inputs).toEqual([]);
  });

  it('any flipped byte, a cut or an extension is detected', () => {
    const ledger = new Ledger();
    decidedBatch(DAY1, ledger);
    const bytes = encodeSnapshot({ seq: 42, journalOffset: 9000, inputs, state: ledger.exportState() });
    // A sample of positions over every section (header, balances, txs, flags, JSON, CRC).
    const positions = [0, 9, 17, 30, 48, 48 + 8 * 1, 48 + 8 * 65_536 + 16, bytes.length - 200, bytes.length - 40, bytes.length - 5, bytes.length - 1];
    for (const at of positions) {
      const damaged = Buffer.from(bytes);
      damaged[at]! ^= 0x20;
      expect(() => decodeSnapshot(damaged), `byte ${at}`).toThrow();
    }
    expect(() => decodeSnapshot(bytes.subarray(0, bytes.length - 8))).toThrow();
    expect(() => decodeSnapshot(Buffer.concat([bytes, Buffer.alloc(8)]))).toThrow();
    expect(() => decodeSnapshot(Buffer.alloc(10))).toThrow(/not a payrun snapshot/);
    const flipped = Buffer.from(bytes);
    flipped[48 + 8]! ^= 0x01;
    expect(() => decodeSnapshot(flipped)).toThrow(/checksum mismatch/);
  });

  it('writeSnapshotFile names the file by seq and readSnapshotFile reads it back (size and CRC as written)', () => {
    const dir = mkdtempSync(join(tmp, 'snap-'));
    const ledger = new Ledger();
    decidedBatch(DAY1, ledger);
    const written = writeSnapshotFile(dir, { seq: 17, journalOffset: 512, inputs, state: ledger.exportState() }, false);
    expect(written.file).toBe('snapshot-000000000017.bin');
    expect(snapshotName(17)).toBe(written.file);
    const read = readSnapshotFile(dir, written.file);
    expect(read.bytes).toBe(written.bytes);
    expect(read.crc).toBe(written.crc);
    expect(read.snapshot.seq).toBe(17);
    expect(stateDifference(read.snapshot.state, ledger.exportState())).toBeUndefined();
    const path = join(dir, written.file);
    const bytes = readFileSync(path);
    bytes[1000]! ^= 0xff;
    writeFileSync(path, bytes);
    expect(() => readSnapshotFile(dir, written.file)).toThrow(/checksum mismatch/);
  });
});

/** A journal of: Start, InputBegin, three batches of one input, InputEnd — written by the real writer. */
function writeJournal(): { path: string; offsets: number[]; ends: number[]; rows: string[][] } {
  const path = tempPath('journal.log');
  writeFileSync(path, '');
  const writer = new JournalWriter(path, 0, 0, 'off');
  const offsets: number[] = [];
  const json = (kind: RecordKind, value: unknown): void => {
    offsets.push(writer.append(kind, jsonPayloadBytes(value), (record) => writeJsonPayload(record, value)));
  };
  json(RecordKind.Start, { format: 1, created: 'now' });
  json(RecordKind.InputBegin, { input: 0, sha256: 'a'.repeat(64), size: 1000, name: 'day1.csv' });
  const ledger = new Ledger();
  const rows = [DAY1.slice(0, 4), DAY1.slice(4, 8), DAY1.slice(8)];
  // As run() reports them: the first chunk starts at byte 0 and holds the header (line 1) before its rows.
  const header = 'type,client,tx,amount\n'.length;
  let offset = 0;
  let line = 1;
  for (const part of rows) {
    const { batch, text } = decidedBatch(part, ledger);
    const bytes = (offset === 0 ? header : 0) + text.length;
    const place: BatchPlace = { offset, base: line, nextOffset: offset + bytes, nextLine: line + batch.lines };
    offsets.push(writer.append(RecordKind.Batch, batchPayloadBytes(batch), (record) => writeBatchPayload(record, 0, batch, place)));
    offset = place.nextOffset;
    line = place.nextLine;
  }
  json(RecordKind.InputEnd, { input: 0, rows: DAY1.length, lines: line });
  const size = writer.offset;
  void writer.close();
  const ends = [...offsets.slice(1), size];
  return { path, offsets, ends, rows };
}

function readAll(path: string): { records: JournalRecord[]; tail: JournalEnding } {
  const records: JournalRecord[] = [];
  const tail = readJournal(path, 0, (record) => {
    records.push(record);
  });
  return { records, tail };
}

function flipByte(path: string, at: number): void {
  const bytes = readFileSync(path);
  bytes[at]! ^= 0x10;
  writeFileSync(path, bytes);
}

describe('JournalReader: clean, torn or corrupt', () => {
  it('reads every record of a sound journal, in order, 8-byte aligned, and ends clean', () => {
    const { path, offsets, ends } = writeJournal();
    const { records, tail } = readAll(path);
    expect(tail).toEqual({ kind: 'clean', offset: ends[5] });
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(records.map((r) => r.kind)).toEqual([1, 2, 3, 3, 3, 4]);
    expect(records.map((r) => r.offset)).toEqual(offsets);
    expect(records.map((r) => r.end)).toEqual(ends);
    for (const r of records) expect(r.offset % 8).toBe(0);
    // A reader that stops says where: the ending is 'stopped' just past the record it stopped at.
    let count = 0;
    expect(readJournal(path, 0, () => (++count === 2 ? 'stop' : undefined))).toEqual({ kind: 'stopped', offset: ends[1] });
    expect(count).toBe(2);
  });

  it('can start reading at a record boundary', () => {
    const { path, offsets } = writeJournal();
    const reader = new JournalReader(path, offsets[3]!);
    expect(reader.next()?.seq).toBe(4);
    reader.close();
    const seqs: number[] = [];
    expect(readJournal(path, offsets[3]!, (record) => void seqs.push(record.seq)).kind).toBe('clean');
    expect(seqs).toEqual([4, 5, 6]);
  });

  it('a file cut mid-record (the last, or a middle one with everything after it gone) is a torn tail at that record', () => {
    for (const [index, into] of [[5, 30], [5, 8], [4, 60], [2, FRAME_BYTES + 1], [3, 3]] as const) {
      const { path, offsets } = writeJournal();
      truncateSync(path, offsets[index]! + into);
      const { records, tail } = readAll(path);
      expect(records.length, `cut in record ${index + 1}`).toBe(index);
      expect(tail.kind).toBe('torn');
      expect((tail as { offset: number }).offset).toBe(offsets[index]);
    }
  });

  it('a cut exactly at a record boundary is a clean (shorter) journal', () => {
    const { path, offsets } = writeJournal();
    truncateSync(path, offsets[4]!);
    const { records, tail } = readAll(path);
    expect(records.length).toBe(4);
    expect(tail).toEqual({ kind: 'clean', offset: offsets[4] });
  });

  it('a flipped byte in a middle record (payload, CRC, length or magic) is corruption: good records follow', () => {
    for (const where of ['payload', 'crc', 'length', 'magic', 'kind', 'seq'] as const) {
      const { path, offsets } = writeJournal();
      const at = offsets[3]!;
      const delta = { payload: FRAME_BYTES + 20, crc: 9, length: 5, magic: 1, kind: 12, seq: 16 }[where];
      flipByte(path, at + delta);
      const { records, tail } = readAll(path);
      expect(records.length, where).toBe(3);
      expect(tail.kind, where).toBe('damaged');
      expect((tail as { offset: number }).offset).toBe(at);
    }
  });

  it('a flipped byte in the first record is corruption too', () => {
    const { path } = writeJournal();
    flipByte(path, FRAME_BYTES + 6);
    const { records, tail } = readAll(path);
    expect(records.length).toBe(0);
    expect(tail).toMatchObject({ kind: 'damaged', offset: 0 });
  });

  it('a flipped byte in the last record is a torn tail (nothing good after it)', () => {
    const { path, offsets } = writeJournal();
    flipByte(path, offsets[5]! + FRAME_BYTES + 2);
    const { records, tail } = readAll(path);
    expect(records.length).toBe(5);
    expect(tail).toMatchObject({ kind: 'torn', offset: offsets[5] });
  });

  it('garbage or zeros after the last record are a torn tail', () => {
    for (const extra of [Buffer.alloc(5), Buffer.alloc(4096), Buffer.from('JRNLJRNLJRNLJRNLJRNLJRNLJRNLJRNL')]) {
      const { path, ends } = writeJournal();
      writeFileSync(path, Buffer.concat([readFileSync(path), extra]));
      const { records, tail } = readAll(path);
      expect(records.length).toBe(6);
      expect(tail).toMatchObject({ kind: 'torn', offset: ends[5] });
    }
  });

  it('a damaged record followed only by a torn one is a torn tail at the damaged record (no good record after it)', () => {
    // Damage in record 5 and a cut in record 6: no good record after record 5, so a torn tail at 5.
    const { path, offsets } = writeJournal();
    flipByte(path, offsets[4]! + FRAME_BYTES + 3);
    truncateSync(path, offsets[5]! + 10);
    expect(readAll(path).tail).toMatchObject({ kind: 'torn', offset: offsets[4] });
  });
});

describe('Replayer', () => {
  function journalRecords(): JournalRecord[] {
    return readAll(writeJournal().path).records;
  }

  it('replays a sound journal with no problem to the ledger the decisions came from', () => {
    const replayer = new Replayer();
    for (const record of journalRecords()) replayer.apply(record);
    expect(replayer.problems).toEqual([]);
    expect(replayer.seq).toBe(6);
    expect(replayer.rows).toBe(DAY1.length);
    expect(replayer.inputs).toHaveLength(1);
    expect(replayer.inputs[0]).toMatchObject({ complete: true, rows: DAY1.length, rejected: 3, name: 'day1.csv' });
    const expected = new Ledger();
    decidedBatch(DAY1, expected);
    expect(stateDifference(replayer.ledger.exportState(), expected.exportState())).toBeUndefined();
  });

  it('a record applied twice (a duplicated record) is a sequence break', () => {
    const records = journalRecords();
    const replayer = new Replayer();
    for (const record of [...records.slice(0, 4), records[3]!, ...records.slice(4)]) replayer.apply(record);
    expect(replayer.problems.length).toBeGreaterThan(0);
    expect(replayer.problems[0]).toMatch(/^record 4 at byte \d+: out of sequence: expected record 5/);
  });

  it('a duplicated JSON record is a sequence break too', () => {
    const records = journalRecords();
    const replayer = new Replayer();
    for (const record of [records[0]!, records[1]!, records[1]!]) replayer.apply(record);
    expect(replayer.problems[0]).toMatch(/record 2 .*out of sequence: expected record 3/);
  });

  it('a missing record is a sequence break', () => {
    const records = journalRecords();
    const replayer = new Replayer();
    for (const record of [...records.slice(0, 3), ...records.slice(4)]) replayer.apply(record);
    expect(replayer.problems[0]).toMatch(/record 5 .*out of sequence: expected record 4/);
  });

  it('a recorded decision the ledger does not reach again is an outcome mismatch', () => {
    const records = journalRecords();
    // Rewrite record 3 (rows 1-4): the applied deposit of line 2 said to be INSUFFICIENT_FUNDS, resealed so the frame is sound.
    const original = records[2]!;
    const batch = readBatchPayload(original.payload);
    expect(batch.reason[0]).toBe(RejectReason.None);
    const ledger = new Ledger();
    const { batch: rows } = decidedBatch(DAY1.slice(0, 4), ledger);
    rows.reason[0] = RejectReason.InsufficientFunds;
    const place: BatchPlace = { offset: batch.offset, base: batch.base, nextOffset: batch.nextOffset, nextLine: batch.nextLine };
    const tampered = asRecord(batchRecord(3, 0, rows, place), original.offset);
    const replayer = new Replayer();
    for (const record of [records[0]!, records[1]!, tampered, ...records.slice(3)]) replayer.apply(record);
    expect(replayer.problems.length).toBeGreaterThan(0);
    expect(replayer.problems[0]).toBe(`record 3 at byte ${original.offset}: line 2: replay decides APPLIED, the journal says INSUFFICIENT_FUNDS`);
  });

  it('a business rejection recorded as applied is a mismatch', () => {
    const records = journalRecords();
    const original = records[2]!;
    const { batch: rows } = decidedBatch(DAY1.slice(0, 4), new Ledger());
    expect(rows.reason[2]).toBe(RejectReason.InsufficientFunds);
    rows.reason[2] = RejectReason.None;
    const b = readBatchPayload(original.payload);
    const tampered = asRecord(batchRecord(3, 0, rows, { offset: b.offset, base: b.base, nextOffset: b.nextOffset, nextLine: b.nextLine }), original.offset);
    const replayer = new Replayer();
    for (const record of [records[0]!, records[1]!, tampered]) replayer.apply(record);
    expect(replayer.problems).toEqual([`record 3 at byte ${original.offset}: line 4: replay decides INSUFFICIENT_FUNDS, the journal says APPLIED`]);
  });

  it('a batch that does not continue where its input was, or of another input, is a problem', () => {
    const records = journalRecords();
    const replayer = new Replayer();
    for (const record of [records[0]!, records[1]!, records[3]!]) {
      replayer.apply({ ...record, seq: replayer.seq + 1 });
    }
    expect(replayer.problems.join('\n')).toMatch(/batch starts at byte \d+ \(line \d+\), input 0 was at byte 0 \(line 0\)/);

    const other = new Replayer();
    other.apply(records[0]!);
    const { batch } = decidedBatch(['deposit,1,1,1'], new Ledger());
    other.apply(asRecord(batchRecord(2, 0, batch, { offset: 0, base: 1, nextOffset: 14, nextLine: 2 }), 80));
    expect(other.problems.join('\n')).toMatch(/a batch of input 0, which is not the unfinished one/);
  });

  it('an input end whose row count differs from its batches is a problem', () => {
    const records = journalRecords();
    const replayer = new Replayer();
    for (const record of records.slice(0, 5)) replayer.apply(record);
    replayer.apply(asRecord(jsonRecord(RecordKind.InputEnd, 6, { input: 0, rows: DAY1.length + 1, lines: 12 }), records[5]!.offset));
    expect(replayer.problems).toEqual([`record 6 at byte ${records[5]!.offset}: input 0 ends with ${DAY1.length + 1} rows, its batches hold ${DAY1.length}`]);
  });

  it('stops inside a batch at a line limit', () => {
    const records = journalRecords();
    const replayer = new Replayer();
    // Lines 2..12 are DAY1; stop after line 7 (the dispute of tx 1), as `journal replay --until-line 7` does.
    const limit = { input: 0, line: 7 };
    for (const record of records) {
      replayer.apply(record, limit);
      const input = replayer.inputs[0];
      if (input && (input.complete || input.nextLine >= limit.line)) break;
    }
    expect(replayer.problems).toEqual([]);
    expect(replayer.rows).toBe(6);
    const expected = new Ledger();
    decidedBatch(DAY1.slice(0, 6), expected);
    expect(stateDifference(replayer.ledger.exportState(), expected.exportState())).toBeUndefined();
    expect(replayer.ledger.exportState().held[1]).toBe(100_000);
  });
});

describe('journaledRejects acts on how the reading ended', () => {
  /** writeJournal's file as the journal.log of its own directory. */
  const inDir = (path: string): string => {
    const dir = `${path}.d`;
    mkdirSync(dir);
    renameSync(path, join(dir, 'journal.log'));
    return join(dir, 'journal.log');
  };
  const inputOf = (path: string): InputEntry => {
    const replayer = new Replayer();
    readJournal(path, 0, (record) => replayer.apply(record));
    return replayer.inputs[0]!;
  };

  it('a sound journal: every rejected row of the input', () => {
    const path = inDir(writeJournal().path);
    const input = inputOf(path);
    const lines: number[] = [];
    journaledRejects(dirname(path), input, (line) => void lines.push(line));
    expect(lines.length).toBe(input.rejected);
    expect(lines.length).toBeGreaterThan(0);
  });

  it('damage inside the input (a bad frame with good records after it): refused, never a shorter list (was a bug)', () => {
    const written = writeJournal();
    const { offsets } = written;
    const path = inDir(written.path);
    const input = inputOf(path);
    flipByte(path, offsets[3]! + FRAME_BYTES + 20);
    expect(() => journaledRejects(dirname(path), input, () => undefined)).toThrow(JournalDamaged);
    expect(() => journaledRejects(dirname(path), input, () => undefined)).toThrow(
      new RegExp(`is damaged at byte ${offsets[3]} \\(checksum mismatch\\): it holds \\d+ of the ${input.rows} rows of input 1 \\('day1.csv'\\)`),
    );
  });
});
