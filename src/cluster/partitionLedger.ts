import { Ledger } from '../domain/ledger.js';
import { namesAccount, RejectReason } from '../domain/rejectReason.js';
import { DUPLICATE_FLAG, ownsTxId } from '../domain/txType.js';
import { parseLines } from '../io/lineParser.js';
import { RowBatch, rowCapacityFor } from '../io/rowBatch.js';
import { ParsedRow } from '../io/rowParser.js';
import { decodeChunk, type ReadChunk } from './chunkEntry.js';
import { EventWriter } from './eventCodec.js';
import { compareIds } from './keys.js';
import { encodeChanges, encodeSnapshot, restoreLedger, type StoredPartition } from './partitionState.js';
import type { Commit, DeadLetter, LogEntry } from './transport.js';

/** An entry handed out more often than this without a commit is a dead letter (a poison entry). */
export const DEFAULT_MAX_DELIVERIES = 10;
/** A row's outcome while it is set aside: its client belongs to another partition. */
const STRAY = 255;
/** Snapshot once the changelog holds this many changes, or half as many as the last snapshot's transactions if more. */
const SNAPSHOT_MIN_CHANGES = 200_000;

/** What one batch of entries comes to: a commit to make, and/or ids only to acknowledge (already applied). */
export interface Prepared {
  commit?: Commit;
  /** Entries at or before the position: already decided (never applied twice). */
  seen: string[];
  rows: number;
}

/** A chunk and the entry it came in. */
type EntryChunk = ReadChunk & { id: string };

/** Counts the CRLF-ended rows of a chunk's text as the parser will see them, or -1 if a line is blank (not a row). */
function rowsOf(chunk: ReadChunk, batch: RowBatch, row: ParsedRow): number {
  parseLines(chunk.text, 0, chunk.text.length, batch, row);
  return batch.count === batch.lines ? batch.count : -1;
}

/**
 * One partition's ledger in a consumer: rebuilt from the state Redis holds for it (any consumer,
 * on any machine, can), it decides entries in id order and hands out each batch's commit; only
 * the lease holder's commits are accepted, so the state in Redis moves one batch at a time.
 */
export class PartitionLedger {
  private readonly row = new ParsedRow();
  private batch = new RowBatch(1024);
  /** Clients a batch touched (a mark per client id, cleared after each batch). */
  private readonly touched = new Uint8Array(65_536);
  /** Changes in Redis's changelog since its snapshot; the id of the last one; the snapshot's transactions. */
  private changed: number;
  private snapshotSize = 0;
  private changesId = '';
  /** Times this partition was taken over at its position with entries waiting (the first entry after it has been handed out that often). */
  takeovers = 0;

  private constructor(
    readonly partition: number,
    private readonly partitions: number,
    readonly ledger: Ledger,
    /** The id of the last entry decided ('' before any). */
    public position: string,
    private readonly owner: string,
    private readonly maxDeliveries: number,
    changed: number,
  ) {
    this.changed = changed;
  }

  /** The ledger of partition p as stored in Redis; throws (in words) when the stored state cannot be read. */
  static restore(stored: StoredPartition, p: number, partitions: number, owner: string, maxDeliveries = DEFAULT_MAX_DELIVERIES): PartitionLedger {
    const changed = stored.changes.reduce((n, [, bytes]) => n + bytes.length / 16, 0);
    const ledger = new PartitionLedger(p, partitions, restoreLedger(stored), stored.position, owner, maxDeliveries, changed);
    ledger.changesId = stored.changes.at(-1)?.[0] ?? '';
    ledger.snapshotSize = stored.snapshot === undefined ? 0 : (stored.snapshot.length - 8) / 16;
    return ledger;
  }

  /** A batch was committed: its changelog entry is changesId. */
  committed(changesId: string, changes: number): void {
    if (changesId !== '') this.changesId = changesId;
    this.changed += changes;
  }

  /**
   * A snapshot is due: the changelog has grown to half the last snapshot (so a takeover reads at
   * most about 1.5 times the partition's transactions, and snapshots cost a few writes per change
   * amortized); or with `any`, if anything changed.
   */
  snapshotDue(any = false): boolean {
    return any ? this.changed > 0 : this.changed >= Math.max(SNAPSHOT_MIN_CHANGES, this.snapshotSize / 2);
  }

  /** A snapshot as of the committed position, and the changelog entry it holds up to. */
  snapshot(): { position: string; changesId: string; bytes: Buffer; transactions: number } {
    return { position: this.position, changesId: this.changesId, bytes: encodeSnapshot(this.ledger), transactions: this.ledger.book.size };
  }

  snapshotSaved(transactions: number): void {
    this.changed = 0;
    this.snapshotSize = transactions;
  }

