import type { Ledger } from '../domain/ledger.js';
import type { Engine } from '../engine/engine.js';
import { SLOT_BYTES } from './protocol.js';
import { SerialEngine } from '../engine/serialEngine.js';
import { expectedTxsFor } from '../engine/txEstimate.js';

/**
 * `--workers 0` runs in the calling thread; N > 0 parses on N worker threads and shards the
 * clients' ledgers over them. inputBytes (when known) sizes the tx tables (growing them costs
 * rehashes, and most of a run's time is memory traffic): from the first chunk's rows
 * (txEstimate.ts, sampledTxs), or from the size alone before any (a journal's restore), up to
 * EXPECTED_TXS_MAX.
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
