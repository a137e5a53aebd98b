// The cluster mode without a redis-server: stream id order, the chunk and event encodings, the
// partition state kept in Redis (snapshot + changelog) and PartitionLedger deciding chunks exactly
// as the batch engine decides the same file, whatever the partitioning, the chunk size, or where a
// new owner rebuilt the partition from the stored state. (The consumer loop itself, with leases,
// kills and Redis restarts, runs against real redis-servers: cluster.int.spec.ts.)
import { describe, expect, it } from 'vitest';
import { mergedAccounts } from '../src/cli/commands/accounts.js';
import { type Chunk, ChunkBuilder, decodeChunk, encodeChunk } from '../src/cluster/chunkEntry.js';
import { decodeEvents, eventJson, EventWriter } from '../src/cluster/eventCodec.js';
import { compareIds } from '../src/cluster/keys.js';
import { PartitionLedger } from '../src/cluster/partitionLedger.js';
import type { StoredPartition } from '../src/cluster/partitionState.js';
import type { Commit, LogEntry, Transport } from '../src/cluster/transport.js';
import { RejectReason } from '../src/domain/rejectReason.js';
import { TxOwnership } from '../src/domain/txOwnership.js';
import { ownsTxId } from '../src/domain/txType.js';
import { generateLines } from '../src/generate/generator.js';
import { formatAccounts } from '../src/io/accountsCsv.js';
import { LineGroups } from '../src/io/lineGroups.js';
import { runCsv } from './support/runCsv.js';

/** Every row of a file as `payrun publish` chunks it: per partition, `chunkRows` rows an entry, in file order. */
function publisherChunks(text: string | Buffer, input: number, partitions: number, chunkRows: number): Map<number, Chunk[]> {
  const bytes = Buffer.from(text);
  const { batch, place } = new LineGroups().take(bytes);
  const ownership = new TxOwnership();
  const chunks = new Map<number, Chunk[]>();
  const builders = new Map<number, ChunkBuilder>();
  const take = (p: number, builder: ChunkBuilder): void => {
    let list = chunks.get(p);
    if (list === undefined) chunks.set(p, (list = []));
    list.push(builder.take());
  };
  for (let i = 0; i < batch.count; i++) {
    const at = place.base + batch.line[i]!;
    const wellFormed = batch.reason[i] === RejectReason.None;
    const duplicate = wellFormed && ownsTxId(batch.type[i]!) && !ownership.claim(batch.tx[i]!);
    const p = (wellFormed ? batch.client[i]! : at) % partitions;
    let builder = builders.get(p);
    if (builder === undefined) builders.set(p, (builder = new ChunkBuilder(input, chunkRows)));
    if (builder.add(at, bytes, batch.start[i]!, batch.end[i]!, duplicate)) take(p, builder);
  }
  for (const [p, builder] of builders) if (builder.count > 0) take(p, builder);
  return chunks;
}

/** A chunk of these rows (by the publisher's builder). */
function chunkOf(input: number, lines: number[], rows: string[], duplicates: number[] = []): Chunk {
  const builder = new ChunkBuilder(input, rows.length);
  rows.forEach((row, i) => {
    const bytes = Buffer.from(row);
    builder.add(lines[i]!, bytes, 0, bytes.length, duplicates.includes(i));
  });
  return builder.take();
}

/** A chunk as a consumer reads its entry back (the fields as Redis stores them). */
function entryOf(id: string, chunk: Chunk): LogEntry {
  const fields = encodeChunk(chunk);
  const value = (name: string): Buffer | undefined => {
    const at = fields.indexOf(name);
    return at < 0 ? undefined : Buffer.from(fields[at + 1]!);
  };
  return { id, input: value('n')?.toString(), lines: value('l'), rows: value('r'), duplicates: value('d') };
}

/** A partition's state in Redis after these commits (what loadPartition reads). */
class StoredState {
  accounts = new Map<number, string>();
  changes: [string, Buffer][] = [];
  snapshot: Buffer | undefined;
  position = '';
  private seq = 0;

  apply(commit: Commit): void {
    for (const [client, value] of commit.accounts) this.accounts.set(client, value);
    if (commit.changes !== undefined) this.changes.push([`1-${++this.seq}`, commit.changes]);
    this.position = commit.lastId;
  }

  load(): StoredPartition {
    return { position: this.position, accounts: new Map(this.accounts), snapshot: this.snapshot, changes: [...this.changes] };
  }
}

type Event = { line: number; id: string; partition: number; result: string; reason?: string; [key: string]: unknown };

/** The events of commits, as `payrun events` prints them. */
function eventsOf(commits: Commit[]): Event[] {
  return commits.flatMap((commit) => {
    if (commit.events === undefined) return [];
    const { partition, rows } = decodeEvents(commit.events);
    return rows.map((row) => JSON.parse(eventJson(row, partition)) as Event);
  });
}

function generated(rows: number, seed: number, clients = 60): string {
  return `${[...generateLines({ rows, clients, seed })].join('\n')}\n`;
}

