import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { JOURNAL_FILE } from './format.js';
import { describeInputId } from './inputKind.js';
import { type InputEntry, unfinishedInput } from './inputs.js';
import { Journal } from './journal.js';
import { JournalError } from './journalError.js';
import { recover } from './recovery.js';

/** What `payrun journal abandon` undid. */
export interface AbandonedInput {
  input: InputEntry;
  /** Its rows and lines (header and blank lines included) that the journal held, all undone. */
  rows: number;
  lines: number;
}

/**
 * `payrun journal abandon DIR`: gives up the journal's unfinished input (a file that failed
 * mid-way, or changed, and can never be finished) so the journal goes on without it. Three
 * steps, each safe to be killed after (docs/journal.md):
 * 1. an InputAbandon record, on disk: from here every replay skips the input's batches;
 * 2. the state before the input, recovered again now that the journal says so (snapshots taken
 *    inside the input are passed over);
 * 3. a snapshot of that state, so later recoveries start from it.
 * Killed before 1, nothing changed; after 1, every reader already sees the input undone.
 */
export async function abandonUnfinishedInput(dir: string, options: { warn: (line: string) => void }): Promise<AbandonedInput> {
  // Opening a journal makes its directory: an abandon never makes one.
  if (!existsSync(join(dir, JOURNAL_FILE))) throw new JournalError(`no journal in '${dir}'`);
  const journal = Journal.open(dir, { fsync: 'always', warn: options.warn }); // every record of an undo on disk at once
  try {
    const open = unfinishedInput(journal.inputs);
    if (open === undefined) throw new JournalError(nothingToAbandon(journal));
    // A partition's rows were relayed and its stream position moved on: undoing them would lose them.
    if (open.kind === 'partition') throw new JournalError(`journal '${dir}': the unfinished input '${open.name}' is a cluster partition, which is never abandoned`);
    const abandoned = { input: open, rows: open.rows, lines: open.nextLine };
    journal.abandon(open);
    const { replayer } = recover(dir, { warn: options.warn });
    journal.snapshot(replayer.ledger.liveState());
    return abandoned;
  } finally {
    await journal.close();
  }
}

function nothingToAbandon(journal: Journal): string {
  const last = journal.inputs[journal.inputs.length - 1];
  const already = last?.abandoned === true ? ` (input ${last.index + 1} '${last.name}', ${describeInputId(last)}, is abandoned already)` : '';
  return `journal '${journal.dir}' has no unfinished input${already}; nothing to abandon`;
}
