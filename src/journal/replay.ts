import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LedgerState } from '../domain/ledgerState.js';
import { abandonedInputs } from './abandonedInputs.js';
import { JOURNAL_FILE, type InputBeginPayload, readJsonPayload, RecordKind } from './format.js';
import { JournalDamaged, JournalError } from './journalError.js';
import { readJournal } from './journalReader.js';
import { type LineLimit, Replayer } from './replayer.js';

/** How far `journal replay` goes: every record, up to a record, or up to a line of one input (1-based; default the last). */
export type ReplayLimit = { seq?: number; line?: number; input?: number };

/**
 * `payrun journal replay DIR`: the accounts rebuilt from the journal's events alone (no
 * snapshot, no input file), up to a record or an input's line: a temporal query.
 */
export function replayJournal(dir: string, limit: ReplayLimit = {}): { state: LedgerState; seq: number } {
  const path = join(dir, JOURNAL_FILE);
  if (!existsSync(path)) throw new JournalError(`no journal in '${dir}'`);
  const lineLimit = limit.line === undefined ? undefined : { input: resolveInput(path, limit.input), line: limit.line };
  // An abandoned input's rows are in no replayed state, at any point (the undo is read ahead).
  const replayer = new Replayer(undefined, [], 0, abandonedInputs(path));
  const ending = readJournal(path, 0, (record) => {
    if (limit.seq !== undefined && record.seq > limit.seq) return 'stop';
    replayer.apply(record, lineLimit);
    if (replayer.problems.length > 0) throw new JournalDamaged(`journal '${dir}' is damaged: ${replayer.problems[0]}`);
    if (lineLimit && reached(replayer, lineLimit)) return 'stop';
  });
  // A torn tail is the end of what the journal holds (a run would cut it off); damage is fatal.
  if (ending.kind === 'damaged') throw new JournalDamaged(`journal '${dir}' is damaged at byte ${ending.offset} (${ending.why})`);
  return { state: replayer.ledger.exportState(), seq: replayer.seq };
}

function reached(replayer: Replayer, limit: LineLimit): boolean {
  const input = replayer.inputs[limit.input];
  return input !== undefined && (input.complete || input.nextLine >= limit.line);
}

/** The 0-based index of input `oneBased` (default: the last one begun). */
function resolveInput(path: string, oneBased: number | undefined): number {
  let count = 0;
  const ending = readJournal(path, 0, (record) => {
    if (record.kind === RecordKind.InputBegin) count = readJsonPayload<InputBeginPayload>(record.payload).input + 1;
  });
  if (ending.kind === 'damaged') throw new JournalDamaged(`journal '${dirname(path)}' is damaged at byte ${ending.offset} (${ending.why})`);
  if (count === 0) throw new JournalError('the journal holds no input, so it has no lines to stop at');
  const index = (oneBased ?? count) - 1;
  if (index < 0 || index >= count) throw new JournalError(`--input ${oneBased}: the journal holds inputs 1 to ${count}`);
  return index;
}
