import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LedgerState } from '../domain/ledgerState.js';
import { JOURNAL_FILE, type InputBeginPayload, readJsonPayload, RecordKind } from './format.js';
import { JournalDamaged } from './journal.js';
import { JournalError } from './journalError.js';
import { JournalReader } from './journalReader.js';
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
  const replayer = new Replayer();
  const reader = new JournalReader(path);
  try {
    for (let record = reader.next(); record !== undefined; record = reader.next()) {
      if (limit.seq !== undefined && record.seq > limit.seq) break;
      replayer.apply(record, lineLimit);
      if (replayer.problems.length > 0) throw new JournalDamaged(`journal '${dir}' is damaged: ${replayer.problems[0]}`);
      if (lineLimit && reached(replayer, lineLimit)) break;
    }
    if (reader.tail.kind === 'corrupt') throw new JournalDamaged(`journal '${dir}' is damaged at byte ${reader.tail.offset} (${reader.tail.why})`);
  } finally {
    reader.close();
  }
  return { state: replayer.ledger.exportState(), seq: replayer.seq };
}

function reached(replayer: Replayer, limit: LineLimit): boolean {
  const input = replayer.inputs[limit.input];
  return input !== undefined && (input.complete || input.nextLine >= limit.line);
}

/** The 0-based index of input `oneBased` (default: the last one begun). */
function resolveInput(path: string, oneBased: number | undefined): number {
  let count = 0;
  const reader = new JournalReader(path);
  try {
    for (let record = reader.next(); record !== undefined; record = reader.next()) {
      if (record.kind === RecordKind.InputBegin) count = readJsonPayload<InputBeginPayload>(record.payload).input + 1;
    }
  } finally {
    reader.close();
  }
  if (count === 0) throw new JournalError('the journal holds no input, so it has no lines to stop at');
  const index = (oneBased ?? count) - 1;
  if (index < 0 || index >= count) throw new JournalError(`--input ${oneBased}: the journal holds inputs 1 to ${count}`);
  return index;
}
