import type { AccountBalances } from '../io/accountsCsv.js';
import type { RowBatch } from '../io/rowBatch.js';

/**
 * Decides the business outcome of a batch of parsed rows: on return (or when the promise
 * settles) batch.reason holds, for every row, 0 if it was applied or its RejectReason.
 * Batches are submitted in file order; a ledger sees its rows in that order.
 */
export interface Engine {
  submit(batch: RowBatch): void | Promise<void>;
  /** The final accounts, once every submitted batch has settled. */
  finish(): Promise<AccountBalances>;
  /** Releases threads without waiting for results (after a fatal error). */
  abort(): Promise<void>;
}