/** What `payrun FILE` prints, and each rejected line's reason. */
async function batchRun(text: string): Promise<{ accounts: string; reasons: Map<number, string> }> {
  const run = await runCsv(text);
  const reasons = new Map<number, string>();
  for (const line of run.rejects.split('\n').slice(1)) {
    if (line === '') continue;
    const [at, reason] = line.split(',', 2);
    reasons.set(Number(at), reason!);
  }
  return { accounts: run.accounts, reasons };
}

/**
 * Runs every partition's chunks through PartitionLedgers, `perBatch` entries at a time; with
 * `takeOverEvery`, a new ledger is rebuilt from the stored state every that many batches (a new
 * owner, on another machine). Returns the merged accounts CSV and every event.
 */
async function consumeAll(chunks: Map<number, Chunk[]>, partitions: number, perBatch: number, takeOverEvery = 0, snapshotEvery = 0): Promise<{ accounts: string; events: Event[] }> {
  const stores = new Map<number, StoredState>();
  const commits: Commit[] = [];
  for (const [p, list] of chunks) {
    const store = new StoredState();
    stores.set(p, store);
    let ledger = PartitionLedger.restore(store.load(), p, partitions, 'me');
    let batches = 0;
    for (let at = 0; at < list.length; at += perBatch) {
      const entries = list.slice(at, at + perBatch).map((chunk, i) => entryOf(`1-${at + i + 1}`, chunk));
      const { commit } = ledger.prepare(entries);
      store.apply(commit!);
      commits.push(commit!);
      batches++;
      if (snapshotEvery > 0 && batches % snapshotEvery === 0) {
        store.snapshot = ledger.snapshot().bytes;
        store.changes = [];
      }
      if (takeOverEvery > 0 && batches % takeOverEvery === 0) ledger = PartitionLedger.restore(store.load(), p, partitions, 'other');
    }
  }
  const transport = { accounts: async (p: number) => stores.get(p)?.accounts ?? new Map() } as unknown as Transport;
  return { accounts: formatAccounts(await mergedAccounts(transport, partitions)), events: eventsOf(commits) };
}

function expectBatchDecisions(events: Event[], reasons: Map<number, string>, rows: number): void {
  expect(events).toHaveLength(rows);
  expect(new Set(events.map((e) => e.id)).size).toBe(rows);
  const wrong = events.filter((e) => (e.result === 'applied' ? undefined : e.reason) !== reasons.get(e.line));
  expect(wrong.slice(0, 5)).toEqual([]);
}

describe('compareIds', () => {
  it('orders stream ids numerically, part by part, with the empty position first, at any size', () => {
    expect(compareIds('1-10', '1-9')).toBe(1);
    expect(compareIds('1-9', '1-10')).toBe(-1);
    expect(compareIds('2-1', '1-999')).toBe(1);
    expect(compareIds('', '0-1')).toBe(-1);
    expect(compareIds('0-1', '')).toBe(1);
    expect(compareIds('', '')).toBe(0);
    expect(compareIds('18446744073709551615-0', '18446744073709551614-9')).toBe(1);
    const ids = ['10-2', '1-100', '', '2-1', '1-9', '3-0', '1-999', '1-10'];
    expect([...ids].sort(compareIds)).toEqual(['', '1-9', '1-10', '1-100', '1-999', '2-1', '3-0', '10-2']);
  });
});

describe('chunk entries', () => {
  it('round-trip: input, lines, rows (each CRLF-ended), duplicate marks', () => {
    const chunk = chunkOf(3, [2, 5, 70_000], ['deposit,1,1,1.0', 'bad row\r', 'deposit,1,1,2.0'], [2]);
    const read = decodeChunk(entryOf('1-1', chunk));
    expect(typeof read).toBe('object');
    if (typeof read === 'string') return;
    expect(read.input).toBe(3);
    expect([...read.lines]).toEqual([2, 5, 70_000]);
    expect(read.text.toString()).toBe('deposit,1,1,1.0\r\nbad row\r\r\ndeposit,1,1,2.0\r\n');
    expect([...read.duplicate]).toEqual([0, 0, 1]);
  });

  it('says what is wrong with an entry that is not a chunk', () => {
    expect(decodeChunk({})).toBe("no 'n' field (the input number)");
    expect(decodeChunk({ input: '1' })).toBe("no 'l' field (the rows' lines, u32 each)");
    expect(decodeChunk({ input: '1', lines: Buffer.alloc(4) })).toBe("no 'r' field (the rows' text)");
    expect(decodeChunk({ input: '1', lines: Buffer.alloc(4), rows: Buffer.from('x\r\n'), duplicates: Buffer.from([9, 0, 0, 0]) })).toBe("the 'd' field names row 9 of 1");
  });
});

