import type { Ledger } from '../domain/ledger.js';
import type { LedgerState } from '../domain/ledgerState.js';
import type { RunOptions } from '../engine/run.js';
import type { InputSource } from '../io/inputSource.js';
import { type RejectSink } from '../io/rejectsWriter.js';
import { contentHash } from '../journal/contentHash.js';
import { type FsyncMode } from '../journal/fsyncMode.js';
import { type InputPlan, JournaledInput } from '../journal/journaledInput.js';
import { JournalError } from '../journal/journalError.js';
import { journaledRejects } from '../journal/journaledRejects.js';
import { ReadCheck } from './readCheck.js';

export type { InputPlan } from '../journal/journaledInput.js';

export interface JournalSessionOptions {
  dir: string;
  fsync: FsyncMode;
  snapshotEvery?: number;
  warn: (line: string) => void;
}

/**
 * One run of `payrun --journal DIR file`: the journal opened (and recovered), the input
 * recognised by its content, and the hooks that journal every decided batch, take snapshots
 * and stop cleanly on SIGINT/SIGTERM.
 */
export class JournalSession {
  /** The signal that asked the run to stop, if one did. */
  signal: NodeJS.Signals | undefined;
  private readonly removeSignals: () => void;

  private constructor(
    private readonly input: JournaledInput,
    private readonly source: InputSource & { size: number },
    private readonly check: ReadCheck,
  ) {
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
    const claim = { kind: 'file', sha256: contentHash(source.file.fd), size: source.size, name: source.name } as const;
    const check = new ReadCheck(source.file.fd, source.name, claim.sha256, claim.size, options.dir);
    const input = JournaledInput.open(options.dir, claim, { fsync: options.fsync, snapshotEvery: options.snapshotEvery, warn: options.warn });
    return new JournalSession(input, source as InputSource & { size: number }, check);
  }

  get plan(): InputPlan {
    return this.input.plan;
  }

  /** The ledger as the journal left it: where this run starts. */
  get state(): LedgerState {
    return this.input.state;
  }

  /** The ledger as the journal left it, handed over (once) to the engine that goes on in it. */
  takeLedger(): Ledger {
    return this.input.takeLedger();
  }

  get dir(): string {
    return this.input.dir;
  }

  /** Where reading starts: past what the journal holds of this input. */
  get start(): { offset: number; line: number } | undefined {
    return this.input.start;
  }

  /** The input from where reading starts, every chunk checked to be of the content hashed (ReadCheck). */
  get chunks(): AsyncIterable<Buffer> {
    const from = this.start?.offset ?? 0;
    return this.check.chunks(this.source.file!.chunksFrom(from), from);
  }

  /** Bytes of the input still to be read. */
  get remainingBytes(): number {
    return this.source.size - (this.start?.offset ?? 0);
  }

  /** Rejected rows of this input the journal holds already (a resumed or repeated run writes them first). */
  replayRejects(sink: RejectSink): void {
    if (this.plan.kind !== 'new') journaledRejects(this.dir, this.plan.input, sink);
  }

  /** The run() hooks: journal each batch, snapshot as due and at the end, stop on a signal. */
  hooks(): Pick<RunOptions, 'start' | 'onBatch' | 'checkpoint' | 'shouldStop'> {
    const { input } = this;
    return {
      start: this.start,
      onBatch: (batch, place) => input.record(batch, place),
      shouldStop: () => this.signal !== undefined,
      checkpoint: {
        due: () => input.snapshotDue,
        take: async (state, when) => {
          const take = when === 'due' || (when === 'end' ? input.finish() : input.pause());
          if (take) input.snapshot(await state());
        },
      },
    };
  }

  /**
   * After a fatal input error (a line too long): what the journal keeps of the input and the way
   * out, as the end of the error's line; undefined when none of it was journaled (nothing is left to undo).
   */
  get leftUnfinished(): string | undefined {
    const entry = this.input.entry;
    if (entry === undefined || entry.complete) return undefined;
    return `it stays unfinished in journal '${this.dir}' with ${entry.rows} rows applied, and no other file runs on it until 'payrun journal abandon ${this.dir}' undoes them`;
  }

  /** The line where a stopped run can go on. */
  get stoppedAt(): number {
    return this.input.entry?.nextLine ?? this.start?.line ?? 0;
  }

  async close(): Promise<void> {
    this.removeSignals();
    await this.input.close();
  }
}
