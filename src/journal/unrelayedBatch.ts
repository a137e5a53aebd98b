import { type JournalRecord, RecordKind } from './format.js';
import { type InputEntry, unfinishedInput } from './inputs.js';

/**
 * Watches records go by for a cluster partition's Batch records after its input's last Outbox
 * record (a crash between the two appends): such a batch was never relayed, its stream position
 * never recorded, so recovery cuts it off (journal.ts) and verify mentions it.
 */
export class UnrelayedBatch {
  /** Offset of the first such Batch record, while there is one. */
  offset: number | undefined;

  see(record: JournalRecord, inputs: readonly InputEntry[]): void {
    if (record.kind !== RecordKind.Batch && record.kind !== RecordKind.Outbox) return;
    if (unfinishedInput(inputs)?.kind !== 'partition') return;
    if (record.kind === RecordKind.Outbox) this.offset = undefined;
    else this.offset ??= record.offset;
  }
}
