import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFully } from '../io/writeFully.js';
import { crc32 } from 'node:zlib';
import { CLIENT_COUNT } from '../domain/ledgerState.js';
import type { LedgerState, SnapshotState } from '../domain/ledgerState.js';
import { syncDirectory } from './syncDirectory.js';
import { type InputEntry, loadedInputs, storedInputs } from './inputs.js';

/**
 * A snapshot: the whole ledger state as of one journal record, so recovery need not replay the
 * journal from its start. Little-endian, 8-byte aligned sections:
 *
 *   "PAYRUNSS" · u32 version · u32 inputs JSON bytes · f64 seq · f64 journal offset · f64 txs · u64 0
 *   available f64[65536] · held f64[65536] · tx amounts f64[txs] · tx keys u32[2·txs] ·
 *   flags u8[65536] · inputs JSON · (pad to 8) · u32 CRC-32 of everything before it
 *
 * `seq` is the last record the state includes; `journal offset` is where the record after it starts.
 */
export const SNAPSHOT_MAGIC = 'PAYRUNSS';
export const SNAPSHOT_VERSION = 1;
export const SNAPSHOT_HEADER_BYTES = 48;
const MAGIC = SNAPSHOT_MAGIC;
const VERSION = SNAPSHOT_VERSION;
const HEADER_BYTES = SNAPSHOT_HEADER_BYTES;

export interface Snapshot {
  seq: number;
  journalOffset: number;
  inputs: InputEntry[];
  state: LedgerState;
}

export function snapshotName(seq: number): string {
  return `snapshot-${String(seq).padStart(12, '0')}.bin`;
}

export function isSnapshotName(name: string): boolean {
  return /^snapshot-\d{12}\.bin$/.test(name);
}

/** The temp file a snapshot is written to before its rename: `.snapshot-<seq>.bin.tmp`. */
export function snapshotTempName(file: string): string {
  return `.${file}.tmp`;
}

/** A snapshot's temp file, left behind only when a crash (kill -9) came before its rename. */
export function isSnapshotTempName(name: string): boolean {
  return /^\.snapshot-\d{12}\.bin\.tmp$/.test(name);
}

export function encodeSnapshot(snapshot: Snapshot): Buffer {
  const { state } = snapshot;
  const txs = state.txAmounts.length;
  const json = Buffer.from(JSON.stringify(storedInputs(snapshot.inputs)), 'utf8');
  const flagsAt = HEADER_BYTES + 16 * CLIENT_COUNT + 16 * txs;
  const crcAt = (flagsAt + CLIENT_COUNT + json.length + 7) & ~7;
  const out = Buffer.alloc(crcAt + 4);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(VERSION, 8);
  out.writeUInt32LE(json.length, 12);
  out.writeDoubleLE(snapshot.seq, 16);
  out.writeDoubleLE(snapshot.journalOffset, 24);
  out.writeDoubleLE(txs, 32);
  let p = HEADER_BYTES;
  const put = (column: ArrayBufferView): void => {
    out.set(new Uint8Array(column.buffer, column.byteOffset, column.byteLength), p);
    p += column.byteLength;
  };
  put(state.available);
  put(state.held);
  put(state.txAmounts);
  put(state.txKeys);
  put(state.flags);
  json.copy(out, p);
  out.writeUInt32LE(crc32(out.subarray(0, crcAt)), crcAt);
  return out;
}

/** Reads a snapshot back; throws with what is wrong when the file is not a whole, intact one. */
export function decodeSnapshot(bytes: Buffer): Snapshot {
  if (bytes.length < HEADER_BYTES + 4 || bytes.toString('latin1', 0, 8) !== MAGIC) throw new Error('not a payrun snapshot');
  if (bytes.readUInt32LE(8) !== VERSION) throw new Error(`snapshot format ${bytes.readUInt32LE(8)} is not one this payrun reads`);
  const crcAt = bytes.length - 4;
  if (crc32(bytes.subarray(0, crcAt)) !== bytes.readUInt32LE(crcAt)) throw new Error('snapshot checksum mismatch');
  const jsonBytes = bytes.readUInt32LE(12);
  const txs = bytes.readDoubleLE(32);
  const flagsAt = HEADER_BYTES + 16 * CLIENT_COUNT + 16 * txs;
  if (((flagsAt + CLIENT_COUNT + jsonBytes + 7) & ~7) !== crcAt) throw new Error('snapshot size does not match its contents');
  // An aligned copy, so the sections can be read as typed arrays.
  const ab = new Uint8Array(bytes.subarray(0, crcAt)).buffer;
  let p = HEADER_BYTES;
  const take = <T>(make: (at: number) => T, bytesTaken: number): T => {
    const column = make(p);
    p += bytesTaken;
    return column;
  };
  const state: LedgerState = {
    available: take((at) => new Float64Array(ab, at, CLIENT_COUNT), 8 * CLIENT_COUNT),
    held: take((at) => new Float64Array(ab, at, CLIENT_COUNT), 8 * CLIENT_COUNT),
    txAmounts: take((at) => new Float64Array(ab, at, txs), 8 * txs),
    txKeys: take((at) => new Uint32Array(ab, at, 2 * txs), 8 * txs),
    flags: take((at) => new Uint8Array(ab, at, CLIENT_COUNT), CLIENT_COUNT),
  };
  const inputs = loadedInputs(JSON.parse(bytes.toString('utf8', p, p + jsonBytes)) as Omit<InputEntry, 'kind'>[]);
  return { seq: bytes.readDoubleLE(16), journalOffset: bytes.readDoubleLE(24), inputs, state };
}

