import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { BookComparison } from '../domain/bookComparison.js';
import { Ledger } from '../domain/ledger.js';
import { CLIENT_COUNT } from '../domain/ledgerState.js';
import { type InputEntry, loadedInputs, storedInputs } from './inputs.js';
import { SNAPSHOT_HEADER_BYTES, SNAPSHOT_MAGIC, SNAPSHOT_VERSION } from './snapshotFile.js';

/** Entries read at a time: 1 MiB of buffers, whatever the snapshot's size. */
const CHUNK_TXS = 1 << 16;
/** Bytes read at a time for the checksum. */
const CRC_CHUNK = 4 << 20;

/** What a snapshot's header says, checked against its size and its CRC. */
export interface SnapshotHeader {
  seq: number;
  journalOffset: number;
  txs: number;
}

/**
 * A snapshot file read a section at a time (the layout is in snapshotFile.ts), so memory stays
 * bounded by what is built from it: open() checks the header, the size and the CRC of the
 * whole file in 4 MiB reads; loadLedger() inserts the entries straight into a ledger sized from
 * their count; difference() compares them with a live ledger entry by entry. Neither ever holds
 * the file, or a copy of the state, in memory.
 */
export class SnapshotReader {
  private constructor(
    private readonly fd: number,
    readonly header: SnapshotHeader,
    /** The file's size and the CRC-32 of all of it (what a Snapshot record names). */
    readonly bytes: number,
    readonly crc: number,
    private readonly jsonBytes: number,
  ) {}

