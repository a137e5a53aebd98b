import { crc32 } from 'node:zlib';

/**
 * The journal's on-disk framing (docs/journal.md). Every record is a 24-byte frame header and a
 * payload padded to a multiple of 8, so records, and the typed columns inside them, stay
 * 8-byte aligned in the file:
 *
 *   [u32 magic][u32 payload bytes][u32 CRC-32][u8 kind][u8 0][u16 0][u32 seq low][u32 seq high][payload]
 *
 * The CRC (zlib's CRC-32) covers the magic, the length and everything after the CRC field, so a
 * flipped bit anywhere in a record, or a torn write, fails it.
 */
export const JOURNAL_FILE = 'journal.log';
export const FORMAT_VERSION = 1;
export const RECORD_MAGIC = 0x4c4e524a; // "JRNL" in the file
export const FRAME_BYTES = 24;
/** No record is larger than this (a batch of a 16 MiB chunk of rejected rows is well under it). */
export const MAX_PAYLOAD_BYTES = 1 << 30;

export const RecordKind = {
  /** The journal's first record: its format version. */
  Start: 1,
  /** An input file starts: its SHA-256, size and name. */
  InputBegin: 2,
  /** One batch of rows of the open input, every row's decision. */
  Batch: 3,
  /** The open input is fully applied. */
  InputEnd: 4,
  /** A snapshot file now holds the state as of the previous record. */
  Snapshot: 5,
  /**
   * The events of the batch just before it, to be relayed to a message log (`payrun consume`'s
   * transactional outbox), and the stream position they take the input to.
   */
  Outbox: 6,
  /**
   * The unfinished input is given up (`payrun journal abandon`): its batches are skipped by every
   * replay, as if it had never begun, and snapshots taken inside it are passed over.
   */
  InputAbandon: 7,
} as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

export function padded(n: number): number {
  return (n + 7) & ~7;
}

export function frameChecksum(record: Uint8Array): number {
  return crc32(record.subarray(12), crc32(record.subarray(0, 8)));
}

/** Writes the frame header into record[0, 24) once the payload is in place, and returns the record's length. */
export function sealFrame(record: Buffer, kind: RecordKind, seq: number, payloadBytes: number): number {
  const length = padded(payloadBytes);
  record.fill(0, FRAME_BYTES + payloadBytes, FRAME_BYTES + length);
  record.writeUInt32LE(RECORD_MAGIC, 0);
  record.writeUInt32LE(length, 4);
  record.writeUInt8(kind, 12);
  record.writeUInt8(0, 13);
  record.writeUInt16LE(0, 14);
  record.writeUInt32LE(seq % 2 ** 32, 16);
  record.writeUInt32LE(Math.floor(seq / 2 ** 32), 20);
  const total = FRAME_BYTES + length;
  record.writeUInt32LE(frameChecksum(record.subarray(0, total)), 8);
  return total;
}

/** One record as read back. */
export interface JournalRecord {
  kind: number;
  seq: number;
  /** Byte offset of the record in the journal, and just past it. */
  offset: number;
  end: number;
  payload: Buffer;
}

/** JSON payloads (every record but Batch): [u32 bytes][UTF-8 JSON]. */
export function writeJsonPayload(record: Buffer, value: unknown): number {
  return writeJsonText(record, Buffer.from(JSON.stringify(value), 'utf8'));
}

/** A JSON payload already encoded (a big one is then stringified once, not twice). */
export function writeJsonText(record: Buffer, text: Buffer): number {
  record.writeUInt32LE(text.length, FRAME_BYTES);
  text.copy(record, FRAME_BYTES + 4);
  return 4 + text.length;
}

export function jsonPayloadBytes(value: unknown): number {
  return 4 + Buffer.byteLength(JSON.stringify(value), 'utf8');
}

export function readJsonPayload<T>(payload: Buffer): T {
  const length = payload.readUInt32LE(0);
  if (length + 4 > payload.length) throw new RangeError('JSON payload longer than its record');
  return JSON.parse(payload.toString('utf8', 4, 4 + length)) as T;
}

/** The JSON records' contents. */
export interface StartPayload {
  format: number;
  created: string;
}
export interface InputBeginPayload {
  input: number;
  sha256: string;
  size: number;
  name: string;
  /**
   * Where the input's first batch starts, when not at its first byte: a named stream source's
   * next input goes on from its last one's end (only such inputs carry it).
   */
  from?: { offset: number; line: number };
}
export interface InputEndPayload {
  input: number;
  rows: number;
  lines: number;
}
/** The input given up, with the rows and lines its batches held (all undone). */
export interface InputAbandonPayload {
  input: number;
  rows: number;
  lines: number;
}
/** An Outbox record's payload: its JSON part, then (eventCount > 0) the events, one JSON per line. */
export function readOutboxPayload(payload: Buffer): OutboxPayload {
  const head = readJsonPayload<OutboxPayload & { eventCount?: number; eventBytes?: number }>(payload);
  const { eventCount, eventBytes, ...outbox } = head;
  if (eventCount === undefined || eventBytes === undefined) return outbox; // events inside the JSON (as first written)
  const from = 4 + payload.readUInt32LE(0);
  if (from + eventBytes > payload.length) throw new RangeError('outbox events longer than their record');
  const events = eventCount === 0 ? [] : payload.toString('utf8', from, from + eventBytes).split('\n');
  if (events.length !== eventCount) throw new RangeError(`outbox holds ${events.length} events, its header says ${eventCount}`);
  return { ...outbox, events };
}

export interface OutboxPayload {
  input: number;
  /** The id of the last stream entry the batch before this record applied. */
  lastId: string;
  /** Where the stream was before that batch (the position the relay moves on from; '' at its start). */
  prevId?: string;
  /** One JSON event per row of that batch. */
  events: string[];
}
export interface SnapshotPayload {
  /** The snapshot file, its size and CRC-32. */
  file: string;
  bytes: number;
  crc: number;
  /** The state in it is as of this record (the one before this Snapshot record). */
  seq: number;
  /** Older snapshot files removed once this one is recorded. */
  retired: string[];
}
