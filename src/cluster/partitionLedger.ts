import { Ledger } from '../domain/ledger.js';
import { RejectReason } from '../domain/rejectReason.js';
import { DUPLICATE_FLAG, ownsTxId } from '../domain/txType.js';
import { parseLines } from '../io/lineParser.js';
import { RowBatch, rowCapacityFor } from '../io/rowBatch.js';
import { ParsedRow } from '../io/rowParser.js';
import { decodeChunk, type ReadChunk } from './chunkEntry.js';
import { EventWriter } from './eventCodec.js';
import { compareIds } from './keys.js';
import { encodeSnapshot, restoreLedger, type StoredPartition } from './partitionState.js';
import type { Commit, DeadLetter, LogEntry } from './transport.js';

/** An entry handed out more often than this without a commit is a dead letter (a poison entry). */
export const DEFAULT_MAX_DELIVERIES = 10;
/** Snapshot once the changelog holds this many changes, or half as many as the last snapshot's transactions if more. */
const SNAPSHOT_MIN_CHANGES = 200_000;
/**
 * A partition's ledger starts with room for this many transactions (about 3 MB): a book grown
 * from nothing moves each transaction four or five times (it grows by a quarter at a time), a
 * quarter of a consumer's work a row on a partition's first 100k rows.
 */
const MIN_ROOM = 1 << 17;

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
  /** Clients a batch touched (a mark per client id, cleared after each batch), in order. */
  private readonly touched = new Uint8Array(65_536);
  private readonly clients: number[] = [];
  /** Per row of a batch: its input and line (grown as needed). */
  private input = new Uint32Array(0);
  private line = new Uint32Array(0);

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
    const ledger = new PartitionLedger(p, partitions, restoreLedger(stored, MIN_ROOM), stored.position, owner, maxDeliveries, changed);
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
    this.placeRows(chunks, batch, rows);
    const events = new EventWriter(this.partition, rows);
    const changes = Buffer.allocUnsafe(rows * 16);
    const changed = this.decide(batch, text, rows, events, changes, dead);
    const prevId = this.position;
    this.position = fresh[fresh.length - 1]!.id;
    this.takeovers = 0;
    const commit: Commit = {
      partition: this.partition,
      owner: this.owner,
      prevId,
      lastId: this.position,
      events: events.count > 0 ? events.finish() : undefined,
      changes: changed > 0 ? changes.subarray(0, changed * 16) : undefined,
      accounts: this.touchedAccounts(),
      dead,
      entries: fresh.length,
    };
    return { seen, rows: events.count, commit };
  }

  /** Each row's input and line (kept for the events), and the publisher's duplicate marks on its type. */
  private placeRows(chunks: EntryChunk[], batch: RowBatch, rows: number): void {
    if (this.input.length < rows) {
      this.input = new Uint32Array(2 * rows);
      this.line = new Uint32Array(2 * rows);
    }
    const { input, line } = this;
    const { type } = batch;
    let at = 0;
    for (const chunk of chunks) {
      const { lines, duplicate } = chunk;
      for (let i = 0; i < lines.length; i++, at++) {
        input[at] = chunk.input;
        line[at] = lines[i]!;
        if (duplicate[i] === 1) type[at] = type[at]! | DUPLICATE_FLAG;
      }
    }
  }

  /**
   * Decides the batch's rows in order into the ledger: each row's event (with its account's
   * balances after it) and each transaction it changed (16 bytes, read back from the book at
   * once, while its slot is in cache); a well-formed row whose client belongs to another
   * partition is a dead letter. Returns the number of changes written.
   */
  private decide(batch: RowBatch, text: Buffer, rows: number, events: EventWriter, changes: Buffer, dead: DeadLetter[]): number {
    const { ledger, input, line, touched, clients, partition: p, partitions } = this;
    const { available, held, flags, book } = ledger;
    const { type, client, tx, amount, start, end, reason } = batch;
    const view = new DataView(changes.buffer, changes.byteOffset, changes.length);
    let at = 0;
    for (let i = 0; i < rows; i++) {
      const shape = reason[i]! as RejectReason;
      const c = client[i]!;
      if (shape !== RejectReason.None) {
        // Not well-formed: its text goes with its event instead of an account.
        events.addRow(input[i]!, line[i]!, shape, type[i]! & ~DUPLICATE_FLAG, c, tx[i]!, amount[i]!, 0, 0, 0, text.subarray(start[i]!, end[i]!));
        continue;
      }
      if (c % partitions !== p) {
        dead.push({ id: `${input[i]}-${line[i]}`, error: `client ${c} belongs to partition ${c % partitions}, not ${p} (a row published elsewhere than by payrun publish)` });
        continue;
      }
      const t = tx[i]!;
      const kind = type[i]! & ~DUPLICATE_FLAG;
      const outcome = ledger.apply(kind, c, t, amount[i]!, kind !== type[i]!);
      if (touched[c] === 0) {
        touched[c] = 1;
        clients.push(c);
      }
      if (ownsTxId(kind) ? outcome !== RejectReason.DuplicateTx : outcome === RejectReason.None) {
        const slot = book.find(t);
        if (slot >= 0) {
          view.setUint32(at, t, true);
          view.setUint32(at + 4, book.meta(slot) >>> 0, true);
          view.setFloat64(at + 8, book.amount(slot), true);
          at += 16;
        }
      }
      events.addRow(input[i]!, line[i]!, outcome, kind, c, t, amount[i]!, available[c]!, held[c]!, flags[c]!);
    }
    return at / 16;
  }

  /** The accounts the batch touched, as stored (`available held flags`); the marks are cleared for the next batch. */
  private touchedAccounts(): Map<number, string> {
    const { available, held, flags } = this.ledger;
    const accounts = new Map<number, string>();
    for (const c of this.clients) {
      this.touched[c] = 0;
      accounts.set(c, `${available[c]} ${held[c]} ${flags[c]}`);
    }
    this.clients.length = 0;
    return accounts;
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
