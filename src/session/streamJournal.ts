import type { Ledger } from '../domain/ledger.js';
import type { LedgerState } from '../domain/ledgerState.js';
import type { BatchPlace, RowBatch } from '../io/rowBatch.js';
import type { Skipped } from '../io/skipLines.js';
import { JournalError } from '../journal/journalError.js';
import { type FsyncMode } from '../journal/fsyncMode.js';
import { sourceStreamId, stdinStreamId } from '../journal/inputKind.js';
import { JournaledInput } from '../journal/journaledInput.js';

/**
 * The durable ledger of one `payrun stream --journal DIR` run: the run's standard input is one
 * journal input (a JournaledInput of kind stdin, or of kind source with `--source NAME`), begun
 * with its first group of lines, every group journaled as a Batch record before its events are
 * printed, ended (and snapshotted) when the run stops. Another stream a crash left unfinished is
 * closed on open, with a warning; a named source's own is resumed.
 */
export class StreamJournal {
  private constructor(private readonly input: JournaledInput) {}

  static open(dir: string, fsync: FsyncMode, warn: (line: string) => void, source?: string): StreamJournal {
    const claim = source === undefined ? ({ kind: 'stdin', id: stdinStreamId() } as const) : ({ kind: 'source', id: sourceStreamId(source), name: source } as const);
    return new StreamJournal(JournaledInput.open(dir, claim, { fsync, warn }));
  }

  /**
   * A named source's place: the lines (header included) and bytes of it the journal holds
   * already, which a restarted producer feeds again and this run skips; undefined: none.
   */
  get start(): { offset: number; line: number } | undefined {
    return this.input.start;
  }

  /** The ledger as the journal left it: where this run starts. */
  get state(): LedgerState {
    return this.input.state;
  }

  get dir(): string {
    return this.input.dir;
  }

  /**
   * The line to say once a named source's lines already applied were skipped. The bytes skipped
   * must be those the journal holds for them (one or two more: the last line, then unterminated,
   * has its line end now), or the producer is not feeding the stream it fed before: refused.
   */
  skipped(source: string, skipped: Skipped): string {
    const start = this.start!;
    if (skipped.lines === start.line && (skipped.bytes < start.offset || skipped.bytes > start.offset + 2)) {
      throw new JournalError(
        `source ${source}: its first ${start.line} lines are ${skipped.bytes} bytes now, ${start.offset} bytes in journal '${this.dir}': not the stream this source fed before; nothing of it was applied`,
      );
    }
    const early = skipped.lines < start.line ? `; the input ended before line ${start.line + 1}, where the source goes on` : '';
    return `source ${source}: skipped ${skipped.lines} line${skipped.lines === 1 ? '' : 's'} already applied${early}`;
  }

  /** Journals one decided group (durable per --fsync); snapshots the ledger when enough rows have gone by. */
  record(batch: RowBatch, place: BatchPlace, ledger: Ledger): void {
    this.input.record(batch, place);
    if (this.input.snapshotDue) this.input.snapshot(ledger.liveState());
  }

  /** Ends the input (a stream is never resumed) and snapshots what changed; synchronous, once. */
  finish(ledger: Ledger): void {
    if (this.input.finish()) this.input.snapshot(ledger.liveState());
  }

  async close(): Promise<void> {
    await this.input.close();
  }
}
