import type { Ledger } from '../domain/ledger.js';
import type { Engine } from '../engine/engine.js';
import { SLOT_BYTES } from './protocol.js';
import { SerialEngine } from '../engine/serialEngine.js';

/** Bytes of input per stored transaction to plan for: rows are ~35 bytes, most of them own an id. */
const BYTES_PER_TX_ESTIMATE = 36;

/**
 * The most transactions a file's size may reserve up front (57 MB of tables). A file's size
 * only bounds its rows (rows padded with spaces, or a sparse file, hold far fewer), so past
 * this the tables grow as rows are seen instead: a segment at a time, cheaply.
 */
export const EXPECTED_TXS_MAX = 4_000_000;

/** How many transactions to size the tables for, from the input's size in bytes (0 when unknown). */
export function expectedTxsFor(inputBytes: number): number {
  return Math.min(EXPECTED_TXS_MAX, Math.floor(Math.max(0, inputBytes) / BYTES_PER_TX_ESTIMATE));
}

/**
 * `--workers 0` runs in the calling thread; N > 0 parses on N worker threads and shards the
 * clients' ledgers over them. inputBytes (when known) sizes the tx tables up front (growing
 * them costs rehashes, and most of a run's time is memory traffic), up to EXPECTED_TXS_MAX.
 * `initial` is the ledger to start from (a journal's, handed over: the engine goes on in it or
 * gives it out to its workers); without it every account starts empty. A table that outgrows its
 * estimate grows to the size the share of the input seen so far projects (TxBook.setInputSeen). The worker code (and
 * node:worker_threads, ~7 ms to load) is imported only for N > 0: a small file runs in the main
 * thread and should not pay for it.
 */
export async function createEngine(workers: number, inputBytes = 0, initial?: Ledger): Promise<Engine> {
  const expectedTxs = expectedTxsFor(inputBytes);
  if (workers === 0) return new SerialEngine(expectedTxs, initial, inputBytes);
  const { ParallelEngine } = await import('./parallelEngine.js');
  return new ParallelEngine(workers, expectedTxs, initial, inputBytes);
}

/** How large the chunks read from a file should be for this engine. */
export function chunkBytesFor(workers: number): number {
  return workers === 0 ? 1 << 20 : SLOT_BYTES;
}
