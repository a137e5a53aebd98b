import { DEFAULT_SNAPSHOT_EVERY } from '../journal/journal.js';
import type { LedgerState } from '../domain/ledgerState.js';
import type { RunOptions } from '../engine/run.js';
import { type RejectSink } from '../io/rejectsWriter.js';
import { contentHash } from '../journal/contentHash.js';
import type { InputEntry } from '../journal/inputs.js';
import { STREAM_INPUT, unfinishedInput } from '../journal/inputs.js';
import { Journal } from '../journal/journal.js';
import { JournalError } from '../journal/journalError.js';
import { journaledRejects } from '../journal/journaledRejects.js';
import { type FsyncMode } from '../journal/fsyncMode.js';
import { closeStaleStdinStream, staleStdinStream } from './stdinStream.js';
import type { InputSource } from '../io/inputSource.js';

export interface JournalSessionOptions {
  dir: string;
  fsync: FsyncMode;
  snapshotEvery?: number;
  warn: (line: string) => void;
}

/** What a journaled run does with its input: all of it is new, it goes on from where a run stopped, or it was applied already. */
export type InputPlan = { kind: 'new' } | { kind: 'resume'; input: InputEntry } | { kind: 'done'; input: InputEntry };

/**
 * One run of `payrun --journal DIR file`: the journal opened (and recovered), the input
 * recognised by its content, and the hooks that journal every decided batch, take snapshots
 * and stop cleanly on SIGINT/SIGTERM.
 */
export class JournalSession {
  readonly plan: InputPlan;
  /** The signal that asked the run to stop, if one did. */
  signal: NodeJS.Signals | undefined;
  private input: InputEntry | undefined;
  private readonly sha256: string;
  private readonly removeSignals: () => void;

  private constructor(
    private readonly journal: Journal,
    private readonly source: InputSource & { size: number },
    private readonly options: JournalSessionOptions,
  ) {
    this.sha256 = contentHash(source.file!.fd);
    this.plan = this.planInput();
    this.input = this.plan.kind === 'new' ? undefined : this.plan.input;
    const onSignal = (signal: NodeJS.Signals): void => {
      this.signal ??= signal;
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    this.removeSignals = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
  }

  static open(source: InputSource, options: JournalSessionOptions): JournalSession {
    if (source.file === undefined || source.size === undefined) {
      throw new JournalError(`--journal needs an input it can read again to resume; '${source.name}' is not a regular file`);
    }
    return Journal.openFor(options.dir, { fsync: options.fsync, expectedNewTxs: 0, warn: options.warn }, (journal) => {
      // A `payrun stream --journal` run killed mid-way leaves its stdin input unfinished: a pipe
      // can never be resumed, so it is closed (its rows stay applied), as the next stream run
      // would; the lock we hold means no stream run is still writing it.
      const stale = staleStdinStream(journal.inputs);
      if (stale !== undefined) closeStaleStdinStream(journal, stale, options.warn);
      return new JournalSession(journal, source as InputSource & { size: number }, options);
    });
  }

  /** The ledger as the journal left it: where this run starts. */
  get state(): LedgerState {
    return this.journal.recovered;
  }

  get dir(): string {
    return this.journal.dir;
  }

  /** Where reading starts: past what the journal holds of this input. */
  get start(): { offset: number; line: number } | undefined {
    return this.plan.kind === 'resume' ? { offset: this.plan.input.nextOffset, line: this.plan.input.nextLine } : undefined;
  }

  get chunks(): AsyncIterable<Buffer> {
    return this.source.file!.chunksFrom(this.start?.offset ?? 0);
  }

  /** Bytes of the input still to be read. */
  get remainingBytes(): number {
    return this.source.size - (this.start?.offset ?? 0);
  }

  /** Rejected rows of this input the journal holds already (a resumed or repeated run writes them first). */
  replayRejects(sink: RejectSink): void {
    if (this.plan.kind !== 'new') journaledRejects(this.journal.dir, this.plan.input, sink);
  }

  /** The run() hooks: journal each batch, snapshot as due and at the end, stop on a signal. */
  hooks(): Pick<RunOptions, 'start' | 'onBatch' | 'checkpoint' | 'shouldStop'> {
    const every = this.options.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY;
    return {
      start: this.start,
      onBatch: (batch, place) => {
        this.input ??= this.journal.begin(this.sha256, this.source.size, this.source.name);
        this.journal.append(this.input, batch, place);
      },
      shouldStop: () => this.signal !== undefined,
      checkpoint: {
        due: () => this.journal.rowsSinceSnapshot >= every,
        take: async (state, when) => {
          if (when === 'end') {
            // Also an empty input (no batch) is recorded as applied.
            this.input ??= this.journal.begin(this.sha256, this.source.size, this.source.name);
            this.journal.end(this.input);
            // A small run on a large ledger need not rewrite it all: recovery replays the rest.
            if (this.journal.rowsSinceSnapshot === 0) return;
            const txs = this.journal.recovered.txAmounts.length;
            if (this.journal.rowsSinceSnapshot * 4 < txs && this.journal.rowsSinceSnapshot < every) return;
          }
          this.journal.snapshot(await state());
        },
      },
    };
  }

  /** The line where a stopped run can go on. */
  get stoppedAt(): number {
    return this.input?.nextLine ?? this.start?.line ?? 0;
  }

  async close(): Promise<void> {
    this.removeSignals();
    await this.journal.close();
  }

  private planInput(): InputPlan {
    const seen = this.journal.find(this.sha256);
    if (seen?.complete) return { kind: 'done', input: seen };
    const open = unfinishedInput(this.journal.inputs);
    if (open !== undefined && open !== seen) {
      if (open.sha256.startsWith(STREAM_INPUT)) {
        throw new JournalError(
          `journal '${this.dir}' has an unfinished stream input '${open.sha256}' (${open.rows} rows applied, up to line ${open.nextLine}); only the stream run that began it goes on with it, so no file can be run on this journal`,
        );
      }
      const where = `sha256 ${open.sha256.slice(0, 12)}, ${open.rows} rows applied, up to line ${open.nextLine}`;
      const what =
        open.name === this.source.name
          ? `'${open.name}' changed since its unfinished run in journal '${this.dir}' (${where}); restore that content to finish the run`
          : `journal '${this.dir}' has an unfinished run of '${open.name}' (${where}); run that file again to finish it first`;
      throw new JournalError(what);
    }
    return seen ? { kind: 'resume', input: seen } : { kind: 'new' };
  }
}
