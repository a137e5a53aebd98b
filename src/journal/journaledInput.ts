import type { Ledger } from '../domain/ledger.js';
import type { LedgerState, SnapshotState } from '../domain/ledgerState.js';
import type { BatchPlace, RowBatch } from '../io/rowBatch.js';
import type { OutboxPayload } from './format.js';
import { type FsyncMode } from './fsyncMode.js';
import { type InputEntry, unfinishedInput } from './inputs.js';
import type { InputKind } from './inputKind.js';
import { Journal } from './journal.js';
import { DEFAULT_SNAPSHOT_EVERY } from './journalDefaults.js';
import { JournalError } from './journalError.js';

/** The input a run journals: a file (by content), its standard input, or a cluster partition. */
export type InputClaim =
  | { kind: 'file'; sha256: string; size: number; name: string }
  | { kind: 'stdin'; id: string }
  /** A named stream source (`payrun stream --source NAME`): `id` from sourceStreamId(name). */
  | { kind: 'source'; id: string; name: string }
  /** `label` names it in messages: `partition 3 of 'payrun'`. */
  | { kind: 'partition'; id: string; name: string; label: string };

/**
 * What the run does with its input: all of it is new, it goes on from where a run stopped, or it
 * was applied already. A named stream source's new input goes on `after` its last input's end.
 */
export type InputPlan = { kind: 'new'; after?: { offset: number; line: number } } | { kind: 'resume'; input: InputEntry } | { kind: 'done'; input: InputEntry };

export interface JournaledInputOptions {
  fsync: FsyncMode;
  /** Rows between snapshots (default DEFAULT_SNAPSHOT_EVERY). */
  snapshotEvery?: number;
  /** Transactions the run may add, to size the recovered tables. */
  expectedNewTxs?: number;
  warn: (line: string) => void;
}

/**
 * How each kind of input is journaled: the one place these rules live.
 * - `endsAtFinish`: a finished run ends the input (InputEnd). A partition never ends: the next
 *   owner of the partition goes on with it.
 * - `recordsEmpty`: an input that had no batch is still recorded (an empty file is applied).
 * - `snapshotAtFinish`: 'changed' snapshots when any row came since the last snapshot; 'enough'
 *   only when it is worth rewriting the ledger (a quarter of its stored transactions, or
 *   snapshotEvery rows): a small file on a large ledger leaves the rest to recovery's replay.
 * - `snapshotAtPause`: stopped to go on later (a signal; a partition let go): 'always', or 'changed'.
 */
const POLICY: Record<InputClaim['kind'], { endsAtFinish: boolean; recordsEmpty: boolean; snapshotAtFinish: 'changed' | 'enough'; snapshotAtPause: 'always' | 'changed' }> = {
  file: { endsAtFinish: true, recordsEmpty: true, snapshotAtFinish: 'enough', snapshotAtPause: 'always' },
  stdin: { endsAtFinish: true, recordsEmpty: false, snapshotAtFinish: 'changed', snapshotAtPause: 'changed' },
  source: { endsAtFinish: true, recordsEmpty: false, snapshotAtFinish: 'changed', snapshotAtPause: 'changed' },
  partition: { endsAtFinish: false, recordsEmpty: false, snapshotAtFinish: 'changed', snapshotAtPause: 'changed' },
};

/**
 * One journaled input, for every kind of run (a file run, a stdin stream, a named stream source,
 * a cluster partition), which are thin adapters on it: it opens and recovers the journal, decides
 * what becomes of an unfinished input (a file's or a stream source's own is resumed, another
 * stale stdin stream or stream source closed with one warning, anything else refused with one
 * line), begins the input with its first batch, snapshots every `snapshotEvery` rows, and applies
 * the rules of POLICY when the run finishes or pauses.
 */
export class JournaledInput {
  private input: InputEntry | undefined;
  private settled = false;

