import type { LedgerState } from '../domain/ledgerState.js';
import type { Engine } from '../engine/engine.js';
import { ParallelEngine, SLOT_BYTES } from './parallelEngine.js';
import { SerialEngine } from '../engine/serialEngine.js';

/** Bytes of input per stored transaction to plan for: rows are ~35 bytes, most of them own an id. */
const BYTES_PER_TX_ESTIMATE = 36;

/**
 * `--workers 0` runs in the calling thread; N > 0 parses on N worker threads and shards the
 * clients' ledgers over them. inputBytes (when known) sizes the tx tables up front: growing a
 * large hash table costs a full rehash, and most of a run's time is memory traffic. `initial`
 * is the state to start from (a journal's ledger); without it every account starts empty.
 */
export function createEngine(workers: number, inputBytes = 0, initial?: LedgerState): Engine {
  const expectedTxs = Math.floor(inputBytes / BYTES_PER_TX_ESTIMATE);
  return workers === 0 ? new SerialEngine(expectedTxs, initial) : new ParallelEngine(workers, expectedTxs, initial);
}

/** How large the chunks read from a file should be for this engine. */
export function chunkBytesFor(workers: number): number {
  return workers === 0 ? 1 << 20 : SLOT_BYTES;
}
