import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { ensureDirectory } from '../io/ensureDirectory.js';
import { join } from 'node:path';
import { Ledger } from '../domain/ledger.js';
import type { LedgerState } from '../domain/ledgerState.js';
import { type BatchPlace } from '../io/rowBatch.js';
import type { RowBatch } from '../io/rowBatch.js';
import { batchPayloadBytes, writeBatchPayload } from './batchRecord.js';
import { DirLock } from './dirLock.js';
import {
  FORMAT_VERSION,
  FRAME_BYTES,
  type InputBeginPayload,
  type InputEndPayload,
  JOURNAL_FILE,
  type OutboxPayload,
  jsonPayloadBytes,
  readJsonPayload,
  readOutboxPayload,
  RecordKind,
  type SnapshotPayload,
  writeJsonPayload,
  writeJsonText,
} from './format.js';
import type { InputEntry } from './inputs.js';
import { JournalError } from './journalError.js';
import { JournalReader } from './journalReader.js';
import { JournalWriter } from './journalWriter.js';
import { type FsyncMode } from './fsyncMode.js';
import { Replayer } from './replayer.js';
import { isSnapshotName, isSnapshotTempName, readSnapshotFile, writeSnapshotFile } from './snapshotFile.js';
import { syncDirectory } from './syncDirectory.js';
import { UnrelayedBatch } from './unrelayedBatch.js';

/** Rows between snapshots unless --snapshot-every says otherwise (recovery replays at most this many). */
export const DEFAULT_SNAPSHOT_EVERY = 4_000_000;

/** Snapshots kept: the newest two (an older one serves if the newest is lost). */
const SNAPSHOTS_KEPT = 2;

export interface JournalOptions {
  fsync: FsyncMode;
  /** Transactions the coming run may add, to size the recovered tables. */
  expectedNewTxs?: number;
  /** One line about something recovery did or found (a torn tail cut off, a snapshot passed over). */
  warn: (line: string) => void;
}

/** The journal is damaged before its end, or disagrees with itself: nothing is run on it. */
export class JournalDamaged extends JournalError {}

/**
 * The durable ledger in a directory (docs/journal.md): one append-only journal of every decision
 * and periodic snapshots of the whole state. Opening it recovers the state (newest confirmed
 * snapshot, then the journal's records after it, each decision checked by replaying it) and cuts
 * off a torn last record; from then on this is the journal's only writer.
 */
export class Journal {
  rowsSinceSnapshot = 0;

  private constructor(
    readonly dir: string,
    private readonly lock: DirLock,
    private readonly writer: JournalWriter,
    /** The inputs as of the last record, kept up to date as records are appended. */
    readonly inputs: InputEntry[],
    /** The ledger state recovered at open (the engine goes on from it). */
    readonly recovered: LedgerState,
    private readonly mode: FsyncMode,
  ) {}

