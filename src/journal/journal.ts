import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { ensureDirectory } from '../io/ensureDirectory.js';
import { join } from 'node:path';
import type { Ledger } from '../domain/ledger.js';
import type { LedgerState, SnapshotState } from '../domain/ledgerState.js';
import { type BatchPlace } from '../io/rowBatch.js';
import type { RowBatch } from '../io/rowBatch.js';
import { batchPayloadBytes, writeBatchPayload } from './batchRecord.js';
import { DirLock } from './dirLock.js';
import {
  FORMAT_VERSION,
  FRAME_BYTES,
  type InputAbandonPayload,
  type InputBeginPayload,
  type InputEndPayload,
  JOURNAL_FILE,
  type OutboxPayload,
  type JournalRecord,
  jsonPayloadBytes,
  readOutboxPayload,
  RecordKind,
  type SnapshotPayload,
  writeJsonPayload,
  writeJsonText,
} from './format.js';
import { evolveInputs, type InputEntry } from './inputs.js';
import { JournalDamaged } from './journalError.js';
import { readJournal } from './journalReader.js';
import { JournalWriter } from './journalWriter.js';
import { type FsyncMode } from './fsyncMode.js';
import { recover, type RecoveryOptions } from './recovery.js';
import { isSnapshotName, isSnapshotTempName, writeSnapshotFile } from './snapshotFile.js';
import { syncDirectory } from './syncDirectory.js';

/** Rows between snapshots unless --snapshot-every says otherwise (recovery replays at most this many). */

/** Snapshots kept: the newest two (an older one serves if the newest is lost). */
const SNAPSHOTS_KEPT = 2;

export interface JournalOptions extends RecoveryOptions {
  fsync: FsyncMode;
}

export { JournalDamaged };

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
    /** The ledger recovered at open (the engine goes on from it), until takeRecovered() hands it over. */
    private recoveredLedger: Ledger | undefined,
    private readonly mode: FsyncMode,
  ) {
    this.recoveredTxs = recoveredLedger?.book.size ?? 0;
  }

  /** Stored transactions in the ledger recovered at open. */
  readonly recoveredTxs: number;

  /**
   * The recovered ledger itself, handed over once (the engine goes on in it): no copy of its
   * state and no second table (each 16 to 25 bytes per stored transaction).
   */
  takeRecovered(): Ledger {
    const ledger = this.recoveredLedger;
    if (ledger === undefined) throw new Error('the recovered ledger was handed over already');
    this.recoveredLedger = undefined;
    return ledger;
  }

  /** A copy of the ledger state recovered at open (for a caller that builds its own ledger from it). */
  get recovered(): LedgerState {
    if (this.recoveredLedger === undefined) throw new Error('the recovered ledger was handed over already');
    return this.recoveredLedger.exportState();
  }

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
      // Recovered first: a journal.log that is missing while snapshots prove it held records is refused, not made anew.
      const { replayer, end } = recover(dir, options);
      if (!existsSync(path)) {
        writeFileSync(path, '');
        if (options.fsync !== 'off') syncDirectory(dir);
      }
      const writer = new JournalWriter(path, end, replayer.seq, options.fsync);
      if (replayer.seq === 0) {
        // A new journal, or one whose start record a crash never finished writing.
        const start = { format: FORMAT_VERSION, created: new Date().toISOString() };
        writer.append(RecordKind.Start, jsonPayloadBytes(start), (record) => writeJsonPayload(record, start), true);
      }
      return new Journal(dir, lock, writer, replayer.inputs, replayer.ledger, options.fsync);
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

  /**
   * The latest input with this id (a file's content, a stream source's name), if the journal has
   * seen it; an abandoned one is as if never seen.
   */
  find(sha256: string): InputEntry | undefined {
    for (let i = this.inputs.length - 1; i >= 0; i--) {
      const input = this.inputs[i]!;
      if (input.sha256 === sha256 && input.abandoned !== true) return input;
    }
    return undefined;
  }

  /** Begins an input; `from`: where its first batch starts, when not at the start (a stream source going on). */
  begin(sha256: string, size: number, name: string, from?: { offset: number; line: number }): InputEntry {
    const begin: InputBeginPayload = from === undefined ? { input: this.inputs.length, sha256, size, name } : { input: this.inputs.length, sha256, size, name, from };
    const offset = this.writer.append(RecordKind.InputBegin, jsonPayloadBytes(begin), (record) => writeJsonPayload(record, begin));
    evolveInputs(this.inputs, { type: 'begin', begin, offset });
    return this.inputs[begin.input]!;
  }

  /** Records one decided batch of the input (the commit point; durable per --fsync). */
  append(input: InputEntry, batch: RowBatch, place: BatchPlace): void {
    this.writer.append(RecordKind.Batch, batchPayloadBytes(batch), (record) => writeBatchPayload(record, input.index, batch, place));
    let rejected = 0;
    for (let i = 0; i < batch.count; i++) if (batch.reason[i] !== 0) rejected++;
    evolveInputs(this.inputs, { type: 'batch', input: input.index, rows: batch.count, rejected, nextOffset: place.nextOffset, nextLine: place.nextLine });
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
    evolveInputs(this.inputs, { type: 'outbox', input: input.index, seq, offset, lastId });
  }

  /** Everything appended so far is on disk (per --fsync), without blocking the thread. */
  flush(): Promise<void> {
    return this.writer.syncAsync();
  }

  /** The Outbox record an input's last relay came from, read back (to relay it again after a crash). */
  readOutbox(input: InputEntry): OutboxPayload | undefined {
    if (input.outbox === undefined) return undefined;
    let record: JournalRecord | undefined;
    const ending = readJournal(join(this.dir, JOURNAL_FILE), input.outbox.offset, (read) => {
      record = read;
      return 'stop';
    });
    // Recovery read this record a moment ago: not finding it now is damage, never "no outbox".
    if (record?.kind !== RecordKind.Outbox) {
      throw new JournalDamaged(`journal '${this.dir}' is damaged: no outbox record at byte ${input.outbox.offset} (${ending.kind === 'stopped' ? `a record of kind ${record?.kind}` : ending.kind}); see 'payrun journal verify ${this.dir}'`);
    }
    return readOutboxPayload(record.payload);
  }

  /** The input is fully applied: recorded and on disk before any output is written. */
  end(input: InputEntry): void {
    const end: InputEndPayload = { input: input.index, rows: input.rows, lines: input.nextLine };
    this.writer.append(RecordKind.InputEnd, jsonPayloadBytes(end), (record) => writeJsonPayload(record, end), true);
    evolveInputs(this.inputs, { type: 'end', end });
  }

  /**
   * Gives up the unfinished input (`payrun journal abandon`): recorded and on disk before it
   * returns. Every replay from here on skips its batches; the state recovered at open still
   * holds them, so the caller recovers again for the restored state.
   */
  abandon(input: InputEntry): void {
    const abandon: InputAbandonPayload = { input: input.index, rows: input.rows, lines: input.nextLine };
    this.writer.append(RecordKind.InputAbandon, jsonPayloadBytes(abandon), (record) => writeJsonPayload(record, abandon), true);
    evolveInputs(this.inputs, { type: 'abandon', abandon });
  }

  /**
   * Writes a snapshot of `state`, which must be the state as of the last record appended: the
   * journal is made durable first (a snapshot is never ahead of it), then the file (temp, fsync,
   * rename, directory fsync), then a Snapshot record confirms it; older snapshots are retired.
   */
  snapshot(state: SnapshotState): void {
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
