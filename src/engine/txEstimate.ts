import type { RowColumns } from '../domain/applyRows.js';
import { RejectReason } from '../domain/rejectReason.js';
import { ownsTxId } from '../domain/txType.js';

/** Bytes of input per stored transaction to plan for when no row has been seen: rows are ~35 bytes, most of them own an id. */
const BYTES_PER_TX_ESTIMATE = 36;

/**
 * The most transactions a file's size may reserve up front (57 MB of tables). A file's size
 * only bounds its rows (rows padded with spaces, or a sparse file, hold far fewer), so past
 * this the tables grow as rows are seen instead: a segment at a time, to the size the share of
 * the input seen projects (TxBook.setInputSeen).
 */
export const EXPECTED_TXS_MAX = 4_000_000;

/** The first chunk's rate is projected to the whole input with this much to spare (its sampling error on 256 KiB of rows is ~0.4%). */
const SAMPLED_MARGIN = 1.02;

/** How many transactions to size the tables for, from the input's size in bytes (0 when unknown), before any row is seen. */
export function expectedTxsFor(inputBytes: number): number {
  return Math.min(EXPECTED_TXS_MAX, Math.floor(Math.max(0, inputBytes) / BYTES_PER_TX_ESTIMATE));
}

/**
 * How many transactions to size the tables for, from the first chunk's rows: those that own an
 * id (well-formed deposits and withdrawals) per byte of the chunk, times the input's bytes, plus
 * 2%; capped at EXPECTED_TXS_MAX. 0 when the input's size is not known. On the generator's
 * 3.75M rows this sizes the table for 3.50M transactions (3.43M are stored) rather than the
 * 3.59M the file's size gives: 1.3 MB less, and a file of shorter rows is not undersized.
 */
export function sampledTxs(rows: Pick<RowColumns, 'count' | 'type' | 'reason'>, bytes: number, inputBytes: number): number {
  if (!(inputBytes > 0) || !(bytes > 0)) return 0;
  let owning = 0;
  for (let i = 0; i < rows.count; i++) if (rows.reason[i] === RejectReason.None && ownsTxId(rows.type[i]!)) owning++;
  return Math.min(EXPECTED_TXS_MAX, Math.ceil((owning / bytes) * inputBytes * SAMPLED_MARGIN));
}

/** The share of the input (0 to 1, by bytes) that `submitted` bytes are; 0 when its size is not known (TxBook.setInputSeen). */
export function inputShare(submitted: number, inputBytes: number): number {
  return inputBytes > 0 ? Math.min(1, submitted / inputBytes) : 0;
}