  static open(dir: string, options: JournalOptions): Journal {
    ensureDirectory(dir, 'journal directory');
    const lock = DirLock.take(dir);
    try {
      // Only this journal's writer (who holds the lock) writes snapshots: a temp file now is
      // half of one a crash (kill -9) cut short before its rename. It was never used; remove it.
      for (const temp of readdirSync(dir).filter(isSnapshotTempName).sort()) {
        rmSync(join(dir, temp), { force: true });
        options.warn(`journal '${dir}': removed ${temp}, a snapshot a crash left half-written (never used)`);
      }
      const path = join(dir, JOURNAL_FILE);
      if (!existsSync(path)) {
        writeFileSync(path, '');
        if (options.fsync !== 'off') syncDirectory(dir);
      }
      const { replayer, end } = recover(dir, options);
      const writer = new JournalWriter(path, end, replayer.seq, options.fsync);
      if (replayer.seq === 0) {
        // A new journal, or one whose start record a crash never finished writing.
        const start = { format: FORMAT_VERSION, created: new Date().toISOString() };
        writer.append(RecordKind.Start, jsonPayloadBytes(start), (record) => writeJsonPayload(record, start), true);
      }
      return new Journal(dir, lock, writer, replayer.inputs, replayer.ledger.exportState(), options.fsync);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  /**
   * Opens the journal and hands it to `use`, which builds what owns it from here on; if `use`
   * throws, the journal is closed (its lock let go) and the error goes on.
   */
  static openFor<T>(dir: string, options: JournalOptions, use: (journal: Journal) => T): T {
    const journal = Journal.open(dir, options);
    try {
      return use(journal);
    } catch (error) {
      void journal.close();
      throw error;
    }
  }

  /** The input with this content, if the journal has seen it. */
  find(sha256: string): InputEntry | undefined {
    return this.inputs.find((input) => input.sha256 === sha256);
  }

  begin(sha256: string, size: number, name: string): InputEntry {
    const begin: InputBeginPayload = { input: this.inputs.length, sha256, size, name };
    const offset = this.writer.append(RecordKind.InputBegin, jsonPayloadBytes(begin), (record) => writeJsonPayload(record, begin));
    const input: InputEntry = { index: begin.input, sha256, size, name, journalOffset: offset, complete: false, nextOffset: 0, nextLine: 0, rows: 0, rejected: 0 };
    this.inputs.push(input);
    return input;
  }

  /** Records one decided batch of the input (the commit point; durable per --fsync). */
  append(input: InputEntry, batch: RowBatch, place: BatchPlace): void {
    this.writer.append(RecordKind.Batch, batchPayloadBytes(batch), (record) => writeBatchPayload(record, input.index, batch, place));
    let rejected = 0;
    for (let i = 0; i < batch.count; i++) if (batch.reason[i] !== 0) rejected++;
    input.rows += batch.count;
    input.rejected += rejected;
    input.nextOffset = place.nextOffset;
    input.nextLine = place.nextLine;
    this.rowsSinceSnapshot += batch.count;
  }

  /**
   * The events of the batch just appended, for relaying to a message log, with the stream
   * position they take the input to; durable (per --fsync) before it returns, unless `durable`
   * is false (then the caller makes it so with flush() before relaying anything).
   */
  appendOutbox(input: InputEntry, lastId: string, events: string[], prevId = input.outbox?.lastId ?? '', durable = true): void {
    // The JSON part names the batch; the events follow it as they are, one per line (each is
    // already JSON: escaping them again inside a JSON array cost more than writing them).
    const body = events.join('\n');
    const bodyBytes = Buffer.byteLength(body, 'utf8');
    const head = Buffer.from(JSON.stringify({ input: input.index, lastId, prevId, eventCount: events.length, eventBytes: bodyBytes }), 'utf8');
    const seq = this.writer.nextSeq;
    const offset = this.writer.append(RecordKind.Outbox, 4 + head.length + bodyBytes, (record) => {
      const at = writeJsonText(record, head);
      record.write(body, FRAME_BYTES + at, bodyBytes, 'utf8');
      return at + bodyBytes;
    }, durable);
    input.outbox = { seq, offset, lastId };
  }

  /** Everything appended so far is on disk (per --fsync), without blocking the thread. */
  flush(): Promise<void> {
    return this.writer.syncAsync();
  }

  /** The Outbox record an input's last relay came from, read back (to relay it again after a crash). */
  readOutbox(input: InputEntry): OutboxPayload | undefined {
    if (input.outbox === undefined) return undefined;
    const reader = new JournalReader(join(this.dir, JOURNAL_FILE), input.outbox.offset);
    try {
      const record = reader.next();
      return record?.kind === RecordKind.Outbox ? readOutboxPayload(record.payload) : undefined;
    } finally {
      reader.close();
    }
  }

  /** The input is fully applied: recorded and on disk before any output is written. */
  end(input: InputEntry): void {
    const end: InputEndPayload = { input: input.index, rows: input.rows, lines: input.nextLine };
    this.writer.append(RecordKind.InputEnd, jsonPayloadBytes(end), (record) => writeJsonPayload(record, end), true);
    input.complete = true;
  }

  /**
   * Writes a snapshot of `state`, which must be the state as of the last record appended: the
   * journal is made durable first (a snapshot is never ahead of it), then the file (temp, fsync,
   * rename, directory fsync), then a Snapshot record confirms it; older snapshots are retired.
   */
  snapshot(state: LedgerState): void {
    this.writer.sync();
    const seq = this.writer.nextSeq - 1;
    const older = readdirSync(this.dir).filter(isSnapshotName).sort();
    const durable = this.mode !== 'off';
    const written = writeSnapshotFile(this.dir, { seq, journalOffset: this.writer.offset, inputs: this.inputs, state }, durable);
    const retired = older.filter((file) => file !== written.file).slice(0, Math.max(0, older.length - (SNAPSHOTS_KEPT - 1)));
    const record: SnapshotPayload = { ...written, seq, retired };
    this.writer.append(RecordKind.Snapshot, jsonPayloadBytes(record), (buffer) => writeJsonPayload(buffer, record), true);
    for (const file of retired) rmSync(join(this.dir, file), { force: true });
    this.rowsSinceSnapshot = 0;
  }

  async close(): Promise<void> {
    try {
      await this.writer.close();
    } finally {
      this.lock.release();
    }
  }
}

/**
 * The state as of the journal's last good record, and where the next record goes. A cluster
 * partition's batch counts only with the Outbox record that follows it (its events and stream
 * position): Batch records after a partition input's last Outbox, left by a crash between the
 * two, are cut off like a torn record (their entries are still pending in the stream and are
 * read again), so recovery never holds rows the stream position does not cover. `limit`: read
 * only the records before that byte offset (and go on writing there).
 */
function recover(dir: string, options: JournalOptions, limit?: number): { replayer: Replayer; end: number } {
  const path = join(dir, JOURNAL_FILE);
  const base = newestConfirmedSnapshot(dir, options);
  const replayer = base?.replayer ?? new Replayer(new Ledger(options.expectedNewTxs ?? 0));
  const reader = new JournalReader(path, base?.from ?? 0);
  const named = new Set<string>();
  try {
    const unrelayed = new UnrelayedBatch();
    for (let record = reader.next(); record !== undefined; record = reader.next()) {
      if (limit !== undefined && record.offset >= limit) return { replayer, end: limit };
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
    }
    const tail = reader.tail;
    if (tail.kind === 'corrupt') {
      throw new JournalDamaged(`journal '${dir}' is damaged at byte ${tail.offset} (${tail.why}), with good records after it; see 'payrun journal verify ${dir}'`);
    }
    if (tail.kind === 'torn') {
      options.warn(`journal '${dir}': cut off a torn last record at byte ${tail.offset} (${tail.why}), left by a crash; its rows are read again from the input`);
    }
    const orphan = unrelayed.offset;
    if (orphan !== undefined && limit === undefined) {
      options.warn(`journal '${dir}': cut off a batch at byte ${orphan} journaled without its outbox record (a crash between the two); its entries are read again from the stream`);
      return recover(dir, options, orphan);
    }
    for (const file of named) {
      if (!existsSync(join(dir, file))) options.warn(`journal '${dir}': snapshot ${file} is missing; the state was rebuilt from the journal instead`);
    }
    return { replayer, end: tail.kind === 'torn' ? tail.offset : reader.size };
  } finally {
    reader.close();
  }
}

/**
 * The newest snapshot that is intact and that the journal confirms (the record at its offset is
 * the Snapshot record naming it), as a replayer positioned after that record. A snapshot the
 * journal does not confirm, left by a crash between the rename and the record, is removed.
 */
function newestConfirmedSnapshot(dir: string, options: JournalOptions): { replayer: Replayer; from: number } | undefined {
  const path = join(dir, JOURNAL_FILE);
  const journalBytes = statSync(path).size;
  for (const file of readdirSync(dir).filter(isSnapshotName).sort().reverse()) {
    let confirmed = false;
    try {
      const { snapshot, crc } = readSnapshotFile(dir, file);
      const reader = new JournalReader(path, snapshot.journalOffset);
      const record = reader.next();
      const tail = reader.tail;
      reader.close();
      if (record === undefined && (snapshot.journalOffset === journalBytes || tail.kind === 'torn')) {
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