  private constructor(
    private readonly journal: Journal,
    private readonly claim: InputClaim,
    readonly plan: InputPlan,
    private readonly every: number,
  ) {
    this.input = plan.kind === 'new' ? undefined : plan.input;
  }

  static open(dir: string, claim: InputClaim, options: JournaledInputOptions): JournaledInput {
    const { fsync, warn, expectedNewTxs = 0 } = options;
    return Journal.openFor(dir, { fsync, expectedNewTxs, warn }, (journal) => {
      const open = unfinishedInput(journal.inputs);
      const seen = journal.find(idOf(claim));
      if (open !== undefined && open !== seen) {
        if ((open.kind === 'stdin' || open.kind === 'source') && claim.kind !== 'partition') closeStaleStream(journal, open, warn);
        // An applied file run again is a no-op, whatever came after it.
        else if (claim.kind !== 'file' || seen?.complete !== true) throw new JournalError(refusalOf(journal.dir, claim, open));
      }
      return new JournaledInput(journal, claim, planOf(journal, claim), options.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY);
    });
  }

  /** The ledger as the journal left it: where this run starts. */
  get state(): LedgerState {
    return this.journal.recovered;
  }

  /** The ledger as the journal left it, handed over (once) rather than copied. */
  takeLedger(): Ledger {
    return this.journal.takeRecovered();
  }

  get dir(): string {
    return this.journal.dir;
  }

  /** The input's entry once begun (or found). */
  get entry(): InputEntry | undefined {
    return this.input;
  }

  /**
   * Where reading goes on: past the input's last journaled batch; undefined (the start, the
   * header checked) for a new input, and for one whose InputBegin a crash left with no batch after it.
   */
  get start(): { offset: number; line: number } | undefined {
    const { plan } = this;
    if (plan.kind === 'new') return plan.after;
    return plan.kind === 'resume' && plan.input.nextLine > 0 ? { offset: plan.input.nextOffset, line: plan.input.nextLine } : undefined;
  }

  /** The input's entry, begun now if it was not yet. */
  begin(): InputEntry {
    if (this.input === undefined) {
      const { claim, plan } = this;
      this.input =
        claim.kind === 'file'
          ? this.journal.begin(claim.sha256, claim.size, claim.name)
          : this.journal.begin(claim.id, 0, claim.kind === 'stdin' ? 'stdin' : claim.name, plan.kind === 'new' ? plan.after : undefined);
    }
    return this.input;
  }

  /** Journals one decided batch (the commit point, durable per --fsync), beginning the input with its first. */
  record(batch: RowBatch, place: BatchPlace): void {
    this.journal.append(this.begin(), batch, place);
  }

  /** Journals the events of the batch just recorded and the stream position they take it to (a partition). */
  recordOutbox(lastId: string, events: string[], prevId: string): void {
    this.journal.appendOutbox(this.begin(), lastId, events, prevId, false);
  }

  /** The last Outbox record of the input, read back. */
  lastOutbox(): OutboxPayload | undefined {
    return this.input ? this.journal.readOutbox(this.input) : undefined;
  }

  /** Everything recorded so far is on disk (per --fsync), off the thread. */
  flush(): Promise<void> {
    return this.journal.flush();
  }

  /** Enough rows since the last snapshot to take one. */
  get snapshotDue(): boolean {
    return this.journal.rowsSinceSnapshot >= this.every;
  }

  /** Snapshots `state`, the state as of the last record. */
  snapshot(state: SnapshotState): void {
    this.journal.snapshot(state);
  }

