import { existsSync } from 'node:fs';
import { type InputAbandonPayload, type JournalRecord, readJsonPayload, RecordKind } from './format.js';
import { readJournal } from './journalReader.js';

/** The inputs a journal has given up (`payrun journal abandon`), by index. */
export type AbandonedInputs = ReadonlySet<number>;

/**
 * Adds the input an InputAbandon record gives up to `into` (any other record: nothing). An
 * unreadable payload adds nothing: the replay that reads the record reports it.
 */
export function noteAbandon(record: JournalRecord, into: Set<number>): void {
  if (record.kind !== RecordKind.InputAbandon) return;
  try {
    into.add(readJsonPayload<InputAbandonPayload>(record.payload).input);
  } catch {
    // reported by the replayer
  }
}

/**
 * Every input the journal at `path` abandons, read ahead of a replay: an abandon comes after
 * the input's batches, and a replay must skip them from the first (the ledger cannot take rows
 * back). A pass over the frames; the reading's ending is the replay's own to act on.
 */
export function abandonedInputs(path: string): AbandonedInputs {
  const abandoned = new Set<number>();
  if (existsSync(path)) readJournal(path, 0, (record) => noteAbandon(record, abandoned));
  return abandoned;
}