/** A snapshot to write: its state a copy, or the state where it lives (LiveLedgerState). */
export type SnapshotToWrite = Omit<Snapshot, 'state'> & { state: SnapshotState };

/**
 * Writes a snapshot file crash-safely (temp file, fsync, rename, directory fsync); returns its
 * name, size and CRC. The columns go to the file as they are, a section at a time, the CRC
 * taken as they go: never a second copy of the state in memory (16 bytes per stored transaction).
 */
export function writeSnapshotFile(dir: string, snapshot: SnapshotToWrite, durable: boolean): { file: string; bytes: number; crc: number } {
  const file = snapshotName(snapshot.seq);
  const temp = join(dir, snapshotTempName(file));
  let written: { bytes: number; crc: number };
  try {
    const fd = openSync(temp, 'w');
    try {
      written = writeSnapshotSections(fd, snapshot);
      if (durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, join(dir, file));
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  if (durable) syncDirectory(dir);
  return { file, ...written };
}

/**
 * The bytes of encodeSnapshot, written section by section (a live state's transactions a piece
 * at a time, in two visits: the amounts, then the keys); returns the file's size and the CRC of
 * all of it.
 */
function writeSnapshotSections(fd: number, snapshot: SnapshotToWrite): { bytes: number; crc: number } {
  const { state } = snapshot;
  const txs = 'txCount' in state ? state.txCount : state.txAmounts.length;
  const json = Buffer.from(JSON.stringify(storedInputs(snapshot.inputs)), 'utf8');
  const header = Buffer.alloc(HEADER_BYTES);
  header.write(MAGIC, 0, 'latin1');
  header.writeUInt32LE(VERSION, 8);
  header.writeUInt32LE(json.length, 12);
  header.writeDoubleLE(snapshot.seq, 16);
  header.writeDoubleLE(snapshot.journalOffset, 24);
  header.writeDoubleLE(txs, 32);
  const crcAt = (HEADER_BYTES + 16 * CLIENT_COUNT + 16 * txs + CLIENT_COUNT + json.length + 7) & ~7;
  let crc = 0;
  let at = 0;
  const put = (column: ArrayBufferView, byteLength = column.byteLength): void => {
    // zlib's crc32 of no bytes is 0, whatever the CRC so far: an empty section is skipped.
    if (byteLength === 0) return;
    const bytes = new Uint8Array(column.buffer, column.byteOffset, byteLength);
    writeFully(fd, bytes);
    crc = crc32(bytes, crc);
    at += bytes.length;
  };
  for (const section of [header, state.available, state.held]) put(section);
  if ('txCount' in state) {
    state.eachTxPiece((_, amounts, count) => put(amounts, 8 * count));
    state.eachTxPiece((keys, _, count) => put(keys, 8 * count));
  } else {
    put(state.txAmounts);
    put(state.txKeys);
  }
  if (at !== HEADER_BYTES + 16 * CLIENT_COUNT + 16 * txs) throw new Error(`a snapshot of ${txs} transactions was handed ${(at - HEADER_BYTES - 16 * CLIENT_COUNT) / 16}`);
  for (const section of [state.flags, json]) put(section);
  put(Buffer.alloc(crcAt - at));
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(crc, 0);
  writeFully(fd, tail);
  return { bytes: crcAt + 4, crc: crc32(tail, crc) };
}

export function readSnapshotFile(dir: string, file: string): { snapshot: Snapshot; bytes: number; crc: number } {
  const bytes = readFileSync(join(dir, file));
  return { snapshot: decodeSnapshot(bytes), bytes: bytes.length, crc: crc32(bytes) };
}
