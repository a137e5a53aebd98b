import { join } from 'node:path';
import { type RejectSink } from '../io/rejectsWriter.js';
import { readBatchPayload } from './batchRecord.js';
import { JOURNAL_FILE, type InputEndPayload, readJsonPayload, RecordKind } from './format.js';
import type { InputEntry } from './inputs.js';
import { JournalReader } from './journalReader.js';

/**
 * Passes every rejected row the journal holds for one input to sink, in file order, with its
 * original text: a resumed or repeated run writes its rejects file from here, so the file is
 * the same as an uninterrupted run's whatever the killed run had written.
 */
export function journaledRejects(dir: string, input: InputEntry, sink: RejectSink): void {
  const reader = new JournalReader(join(dir, JOURNAL_FILE), input.journalOffset);
  try {
    for (let record = reader.next(); record !== undefined; record = reader.next()) {
      if (record.kind === RecordKind.InputEnd && readJsonPayload<InputEndPayload>(record.payload).input === input.index) return;
      if (record.kind !== RecordKind.Batch) continue;
      const batch = readBatchPayload(record.payload);
      if (batch.input !== input.index) continue;
      let k = 0;
      for (let i = 0; i < batch.rows; i++) {
        const reason = batch.reason[i]!;
        if (reason === 0) continue;
        const text = batch.rejectedText[k++]!;
        sink(batch.base + batch.line[i]!, reason as Parameters<RejectSink>[1], text, 0, text.length);
      }
    }
  } finally {
    reader.close();
  }
}
