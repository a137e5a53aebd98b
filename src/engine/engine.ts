import type { SnapshotState } from '../domain/ledgerState.js';
import type { AccountBalances } from '../io/accountsCsv.js';
import type { RowBatch } from '../io/rowBatch.js';

/**
 * Parses and decides the rows of chunks of whole lines. Chunks are submitted in file order; the
 * result is a batch whose reason column holds, for every row, 0 if it was applied or its
 * RejectReason. A submitted chunk may be reused by the caller as soon as submit returns.
 */
export interface Engine {
  /** How many submitted batches may be outstanding (not yet released) at once. */
  readonly depth: number;
  submit(chunk: Buffer, from: number): RowBatch | Promise<RowBatch>;
  /** The caller is done with a batch from submit (its rows were reported). */
  release(batch: RowBatch): void;
  /**
   * The whole ledger state (accounts and transactions), for a journal snapshot: a copy, or the
   * state where it lives (read at once, before anything is submitted again). Only called when
   * every submitted batch has been released, so it is the state at a batch boundary.
   */
  snapshot(): Promise<SnapshotState>;
  /** The final accounts, once every submitted batch has settled. */
  finish(): Promise<AccountBalances>;
  /** Releases threads without waiting for results (after a fatal error). */
  abort(): Promise<void>;
}
