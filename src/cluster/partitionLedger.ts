import { join } from 'node:path';
import { Ledger } from '../domain/ledger.js';
import { namesAccount, type RejectReason } from '../domain/rejectReason.js';
import { DUPLICATE_FLAG } from '../domain/txType.js';
import { RunStats } from '../engine/runStats.js';
import { parseLines } from '../io/lineParser.js';
import { RowBatch, rowCapacityFor } from '../io/rowBatch.js';
import { ParsedRow } from '../io/rowParser.js';
import type { OutboxPayload } from '../journal/format.js';
import { type FsyncMode } from '../journal/fsyncMode.js';
import { JournaledInput } from '../journal/journaledInput.js';
import { decideRowEvents } from '../engine/decideRows.js';
import { compareIds, partitionInputId } from './keys.js';
import type { Commit, DeadLetter, LogEntry } from './transport.js';

const CRLF = Buffer.from('\r\n');
/** An entry handed out more often than this without a commit is a dead letter (a poison row). */
export const DEFAULT_MAX_DELIVERIES = 10;
/** Outbox entries that are dead letters, not row events (both are relayed by one commit). */
const DEAD = 'dead-letter';

/** What one batch of entries comes to: a commit to make, and/or ids only to acknowledge (already applied). */
export interface Prepared {
  commit?: Commit;
  /** Entries at or before the journal's position: applied by an earlier owner, only acknowledged. */
  seen: string[];
  rows: number;
}

function deadLetterOf(entry: LogEntry, maxDeliveries: number): string | undefined {
  if (entry.deliveries !== undefined && entry.deliveries > maxDeliveries) {
    return `delivered ${entry.deliveries} times and never committed (every consumer that took it stopped before its commit)`;
  }
  if (entry.row === undefined) return "no 'r' field (the row's text)";
  if (entry.line === undefined || !/^[1-9]\d{0,15}$/.test(entry.line)) return "no 'l' field (the row's line number)";
  if (entry.row.includes(10)) return 'the row text holds a line break';
  if (entry.row.every((c) => c === 32 || c === 9)) return 'the row text is blank';
  return undefined;
}

/**
 * One partition's ledger in a consumer: its journal (DIR/p<k>, the durable ledger as for a
 * file, with the partition stream as one never-ending input), its accounts, and where in the
 * stream it is. Entries are decided in id order; a batch is journaled (rows, then an Outbox
 * record with its events and new position, durable) before its commit is handed out.
 */
export class PartitionLedger {
  private readonly row = new ParsedRow();
  private batch = new RowBatch(1024);
  readonly stats = new RunStats();

  private constructor(
    readonly partition: number,
    private readonly journal: JournaledInput,
    readonly ledger: Ledger,
    private readonly owner: string,
    private readonly maxDeliveries: number,
  ) {}

  static open(dir: string, prefix: string, p: number, owner: string, fsync: FsyncMode, warn: (line: string) => void, maxDeliveries = DEFAULT_MAX_DELIVERIES): PartitionLedger {
    // The partition stream is one journal input that never ends: resumed by whoever takes the partition.
    const claim = { kind: 'partition', id: partitionInputId(prefix, p), name: `${prefix}:tx:${p}`, label: `partition ${p} of '${prefix}'` } as const;
    const journal = JournaledInput.open(join(dir, `p${p}`), claim, { fsync, warn });
    return new PartitionLedger(p, journal, Ledger.fromState(journal.state), owner, maxDeliveries);
  }

  get dir(): string {
    return this.journal.dir;
  }

  /** The id of the last entry journaled ('' before any). */
  get position(): string {
    return this.journal.entry?.outbox?.lastId ?? '';
  }

  /** The last batch's outbox, to relay again when Redis has not committed it (a crash in between). */
  lastOutbox(): OutboxPayload | undefined {
    return this.journal.lastOutbox();
  }

