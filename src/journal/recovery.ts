import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger } from '../domain/ledger.js';
import { JOURNAL_FILE, type JournalRecord, readJsonPayload, RecordKind, type SnapshotPayload } from './format.js';
import { JournalDamaged } from './journalError.js';
import { type JournalEnding, readJournal } from './journalReader.js';
import { Replayer } from './replayer.js';
import { isSnapshotName, readSnapshotFile } from './snapshotFile.js';
import { UnrelayedBatch } from './unrelayedBatch.js';

export interface RecoveryOptions {
  /** Transactions the coming run may add, to size the recovered tables. */
  expectedNewTxs?: number;
  /** One line about something recovery did or found (a torn tail cut off, a snapshot passed over). */
  warn: (line: string) => void;
}

/**
 * The state as of the journal's last good record, and where the next record goes. A cluster
 * partition's batch counts only with the Outbox record that follows it (its events and stream
 * position): Batch records after a partition input's last Outbox, left by a crash between the
 * two, are cut off like a torn record (their entries are still pending in the stream and are
 * read again), so recovery never holds rows the stream position does not cover. `limit`: read
 * only the records before that byte offset (and go on writing there).
 */
export function recover(dir: string, options: RecoveryOptions, limit?: number): { replayer: Replayer; end: number } {
  const path = join(dir, JOURNAL_FILE);
  const base = newestConfirmedSnapshot(dir, options);
  const replayer = base?.replayer ?? new Replayer(new Ledger(options.expectedNewTxs ?? 0));
  const named = new Set<string>();
  const unrelayed = new UnrelayedBatch();
  const ending = readJournal(path, base?.from ?? 0, (record) => {
    if (limit !== undefined && record.offset >= limit) return 'stop';
    replayer.apply(record);
    if (replayer.problems.length > 0) {
      throw new JournalDamaged(`journal '${dir}' is damaged: ${replayer.problems[0]}; see 'payrun journal verify ${dir}'`);
    }
    unrelayed.see(record, replayer.inputs);
    if (record.kind === RecordKind.Snapshot) {
      const snapshot = readJsonPayload<SnapshotPayload>(record.payload);
      named.add(snapshot.file);
      for (const file of snapshot.retired) named.delete(file);
    }
  });
  if (ending.kind === 'stopped') return { replayer, end: limit! };
  throwIfDamaged(dir, ending);
  if (ending.kind === 'torn') {
    options.warn(`journal '${dir}': cut off a torn last record at byte ${ending.offset} (${ending.why}), left by a crash; its rows are read again from the input`);
  }
  const orphan = unrelayed.offset;
  if (orphan !== undefined && limit === undefined) {
    options.warn(`journal '${dir}': cut off a batch at byte ${orphan} journaled without its outbox record (a crash between the two); its entries are read again from the stream`);
    return recover(dir, options, orphan);
  }
  for (const file of named) {
    if (!existsSync(join(dir, file))) options.warn(`journal '${dir}': snapshot ${file} is missing; the state was rebuilt from the journal instead`);
  }
  return { replayer, end: ending.offset };
}

/** A reading that met damage (a bad frame with good records after it) is fatal: one line, nothing run. */
export function throwIfDamaged(dir: string, ending: JournalEnding): void {
  if (ending.kind === 'damaged') {
    throw new JournalDamaged(`journal '${dir}' is damaged at byte ${ending.offset} (${ending.why}), with good records after it; see 'payrun journal verify ${dir}'`);
  }
}

/**
 * The newest snapshot that is intact and that the journal confirms (the record at its offset is
 * the Snapshot record naming it), as a replayer positioned after that record. A snapshot the
 * journal does not confirm, left by a crash between the rename and the record, is removed.
 */
function newestConfirmedSnapshot(dir: string, options: RecoveryOptions): { replayer: Replayer; from: number } | undefined {
  const path = join(dir, JOURNAL_FILE);
  const journalBytes = statSync(path).size;
  for (const file of readdirSync(dir).filter(isSnapshotName).sort().reverse()) {
    let confirmed = false;
    try {
      const { snapshot, crc } = readSnapshotFile(dir, file);
      let record: JournalRecord | undefined;
      const ending = readJournal(path, snapshot.journalOffset, (first) => {
        record = first;
        return 'stop';
      });
      if (record === undefined && (snapshot.journalOffset === journalBytes || ending.kind === 'torn')) {
        options.warn(`journal '${dir}': removed snapshot ${file}, which a crash left unconfirmed`);
        rmSync(join(dir, file), { force: true });
        continue;
      }
      if (record?.kind === RecordKind.Snapshot && record.seq === snapshot.seq + 1) {
        const payload = readJsonPayload<SnapshotPayload>(record.payload);
        confirmed = payload.file === file && payload.crc === crc;
        if (confirmed) {
          const ledger = Ledger.fromState(snapshot.state, options.expectedNewTxs ?? 0);
          return { replayer: new Replayer(ledger, snapshot.inputs, snapshot.seq), from: snapshot.journalOffset };
        }
      }
      options.warn(`journal '${dir}': snapshot ${file} does not match the journal; using an older one`);
    } catch (error) {
      options.warn(`journal '${dir}': snapshot ${file} is unusable (${error instanceof Error ? error.message : String(error)}); using an older one`);
    }
  }
  return undefined;
}
