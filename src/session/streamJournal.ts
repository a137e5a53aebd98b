import type { Ledger } from '../domain/ledger.js';
import type { LedgerState } from '../domain/ledgerState.js';
import type { BatchPlace, RowBatch } from '../io/rowBatch.js';
import { type FsyncMode } from '../journal/fsyncMode.js';
import { stdinStreamId } from '../journal/inputKind.js';
import { JournaledInput } from '../journal/journaledInput.js';

/**
 * The durable ledger of one `payrun stream --journal DIR` run: the run's standard input is one
 * journal input (a JournaledInput of kind stdin), begun with its first group of lines, every
 * group journaled as a Batch record before its events are printed, ended (and snapshotted) when
 * the run stops. A stdin stream a crash left unfinished is closed on open, with a warning.
 */
export class StreamJournal {
  private constructor(private readonly input: JournaledInput) {}

  static open(dir: string, fsync: FsyncMode, warn: (line: string) => void): StreamJournal {
    return new StreamJournal(JournaledInput.open(dir, { kind: 'stdin', id: stdinStreamId() }, { fsync, warn }));
  }

  /** The ledger as the journal left it: where this run starts. */
  get state(): LedgerState {
    return this.input.state;
  }

  get dir(): string {
    return this.input.dir;
  }

  /** Journals one decided group (durable per --fsync); snapshots the ledger when enough rows have gone by. */
  record(batch: RowBatch, place: BatchPlace, ledger: Ledger): void {
    this.input.record(batch, place);
    if (this.input.snapshotDue) this.input.snapshot(ledger.exportState());
  }

  /** Ends the input (a stream is never resumed) and snapshots what changed; synchronous, once. */
  finish(ledger: Ledger): void {
    if (this.input.finish()) this.input.snapshot(ledger.exportState());
  }

  async close(): Promise<void> {
    await this.input.close();
  }
}