  /** The commit of a journaled Outbox record, rebuilt from it and the ledger (which is as of that record). */
  commitOf(outbox: OutboxPayload): Commit {
    const events: string[] = [];
    const dead: DeadLetter[] = [];
    const clients = new Set<number>();
    const ack: string[] = [];
    for (const text of outbox.events) {
      const event = JSON.parse(text) as { id: string; result: string; client?: number; error?: string };
      ack.push(event.id);
      if (event.result === DEAD) dead.push({ id: event.id, error: event.error ?? '' });
      else {
        events.push(text);
        if (event.client !== undefined) clients.add(event.client);
      }
    }
    return { partition: this.partition, owner: this.owner, prevId: outbox.prevId ?? '', lastId: outbox.lastId, events, accounts: this.accountsOf(clients), dead, ack };
  }

  /** Makes the batches prepared so far durable (per --fsync): before their commits go out. */
  flush(): Promise<void> {
    return this.journal.flush();
  }

  /** Decides and journals (not yet durably: flush()) the entries after the journal's position (in id order); returns what to commit. */
  prepare(entries: LogEntry[]): Prepared {
    const seen: string[] = [];
    const fresh: LogEntry[] = [];
    const position = this.position;
    for (const entry of entries) {
      if (compareIds(entry.id, position) <= 0) seen.push(entry.id);
      else fresh.push(entry);
    }
    if (fresh.length === 0) return { seen, rows: 0 };
    fresh.sort((a, b) => compareIds(a.id, b.id));

    const good: LogEntry[] = [];
    const dead: DeadLetter[] = [];
    for (const entry of fresh) {
      const error = deadLetterOf(entry, this.maxDeliveries);
      if (error === undefined) good.push(entry);
      else dead.push({ id: entry.id, error });
    }
    const parts: Buffer[] = [];
    for (const entry of good) parts.push(entry.row!, CRLF);
    const text = Buffer.concat(parts);
    if (this.batch.capacity < Math.max(good.length, rowCapacityFor(0))) this.batch = new RowBatch(Math.max(good.length, 2 * this.batch.capacity));
    const batch = this.batch;
    parseLines(text, 0, text.length, batch, this.row);
    if (batch.count !== good.length) throw new Error(`partition ${this.partition}: ${good.length} entries parsed as ${batch.count} rows`);
    good.forEach((entry, i) => {
      if (entry.duplicate === '1') batch.type[i] = batch.type[i]! | DUPLICATE_FLAG;
    });
    const p = this.partition;
    const events = decideRowEvents(this.ledger, batch, 0, this.stats, {
      origin: (i) => ({ line: Number(good[i]!.line), id: good[i]!.id, partition: p }),
    });
    const clients = new Set<number>();
    for (let i = 0; i < batch.count; i++) if (namesAccount(batch.reason[i] as RejectReason)) clients.add(batch.client[i]!);

    const prevId = position;
    const lastId = fresh[fresh.length - 1]!.id;
    const input = this.journal.begin();
    if (batch.count > 0) {
      const place = { offset: input.nextOffset, base: input.nextLine, nextOffset: input.nextOffset + text.length, nextLine: input.nextLine + batch.lines };
      this.journal.record(batch, place);
    }
    const outboxEvents = events.concat(dead.map((d) => JSON.stringify({ id: d.id, partition: p, result: DEAD, error: d.error })));
    this.journal.recordOutbox(lastId, outboxEvents, prevId);
    if (this.journal.snapshotDue) this.journal.snapshot(this.ledger.exportState());
    const ack = fresh.map((entry) => entry.id);
    return { seen, rows: batch.count, commit: { partition: p, owner: this.owner, prevId, lastId, events, accounts: this.accountsOf(clients), dead, ack } };
  }

  private accountsOf(clients: Iterable<number>): Map<number, string> {
    const { available, held, flags } = this.ledger;
    const accounts = new Map<number, string>();
    for (const c of clients) accounts.set(c, `${available[c]} ${held[c]} ${flags[c]}`);
    return accounts;
  }

  /** Snapshots what changed and lets go of the journal (another consumer may take the partition next). */
  async close(): Promise<void> {
    try {
      if (this.journal.pause()) this.journal.snapshot(this.ledger.exportState());
    } finally {
      await this.journal.close();
    }
  }
}
