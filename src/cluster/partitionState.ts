import { Ledger } from '../domain/ledger.js';
import type { TxState } from '../domain/txBook.js';

/**
 * A partition's state in Redis, so any consumer (on any machine, with no disk) can take it over:
 * its accounts (the `accounts` hash, written by every commit), a snapshot of its transactions
 * (16 bytes each: tx, `client << 8 | state`, amount) and the changelog since that snapshot (one
 * entry per committed batch: every transaction the batch changed, in the same 16 bytes), written
 * by the same commit script and trimmed behind each new snapshot.
 */
const MAGIC = 0x31535250; // 'PRS1'
const TX_BYTES = 16;

/** What a takeover reads from Redis, all as of the partition's committed position. */
export interface StoredPartition {
  /** The committed position ('' before any commit). */
  position: string;
  accounts: Map<number, string>;
  snapshot?: Buffer;
  /** The changelog entries after the snapshot, in order: [id, bytes]. */
  changes: [string, Buffer][];
}

/** The ledger's transactions as a snapshot blob. */
export function encodeSnapshot(ledger: Ledger): Buffer {
  const { keys, amounts } = ledger.book.entries();
  const out = Buffer.allocUnsafe(8 + amounts.length * TX_BYTES);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(amounts.length, 4);
  Buffer.from(keys.buffer, keys.byteOffset, keys.byteLength).copy(out, 8);
  Buffer.from(amounts.buffer, amounts.byteOffset, amounts.byteLength).copy(out, 8 + keys.byteLength);
  return out;
}

/** Entries copied out of a snapshot a piece at a time (the bytes Redis gave may not be aligned for typed arrays). */
const PIECE_ENTRIES = 1 << 16;

/**
 * The snapshot's entries into the ledger's book, a piece at a time through insertPiece (a call
 * per entry, not inlined, boxed each amount).
 */
function insertSnapshot(ledger: Ledger, snapshot: Buffer, count: number): void {
  const keys = new Uint32Array(2 * Math.min(count, PIECE_ENTRIES));
  const amounts = new Float64Array(keys.length / 2);
  const amountsAt = 8 + count * 8;
  for (let from = 0; from < count; from += PIECE_ENTRIES) {
    const n = Math.min(PIECE_ENTRIES, count - from);
    snapshot.copy(new Uint8Array(keys.buffer), 0, 8 + from * 8, 8 + (from + n) * 8);
    snapshot.copy(new Uint8Array(amounts.buffer), 0, amountsAt + from * 8, amountsAt + (from + n) * 8);
    ledger.book.insertPiece(keys, amounts, n);
  }
}

/** The ledger a partition's stored state describes; throws (in words) on bytes that are not one. */
/** `room`: the transactions the ledger has room for at least, before its book grows. */
export function restoreLedger(stored: StoredPartition, room = 0): Ledger {
  const snapshot = stored.snapshot;
  let count = 0;
  if (snapshot !== undefined) {
    if (snapshot.length < 8 || snapshot.readUInt32LE(0) !== MAGIC) throw new Error('the snapshot is not a payrun partition snapshot');
    count = snapshot.readUInt32LE(4);
    if (snapshot.length !== 8 + count * TX_BYTES) throw new Error(`the snapshot holds ${snapshot.length} bytes for ${count} transactions`);
  }
  const changed = stored.changes.reduce((n, [, bytes]) => n + bytes.length / TX_BYTES, 0);
  const ledger = new Ledger(Math.max(room, count + changed));
  for (const [client, value] of stored.accounts) {
    const [available, held, flags] = value.split(' ').map(Number);
    if (!(client >= 0 && client < 65_536) || !Number.isFinite(available) || !Number.isFinite(held) || !Number.isInteger(flags)) throw new Error(`account ${client} is stored as '${value}'`);
    ledger.available[client] = available!;
    ledger.held[client] = held!;
    ledger.flags[client] = flags!;
  }
  if (snapshot !== undefined) insertSnapshot(ledger, snapshot, count);
  for (const [id, bytes] of stored.changes) {
    if (bytes.length % TX_BYTES !== 0) throw new Error(`changelog entry ${id} is not whole transactions`);
    for (let at = 0; at < bytes.length; at += TX_BYTES) {
      const tx = bytes.readUInt32LE(at);
      const meta = bytes.readUInt32LE(at + 4);
      const amount = bytes.readDoubleLE(at + 8);
      const slot = ledger.book.find(tx);
      if (slot < 0) ledger.book.insert(tx, meta, amount);
      else ledger.book.settle(slot, (meta & 0xff) as TxState, amount);
    }
  }
  return ledger;
}
