import type { Ledger } from '../domain/ledger.js';
import type { LedgerState } from '../domain/ledgerState.js';
import { type BatchPlace } from '../io/rowBatch.js';
import type { RowBatch } from '../io/rowBatch.js';
import { DEFAULT_SNAPSHOT_EVERY } from '../journal/journal.js';
import { type InputEntry, STREAM_INPUT, unfinishedInput } from '../journal/inputs.js';
import { Journal } from '../journal/journal.js';
import { JournalError } from '../journal/journalError.js';
import { type FsyncMode } from '../journal/fsyncMode.js';
import { closeStaleStdinStream, STDIN_STREAM, stdinStreamId } from './stdinStream.js';

export { STDIN_STREAM, stdinStreamId } from './stdinStream.js';

/**
 * What a new stream run does with the journal's unfinished input: nothing (there is none), close
 * it (an earlier stdin stream that stopped without ending, e.g. killed: a pipe cannot be read
 * again, so it cannot be resumed; its journaled rows stay applied), or refuse (a file, which must
 * be finished by running it again, or another kind of stream).
 */
export function unfinishedToClose(dir: string, inputs: readonly InputEntry[]): InputEntry | undefined {
  const open = unfinishedInput(inputs);
  if (open === undefined || open.sha256.startsWith(STDIN_STREAM)) return open;
  const where = `${open.rows} rows applied, up to line ${open.nextLine}`;
  if (open.sha256.startsWith(STREAM_INPUT)) {
    throw new JournalError(`journal '${dir}' has an unfinished stream input '${open.sha256}' (${where}) that payrun stream cannot take over`);
  }
  throw new JournalError(
    `journal '${dir}' has an unfinished run of '${open.name}' (sha256 ${open.sha256.slice(0, 12)}, ${where}); run that file again to finish it before streaming`,
  );
}

/**
 * The durable ledger of one `payrun stream --journal DIR` run: the run's standard input is one
 * journal input, begun with its first group of lines, every group journaled as a Batch record
 * before its events are printed, ended (and snapshotted) when the run stops.
 */
export class StreamJournal {
  private input: InputEntry | undefined;
  private finished = false;

  private constructor(
    private readonly journal: Journal,
    private readonly id: string,
  ) {}

  /** Opens (and recovers) the journal; closes a stdin stream a crash left unfinished, with a warning. */
  static open(dir: string, fsync: FsyncMode, warn: (line: string) => void): StreamJournal {
    return Journal.openFor(dir, { fsync, expectedNewTxs: 0, warn }, (journal) => {
      const stale = unfinishedToClose(dir, journal.inputs);
      if (stale !== undefined) closeStaleStdinStream(journal, stale, warn);
      return new StreamJournal(journal, stdinStreamId());
    });
  }

  /** The ledger as the journal left it: where this run starts. */
  get state(): LedgerState {
    return this.journal.recovered;
  }

  get dir(): string {
    return this.journal.dir;
  }

  /** Journals one decided group (durable per --fsync); snapshots the ledger when enough rows have gone by. */
  record(batch: RowBatch, place: BatchPlace, ledger: Ledger): void {
    this.input ??= this.journal.begin(this.id, 0, 'stdin');
    this.journal.append(this.input, batch, place);
    if (this.journal.rowsSinceSnapshot >= DEFAULT_SNAPSHOT_EVERY) this.journal.snapshot(ledger.exportState());
  }

  /** Ends the input (a stream is never resumed) and snapshots what changed; synchronous, once. */
  finish(ledger: Ledger): void {
    if (this.finished) return;
    this.finished = true;
    if (this.input !== undefined) this.journal.end(this.input);
    if (this.journal.rowsSinceSnapshot > 0) this.journal.snapshot(ledger.exportState());
  }

  async close(): Promise<void> {
    await this.journal.close();
  }
}