  /**
   * The run read its input to the end: the input is ended per POLICY (once). Returns whether a
   * snapshot is to be taken now (the caller takes it with the state as of the last record).
   */
  finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    const policy = POLICY[this.claim.kind];
    if (policy.endsAtFinish && (this.input !== undefined || policy.recordsEmpty)) this.journal.end(this.begin());
    const rows = this.journal.rowsSinceSnapshot;
    if (rows === 0) return false;
    return policy.snapshotAtFinish === 'changed' || rows * 4 >= this.journal.recoveredTxs || rows >= this.every;
  }

  /** The run stops to go on later (a signal; a partition let go): the input stays unfinished. Returns whether to snapshot now, per POLICY. */
  pause(): boolean {
    if (this.settled) return false;
    this.settled = true;
    return POLICY[this.claim.kind].snapshotAtPause === 'always' || this.journal.rowsSinceSnapshot > 0;
  }

  async close(): Promise<void> {
    await this.journal.close();
  }
}

function idOf(claim: InputClaim): string {
  return claim.kind === 'file' ? claim.sha256 : claim.id;
}

/** What the run does with the input its journal holds: new, resumed, or already applied (or, for a partition, refused when ended). */
function planOf(journal: Journal, claim: InputClaim): InputPlan {
  const seen = journal.find(idOf(claim));
  if (seen === undefined) return { kind: 'new' };
  if (!seen.complete) return { kind: 'resume', input: seen };
  // A stream source's ended input: the source goes on after it, in a new input.
  if (claim.kind === 'source') return { kind: 'new', after: seen.nextLine > 0 ? { offset: seen.nextOffset, line: seen.nextLine } : undefined };
  if (claim.kind === 'partition') throw new JournalError(`journal '${journal.dir}' has ended ${claim.label}`);
  return { kind: 'done', input: seen };
}

/**
 * Why a run of `claim` cannot go on a journal whose unfinished input is `open`, another input
 * (not a stale stdin stream, which file and stream runs close): half of one input is never mixed
 * with another.
 */
function refusalOf(dir: string, claim: InputClaim, open: InputEntry): string {
  if (claim.kind === 'partition') return `journal '${dir}' holds an unfinished input '${open.name}', not ${claim.label}`;
  const where = `${open.rows} rows applied, up to line ${open.nextLine}`;
  const otherStream: Record<InputKind, boolean> = { file: false, stdin: true, source: true, partition: true, stream: true };
  if (otherStream[open.kind]) {
    return claim.kind === 'file'
      ? `journal '${dir}' has an unfinished stream input '${open.sha256}' (${where}); only the stream run that began it goes on with it, so no file can be run on this journal`
      : `journal '${dir}' has an unfinished stream input '${open.sha256}' (${where}) that payrun stream cannot take over`;
  }
  const file = `sha256 ${open.sha256.slice(0, 12)}, ${where}`;
  const orAbandon = ` (or undo its rows with 'payrun journal abandon ${dir}')`;
  if (claim.kind === 'stdin' || claim.kind === 'source') return `journal '${dir}' has an unfinished run of '${open.name}' (${file}); run that file again to finish it before streaming${orAbandon}`;
  return open.name === claim.name
    ? `'${open.name}' changed since its unfinished run in journal '${dir}' (${file}); restore that content to finish the run${orAbandon}`
    : `journal '${dir}' has an unfinished run of '${open.name}' (${file}); run that file again to finish it first${orAbandon}`;
}

/**
 * Ends a stream input left unfinished by a `payrun stream --journal` run that did not end
 * (kill -9, a crash), when another run comes: a pipe cannot be read again, so a stdin input can
 * never be resumed, and the lock held means no run is still writing it. Its journaled rows stay
 * applied; a named source's next run still goes on after them (its place is in the ended input).
 * One warning line.
 */
function closeStaleStream(journal: Journal, stale: InputEntry, warn: (line: string) => void): void {
  journal.end(stale);
  const source = stale.kind === 'source' ? `; source ${stale.name} goes on after line ${stale.nextLine}` : '';
  warn(
    `journal '${journal.dir}': closed the unfinished stream input ${stale.index + 1} (${stale.rows} rows applied, up to line ${stale.nextLine}), left by a stream run that did not end; its rows stay applied${source}`,
  );
}