describe('event entries', () => {
  it('one binary entry per batch decodes to the NDJSON `payrun stream` writes for each row', () => {
    const writer = new EventWriter(5, 1);
    writer.add({ input: 2, line: 7, reason: RejectReason.None, type: 1, client: 65_535, tx: 4_000_000_000, amount: 12_345, available: 12_345, held: 0, flags: 1 });
    writer.add({ input: 2, line: 8, reason: RejectReason.UnknownType, type: 0, client: 0, tx: 0, amount: 0, available: 0, held: 0, flags: 0, text: Buffer.from('transfer,"x",1') });
    writer.add({ input: 2, line: 9, reason: RejectReason.InsufficientFunds, type: 2, client: 3, tx: 9, amount: 50_000, available: -1, held: 2, flags: 3 });
    const { partition, rows } = decodeEvents(writer.finish());
    expect(partition).toBe(5);
    expect(rows.map((row) => eventJson(row, partition))).toEqual([
      '{"line":7,"id":"2-7","partition":5,"result":"applied","type":"deposit","client":65535,"tx":4000000000,"amount":"1.2345","available":"1.2345","held":"0.0000","total":"1.2345","locked":false}',
      '{"line":8,"id":"2-8","partition":5,"result":"rejected","reason":"UNKNOWN_TYPE","row":"transfer,\\"x\\",1"}',
      '{"line":9,"id":"2-9","partition":5,"result":"rejected","reason":"INSUFFICIENT_FUNDS","type":"withdrawal","client":3,"tx":9,"amount":"5.0000","available":"-0.0001","held":"0.0002","total":"0.0001","locked":true}',
    ]);
    expect(() => decodeEvents(Buffer.from('nope'))).toThrow('not a payrun events entry');
  });
});

describe('PartitionLedger', () => {
  it('decides chunks as the batch engine decides the file: 1 or 4 partitions, any chunk size, one event per row', async () => {
    const text = generated(6_000, 3);
    const expected = await batchRun(text);
    for (const [partitions, chunkRows, perBatch] of [
      [1, 256, 8],
      [4, 7, 3],
      [4, 1000, 1],
    ] as const) {
      const { accounts, events } = await consumeAll(publisherChunks(text, 1, partitions, chunkRows), partitions, perBatch);
      expect(accounts, `${partitions} partitions, ${chunkRows} rows a chunk`).toBe(expected.accounts);
      expectBatchDecisions(events, expected.reasons, 6_000);
    }
  });

  it('a new owner rebuilt from the stored state (accounts + snapshot + changelog) decides on exactly as the old one would have', async () => {
    const text = generated(8_000, 9, 30);
    const expected = await batchRun(text);
    for (const [takeOverEvery, snapshotEvery] of [
      [1, 0],
      [3, 2],
      [2, 5],
    ] as const) {
      const { accounts, events } = await consumeAll(publisherChunks(text, 1, 3, 50), 3, 2, takeOverEvery, snapshotEvery);
      expect(accounts, `take over every ${takeOverEvery} batches, snapshot every ${snapshotEvery}`).toBe(expected.accounts);
      expectBatchDecisions(events, expected.reasons, 8_000);
    }
  });

  it('returns entries at or before its position as seen; a row of another partition\'s client and an unreadable entry are dead letters, the rest applies', () => {
    const ledger = PartitionLedger.restore({ position: '', accounts: new Map(), changes: [] }, 1, 4, 'me');
    const good = entryOf('5-1', chunkOf(1, [2, 3, 4], ['deposit,1,1,1.0', 'deposit,2,2,1.0', 'withdrawal,5,3,0.5']));
    const { commit, rows } = ledger.prepare([good, { id: '5-0', lines: Buffer.alloc(4) }, entryOf('4-9', chunkOf(1, [9], ['deposit,1,9,1.0']))]);
    expect(rows).toBe(3);
    expect(commit!.dead).toEqual([
      { id: '5-0', error: "no 'n' field (the input number)" },
      { id: '1-3', error: 'client 2 belongs to partition 2, not 1 (a row published elsewhere than by payrun publish)' },
    ]);
    expect(commit!.lastId).toBe('5-1');
    expect([...commit!.accounts]).toEqual([
      [1, '20000 0 1'],
      [5, '0 0 1'],
    ]);
    expect(ledger.prepare([good]).seen).toEqual(['5-1']);
  });

  it('a chunk whose text holds a blank line (not a row) is a dead letter; the other chunks of the batch apply', () => {
    const ledger = PartitionLedger.restore({ position: '', accounts: new Map(), changes: [] }, 0, 1, 'me');
    const blank: LogEntry = { id: '1-1', input: '1', lines: Buffer.from([2, 0, 0, 0]), rows: Buffer.from('  \r\n') };
    const { commit, rows } = ledger.prepare([blank, entryOf('1-2', chunkOf(1, [3], ['deposit,1,1,1.0']))]);
    expect(rows).toBe(1);
    expect(commit!.dead).toEqual([{ id: '1-1', error: "the 'r' field holds a blank line (not a row)" }]);
  });
});
