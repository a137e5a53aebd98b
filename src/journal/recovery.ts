import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger } from '../domain/ledger.js';
import { noteAbandon } from './abandonedInputs.js';
import { JOURNAL_FILE, readJsonPayload, RecordKind, type SnapshotPayload } from './format.js';
import type { InputEntry } from './inputs.js';
import { JournalDamaged } from './journalError.js';
import { type JournalEnding, readJournal } from './journalReader.js';
import { Replayer } from './replayer.js';
import { isSnapshotName } from './snapshotFile.js';
import { SnapshotReader } from './snapshotReader.js';
import { UnrelayedBatch } from './unrelayedBatch.js';

export interface RecoveryOptions {
  /** Transactions the coming run may add, to size the recovered tables. */
  expectedNewTxs?: number;
  /** One line about something recovery did or found (a torn tail cut off, a snapshot passed over). */
  warn: (line: string) => void;
}

/** What a frame-only pass over the whole journal found: where its good records end, and its Snapshot records. */
interface JournalExtent {
  /** Just past the last good record (a torn tail starts here), and that record's seq (0: none). */
  end: number;
  lastSeq: number;
  ending: JournalEnding;
  /** Snapshot records by offset: the file each confirms, its CRC, and the record's seq. */
  snapshots: Map<number, { file: string; crc: number; seq: number }>;
  /** The inputs its InputAbandon records give up (the replay skips their batches). */
  abandoned: Set<number>;
}

/**
 * Every frame of the journal checked (magic, length, CRC, contiguous sequence), no decision
 * replayed: cheap (it reads the journal once, about 25 MB per million rows), and it sees damage
 * and lost records before the snapshot recovery starts from, which the replay never reads. A
 * missing journal reads as an empty one.
 */
function journalExtent(dir: string): JournalExtent {
  const path = join(dir, JOURNAL_FILE);
  const extent: JournalExtent = { end: 0, lastSeq: 0, ending: { kind: 'clean', offset: 0 }, snapshots: new Map(), abandoned: new Set() };
  if (!existsSync(path)) return extent;
  extent.ending = readJournal(path, 0, (record) => {
    if (record.seq !== extent.lastSeq + 1) {
      throw new JournalDamaged(
        `journal '${dir}' is damaged: record ${record.seq} at byte ${record.offset}: out of sequence: expected record ${extent.lastSeq + 1} (a record repeated, missing or moved); see 'payrun journal verify ${dir}'`,
      );
    }
    extent.lastSeq = record.seq;
    extent.end = record.end;
    noteAbandon(record, extent.abandoned);
    if (record.kind === RecordKind.Snapshot) {
      try {
        const payload = readJsonPayload<SnapshotPayload>(record.payload);
        extent.snapshots.set(record.offset, { file: payload.file, crc: payload.crc, seq: record.seq });
      } catch {
        // an unreadable Snapshot record confirms nothing; the replay reports it
      }
    }
  });
  throwIfDamaged(dir, extent.ending);
  return extent;
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
  const extent = journalExtent(dir);
  const base = newestConfirmedSnapshot(dir, extent, options);
  const replayer = base?.replayer ?? new Replayer(new Ledger(options.expectedNewTxs ?? 0), [], 0, extent.abandoned);
  if (!existsSync(path)) return { replayer, end: 0 };
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
 * Why an intact snapshot proves the journal lost records, or undefined: it holds the state as
 * of a record past the journal's last good one (the journal was zeroed, emptied, deleted or cut
 * back). Such a snapshot is never removed: it is the evidence.
 */
export function lostHistory(file: string, snapshot: { seq: number; journalOffset: number }, end: number, lastSeq: number): string | undefined {
  if (snapshot.journalOffset <= end && snapshot.seq <= lastSeq) return undefined;
  return `snapshot ${file} holds the state as of record ${snapshot.seq} at byte ${snapshot.journalOffset}, past the journal's end (record ${lastSeq} at byte ${end}): the journal lost records (zeroed, emptied, deleted or cut back)`;
}

/**
 * The newest snapshot that is intact and that the journal confirms (the record at its offset is
 * the Snapshot record naming it), as a replayer positioned after that record. A snapshot the
 * journal does not confirm because a crash came between its rename and its record (it is of the
 * journal's very last record) is removed; one of a record the journal no longer holds is refused.
 */
function newestConfirmedSnapshot(dir: string, extent: JournalExtent, options: RecoveryOptions): { replayer: Replayer; from: number } | undefined {
  for (const file of readdirSync(dir).filter(isSnapshotName).sort().reverse()) {
    let reader;
    try {
      reader = SnapshotReader.open(dir, file);
    } catch (error) {
      options.warn(`journal '${dir}': snapshot ${file} is unusable (${error instanceof Error ? error.message : String(error)}); using an older one`);
      continue;
    }
    try {
      const { header: snapshot, crc } = reader;
      const lost = lostHistory(file, snapshot, extent.end, extent.lastSeq);
      if (lost !== undefined) {
        throw new JournalDamaged(`journal '${dir}' is damaged: ${lost}; nothing is run on it and no snapshot is removed; see 'payrun journal verify ${dir}'`);
      }
      const inputs = reader.inputs();
      // Taken inside an input given up later: its state holds rows the journal has undone. Kept (its record names it), never used.
      if (insideAbandoned(inputs, extent.abandoned)) continue;
      if (snapshot.journalOffset === extent.end && snapshot.seq === extent.lastSeq) {
        options.warn(`journal '${dir}': removed snapshot ${file}, which a crash left unconfirmed`);
        rmSync(join(dir, file), { force: true });
        continue;
      }
      const record = extent.snapshots.get(snapshot.journalOffset);
      if (record !== undefined && record.seq === snapshot.seq + 1 && record.file === file && record.crc === crc) {
        // Streamed into a table sized from the snapshot's count: never the file or a copy of the state in memory.
        const ledger = reader.loadLedger(options.expectedNewTxs ?? 0);
        return { replayer: new Replayer(ledger, inputs, snapshot.seq, extent.abandoned), from: snapshot.journalOffset };
      }
    } finally {
      reader.close();
    }
    options.warn(`journal '${dir}': snapshot ${file} does not match the journal; using an older one`);
  }
  return undefined;
}

/** A snapshot's inputs show it was taken while an input the journal later abandons was unfinished. */
export function insideAbandoned(inputs: readonly InputEntry[], abandoned: ReadonlySet<number>): boolean {
  return inputs.some((input) => abandoned.has(input.index) && input.abandoned !== true);
}