  /** Opens and checks a snapshot; throws with what is wrong when it is not a whole, intact one. */
  static open(dir: string, file: string): SnapshotReader {
    const fd = openSync(join(dir, file), 'r');
    try {
      const bytes = fstatSync(fd).size;
      const head = Buffer.alloc(SNAPSHOT_HEADER_BYTES);
      if (bytes < SNAPSHOT_HEADER_BYTES + 4 || readAt(fd, head, 0) !== head.length || head.toString('latin1', 0, 8) !== SNAPSHOT_MAGIC) {
        throw new Error('not a payrun snapshot');
      }
      if (head.readUInt32LE(8) !== SNAPSHOT_VERSION) throw new Error(`snapshot format ${head.readUInt32LE(8)} is not one this payrun reads`);
      const body = checksum(fd, bytes - 4);
      const stored = Buffer.alloc(4);
      if (readAt(fd, stored, bytes - 4) !== 4 || stored.readUInt32LE(0) !== body) throw new Error('snapshot checksum mismatch');
      const jsonBytes = head.readUInt32LE(12);
      const txs = head.readDoubleLE(32);
      if (((SNAPSHOT_HEADER_BYTES + 17 * CLIENT_COUNT + 16 * txs + jsonBytes + 7) & ~7) !== bytes - 4) throw new Error('snapshot size does not match its contents');
      const header = { seq: head.readDoubleLE(16), journalOffset: head.readDoubleLE(24), txs };
      return new SnapshotReader(fd, header, bytes, crc32(stored, body), jsonBytes);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  /** The ledger the snapshot holds, its book sized for its entries plus expectedNewTxs. */
  loadLedger(expectedNewTxs = 0): Ledger {
    const ledger = new Ledger(this.header.txs + expectedNewTxs);
    this.readAccounts(ledger.available, ledger.held, ledger.flags);
    this.eachChunk((keys, amounts, count) => {
      ledger.book.insertPiece(keys, amounts, count);
    });
    return ledger;
  }

  /** Where the snapshot's state differs from the ledger's, in words, or undefined when they are equal. */
  difference(ledger: Ledger): string | undefined {
    const comparison = new BookComparison(ledger);
    const accounts = { available: new Float64Array(CLIENT_COUNT), held: new Float64Array(CLIENT_COUNT), flags: new Uint8Array(CLIENT_COUNT) };
    this.readAccounts(accounts.available, accounts.held, accounts.flags);
    const early = comparison.accounts(accounts.available, accounts.held, accounts.flags) ?? comparison.count(this.header.txs);
    if (early !== undefined) return early;
    let found: string | undefined;
    try {
      this.eachChunk((keys, amounts, count) => {
        found ??= comparison.entries(keys, amounts, count);
        return found === undefined;
      });
    } finally {
      const unmet = comparison.finish(this.header.txs);
      found ??= unmet;
    }
    return found;
  }

  /** The inputs as of the snapshot. */
  inputs(): InputEntry[] {
    const json = Buffer.alloc(this.jsonBytes);
    this.readFully(json, SNAPSHOT_HEADER_BYTES + 16 * CLIENT_COUNT + 16 * this.header.txs + CLIENT_COUNT);
    return loadedInputs(JSON.parse(json.toString('utf8')) as Omit<InputEntry, 'kind'>[]);
  }

  /** Whether the snapshot's inputs are these (as a snapshot stores them). */
  sameInputs(inputs: InputEntry[]): boolean {
    return JSON.stringify(storedInputs(this.inputs())) === JSON.stringify(storedInputs(inputs));
  }

  private readAccounts(available: Float64Array, held: Float64Array, flags: Uint8Array): void {
    this.readFully(bytesOf(available), SNAPSHOT_HEADER_BYTES);
    this.readFully(bytesOf(held), SNAPSHOT_HEADER_BYTES + 8 * CLIENT_COUNT);
    this.readFully(bytesOf(flags), SNAPSHOT_HEADER_BYTES + 16 * CLIENT_COUNT + 16 * this.header.txs);
  }

  /** The entries in file order, CHUNK_TXS at a time (the amounts and keys sections read side by side); `visit` returns false to stop. */
  private eachChunk(visit: (keys: Uint32Array, amounts: Float64Array, count: number) => boolean | void): void {
    const { txs } = this.header;
    const amountsAt = SNAPSHOT_HEADER_BYTES + 16 * CLIENT_COUNT;
    const keysAt = amountsAt + 8 * txs;
    const keys = new Uint32Array(2 * CHUNK_TXS);
    const amounts = new Float64Array(CHUNK_TXS);
    for (let done = 0; done < txs; done += CHUNK_TXS) {
      const count = Math.min(CHUNK_TXS, txs - done);
      this.readFully(bytesOf(amounts, 8 * count), amountsAt + 8 * done);
      this.readFully(bytesOf(keys, 8 * count), keysAt + 8 * done);
      if (visit(keys, amounts, count) === false) return;
    }
  }

  private readFully(into: Uint8Array, position: number): void {
    if (readAt(this.fd, into, position) !== into.length) throw new Error('snapshot size does not match its contents');
  }
}

function bytesOf(column: Float64Array | Uint32Array | Uint8Array, length = column.byteLength): Uint8Array {
  return new Uint8Array(column.buffer, column.byteOffset, length);
}

/** Reads until `into` is full or the file ends; returns the bytes read. */
function readAt(fd: number, into: Uint8Array, position: number): number {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** The CRC-32 of the file's first `length` bytes, read CRC_CHUNK at a time. */
function checksum(fd: number, length: number): number {
  const chunk = Buffer.allocUnsafe(Math.min(CRC_CHUNK, length));
  let crc = 0;
  for (let at = 0; at < length; ) {
    const n = readAt(fd, chunk.subarray(0, Math.min(chunk.length, length - at)), at);
    if (n === 0) throw new Error('snapshot size does not match its contents');
    crc = crc32(chunk.subarray(0, n), crc);
    at += n;
  }
  return crc;
}

/** The header of an intact snapshot (its CRC checked, a read at a time); throws as SnapshotReader.open does. */
export function snapshotHeader(dir: string, file: string): SnapshotHeader {
  const reader = SnapshotReader.open(dir, file);
  reader.close();
  return reader.header;
}
