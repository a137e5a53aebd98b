import { join } from 'node:path';
import { type RejectSink } from '../io/rejectsWriter.js';
import { readBatchPayload } from './batchRecord.js';
import { JOURNAL_FILE, type InputEndPayload, readJsonPayload, RecordKind } from './format.js';
import type { InputEntry } from './inputs.js';
import { JournalDamaged } from './journalError.js';
import { readJournal } from './journalReader.js';

/**
 * Passes every rejected row the journal holds for one input to sink, in file order, with its
 * original text: a resumed or repeated run writes its rejects file from here, so the file is
 * the same as an uninterrupted run's whatever the killed run had written. The records read
 * here may lie before the newest snapshot, which recovery did not read: a reading that does not
 * reach the input's end (an applied input's InputEnd, an unfinished one's last batch) is damage,
 * never a shorter rejects file.
 */
export function journaledRejects(dir: string, input: InputEntry, sink: RejectSink): void {
  let rows = 0;
  const ending = readJournal(join(dir, JOURNAL_FILE), input.journalOffset, (record) => {
    if (record.kind === RecordKind.InputEnd && readJsonPayload<InputEndPayload>(record.payload).input === input.index) return 'stop';
    if (record.kind !== RecordKind.Batch) return;
    const batch = readBatchPayload(record.payload);
    if (batch.input !== input.index) return;
    rows += batch.rows;
    let k = 0;
    for (let i = 0; i < batch.rows; i++) {
      const reason = batch.reason[i]!;
      if (reason === 0) continue;
      const text = batch.rejectedText[k++]!;
      sink(batch.base + batch.line[i]!, reason as Parameters<RejectSink>[1], text, 0, text.length);
    }
  });
  if (rows !== input.rows || (ending.kind === 'stopped') !== input.complete) {
    const where = ending.kind === 'damaged' || ending.kind === 'torn' ? ` at byte ${ending.offset} (${ending.why})` : '';
    throw new JournalDamaged(
      `journal '${dir}' is damaged${where}: it holds ${rows} of the ${input.rows} rows of input ${input.index + 1} ('${input.name}'), so its rejected rows cannot be written; see 'payrun journal verify ${dir}'`,
    );
  }
}
