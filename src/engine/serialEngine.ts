import { Ledger } from '../domain/ledger.js';
import type { SnapshotState } from '../domain/ledgerState.js';
import { applyRows } from '../domain/applyRows.js';
import type { AccountBalances } from '../io/accountsCsv.js';
import { parseLines } from '../io/lineParser.js';
import { RowBatch, rowCapacityFor } from '../io/rowBatch.js';
import { ParsedRow } from '../io/rowParser.js';
import { releaseOutgrown } from '../io/releaseMemory.js';
import type { Engine } from './engine.js';
import { inputShare, sampledTxs } from './txEstimate.js';

/** `--workers 0`: parsing and one ledger for every client (its TxBook also decides tx-id ownership), in the calling thread. */
export class SerialEngine implements Engine {
  readonly depth = 1;
  /** Made at the first chunk, sized from its rows (sampledTxs); or the journal's, given. */
  private ledger: Ledger | undefined;
  private readonly row = new ParsedRow();
  private batch = new RowBatch(0);
  private submitted = 0;

  /**
   * `initial`: the ledger to go on in (its tables grow as rows come, a segment at a time).
   * `inputBytes`: the input's size when known (0 if not), so a table that outgrows its estimate
   * grows to the size the share of the input seen projects (TxBook.setInputSeen).
   */
  constructor(
    private readonly expectedTxs = 0,
    initial?: Ledger,
    private readonly inputBytes = 0,
  ) {
    this.ledger = initial;
  }

  /** The ledger, made (sized from `rows`, when given and the input's size is known) if there is none yet. */
  private ledgerFor(rows?: RowBatch, bytes = 0): Ledger {
    this.ledger ??= new Ledger((rows && sampledTxs(rows, bytes, this.inputBytes)) || this.expectedTxs, releaseOutgrown);
    return this.ledger;
  }

  submit(chunk: Buffer, from: number): RowBatch {
    if (this.batch.capacity < rowCapacityFor(chunk.length - from)) this.batch = new RowBatch(rowCapacityFor(chunk.length - from));
    const batch = this.batch;
    parseLines(chunk, from, chunk.length, batch, this.row);
    const ledger = this.ledgerFor(batch, chunk.length - from);
    this.submitted += chunk.length;
    ledger.book.setInputSeen(inputShare(this.submitted, this.inputBytes));
    applyRows(ledger, batch);
    return batch;
  }

  release(): void {}

  /** The ledger where it lives: the snapshot is written from its table, a piece at a time, with no copy of it. */
  snapshot(): Promise<SnapshotState> {
    return Promise.resolve(this.ledgerFor().liveState());
  }

  finish(): Promise<AccountBalances> {
    return Promise.resolve(this.ledgerFor());
  }

  abort(): Promise<void> {
    return Promise.resolve();
  }
}