  /** Decides the entries after the position (in id order) into the ledger; returns what to commit. */
  prepare(entries: LogEntry[]): Prepared {
    const seen: string[] = [];
    const fresh: LogEntry[] = [];
    for (const entry of entries) {
      if (compareIds(entry.id, this.position) <= 0) seen.push(entry.id);
      else fresh.push(entry);
    }
    if (fresh.length === 0) return { seen, rows: 0 };
    fresh.sort((a, b) => compareIds(a.id, b.id));

    const dead: DeadLetter[] = [];
    const chunks: EntryChunk[] = [];
    for (const entry of fresh) {
      if (entry === fresh[0] && entry.deliveries === undefined && this.takeovers > 0) entry.deliveries = this.takeovers;
      const error = this.unreadable(entry);
      if (typeof error === 'string') dead.push({ id: entry.id, error });
      else chunks.push({ ...error, id: entry.id });
    }
    const { batch, text, rows } = this.parseChunks(chunks, dead);
    const input = new Uint32Array(rows);
    const line = new Uint32Array(rows);
    let at = 0;
    for (const chunk of chunks) {
      for (let i = 0; i < chunk.lines.length; i++, at++) {
        input[at] = chunk.input;
        line[at] = chunk.lines[i]!;
        if (chunk.duplicate[i] === 1) batch.type[at] = batch.type[at]! | DUPLICATE_FLAG;
      }
    }
    const p = this.partition;
    for (let i = 0; i < rows; i++) {
      if (batch.reason[i] === RejectReason.None && batch.client[i]! % this.partitions !== p) batch.reason[i] = STRAY;
    }
    const events = new EventWriter(p, rows);
    // Typed arrays, not Sets: tx ids above 2^31 are heap numbers, and a Set of them costs more than the decision itself.
    const touched = this.touched;
    const clients: number[] = [];
    const txs = new Uint32Array(rows);
    let changed = 0;
    const { ledger } = this;
    const { available, held, flags } = ledger;
    const { type, client, tx, amount, start, end, reason } = batch;
    for (let i = 0; i < rows; i++) {
      let outcome = reason[i]!;
      const kind = type[i]! & ~DUPLICATE_FLAG;
      const c = client[i]!;
      if (outcome === STRAY) {
        dead.push({ id: `${input[i]}-${line[i]}`, error: `client ${c} belongs to partition ${c % this.partitions}, not ${p} (a row published elsewhere than by payrun publish)` });
        continue;
      }
      if (outcome === RejectReason.None) outcome = ledger.apply(kind, c, tx[i]!, amount[i]!, (type[i]! & DUPLICATE_FLAG) !== 0);
      if (namesAccount(outcome as RejectReason)) {
        if (touched[c] === 0) {
          touched[c] = 1;
          clients.push(c);
        }
        if (ownsTxId(kind) ? outcome !== RejectReason.DuplicateTx : outcome === RejectReason.None) txs[changed++] = tx[i]!;
        events.addRow(input[i]!, line[i]!, outcome as RejectReason, kind, c, tx[i]!, amount[i]!, available[c]!, held[c]!, flags[c]!);
      } else {
        events.addRow(input[i]!, line[i]!, outcome as RejectReason, kind, c, tx[i]!, amount[i]!, 0, 0, 0, text.subarray(start[i]!, end[i]!));
      }
    }
    const prevId = this.position;
    this.position = fresh[fresh.length - 1]!.id;
    this.takeovers = 0;
    const accounts = new Map<number, string>();
    for (const c of clients) {
      touched[c] = 0;
      accounts.set(c, `${available[c]} ${held[c]} ${flags[c]}`);
    }
    const commit: Commit = {
      partition: p,
      owner: this.owner,
      prevId,
      lastId: this.position,
      events: events.count > 0 ? events.finish() : undefined,
      changes: changed > 0 ? encodeChanges(ledger, txs, changed) : undefined,
      accounts,
      dead,
      entries: fresh.length,
    };
    return { seen, rows: events.count, commit };
  }

  /** Why an entry cannot be applied, or its chunk. */
  private unreadable(entry: LogEntry): string | ReadChunk {
    if (entry.deliveries !== undefined && entry.deliveries > this.maxDeliveries) {
      return `taken over ${entry.deliveries} times and never committed (every consumer that took it stopped before its commit)`;
    }
    const chunk = decodeChunk(entry);
    if (typeof chunk === 'string') return chunk;
    let lfs = 0;
    for (let at = chunk.text.indexOf(10); at >= 0; at = chunk.text.indexOf(10, at + 1)) lfs++;
    if (lfs !== chunk.lines.length || chunk.text[chunk.text.length - 1] !== 10) return `the 'r' field holds ${lfs} line ends for ${chunk.lines.length} lines`;
    return chunk;
  }

  /** The chunks' rows parsed as one batch; a chunk with a blank line (not a row) is a dead letter instead. */
  private parseChunks(chunks: EntryChunk[], dead: DeadLetter[]): { batch: RowBatch; text: Buffer; rows: number } {
    const rows = chunks.reduce((n, chunk) => n + chunk.lines.length, 0);
    const text = Buffer.concat(chunks.map((chunk) => chunk.text));
    const capacity = Math.max(rows, rowCapacityFor(0));
    if (this.batch.capacity < capacity) this.batch = new RowBatch(Math.max(capacity, 2 * this.batch.capacity));
    parseLines(text, 0, text.length, this.batch, this.row);
    if (this.batch.count === rows) return { batch: this.batch, text, rows };
    // Rare: find the chunks whose rows the parser did not count as written, and set them aside.
    const good = chunks.filter((chunk) => {
      if (this.batch.capacity < rowCapacityFor(chunk.text.length)) this.batch = new RowBatch(rowCapacityFor(chunk.text.length));
      if (rowsOf(chunk, this.batch, this.row) === chunk.lines.length) return true;
      dead.push({ id: chunk.id, error: "the 'r' field holds a blank line (not a row)" });
      return false;
    });
    return this.parseChunks(good, dead);
  }
}
