// The Redis source's deliveries without Redis: events entries built with the cluster's own
// encoder (EventWriter), handed out by a stand-in for the consumer group. Which rows are sent,
// their keys and bodies, batches cut within an entry, and when an entry is acknowledged.
import { describe, expect, it } from 'vitest';
import { EventWriter } from '../src/cluster/eventCodec.js';
import { RejectReason } from '../src/domain/rejectReason.js';
import { TxType } from '../src/domain/txType.js';
import { type CutSettings, fileDeliveries, type SourceLine } from '../src/relay/eventSource.js';
import { DonePosition } from '../src/relay/deliveredLog.js';
import { entryProgress, redisDeliveries } from '../src/relay/redisDeliveries.js';
import type { GroupEntry, RedisEventSource } from '../src/relay/redisSource.js';
import { type Delivery, RelaySourceError } from '../src/relay/relayEvent.js';

/** A row: [line, type, client, tx, reason]; amounts 1.5000 (15000 ten-thousandths), balances after it 15000. */
type Row = [number, number, number, number, number];

function entry(partition: number, input: number, rows: Row[]): Buffer {
  const writer = new EventWriter(partition, rows.length);
  for (const [line, type, client, tx, reason] of rows) writer.addRow(input, line, reason as RejectReason, type, client, tx, 15000, 15000, 0, 0, reason === RejectReason.MalformedRow ? Buffer.from('bad,row') : undefined);
  return writer.finish();
}

/** A stand-in for the group: the pages as given, and the acknowledgements it got. */
function group(pages: GroupEntry[][]): { source: RedisEventSource; acked: string[]; marked: string[] } {
  const acked: string[] = [];
  const marked: string[] = [];
  const source = {
    acknowledged: 0,
    async *entries() {
      yield* pages;
    },
    ack(p: number, id: string) {
      acked.push(`${p}/${id}`);
    },
    markDone(p: number, id: string, index: number) {
      marked.push(`${p}/${id}#${index}`);
    },
  } as unknown as RedisEventSource;
  return { source, acked, marked };
}

async function all(source: RedisEventSource, cut: CutSettings): Promise<Delivery[]> {
  const out: Delivery[] = [];
  for await (const deliveries of redisDeliveries(source, cut, true)) out.push(...deliveries);
  return out;
}

const CUT: CutSettings = { sourceId: 'src', types: undefined, batch: 1 };
const { Deposit, Withdrawal, Dispute } = TxType;

describe('the Redis source: deliveries and acknowledgement', () => {
  it('sends applied rows as `payrun events` lines keyed <source>:<input>-<line>; rejected rows never; the entry acknowledged when its last event is done', async () => {
    const bytes = entry(2, 3, [
      [10, Deposit, 7, 100, RejectReason.None],
      [11, Withdrawal, 7, 101, RejectReason.DuplicateTx],
      [12, 0, 0, 0, RejectReason.MalformedRow],
      [13, Withdrawal, 15, 102, RejectReason.None],
    ]);
    const { source, acked, marked } = group([[{ partition: 2, id: '5-0', bytes }]]);
    const deliveries = await all(source, CUT);
    expect(deliveries.map((d) => d.key)).toEqual(['src:3-10', 'src:3-13']);
    expect(deliveries.map((d) => d.clients)).toEqual([[7], [15]]);
    const body = JSON.parse(deliveries[0]!.body) as Record<string, unknown>;
    expect(body).toMatchObject({ line: 10, id: '3-10', partition: 2, result: 'applied', type: 'deposit', client: 7, tx: 100, amount: '1.5000' });
    const progress = entryProgress(source);
    progress.finish(deliveries[1]!);
    expect(acked).toEqual([]);
    // Recorded (its row index in the entry), so that the entry read again after a kill skips it.
    expect(marked).toEqual(['2/5-0#3']);
    progress.finish(deliveries[0]!);
    expect(acked).toEqual(['2/5-0']);
  });

  it('an entry read again skips the rows its bitmap marks done; batches are cut as before (done rows still count)', async () => {
    const rows: Row[] = Array.from({ length: 6 }, (_, i) => [i + 1, Deposit, i % 2, i + 1, RejectReason.None] as Row);
    const bytes = entry(0, 1, rows);
    // Rows 0 and 1 (the first batch) and row 4 done: bits 0x80, 0x40 and 0x08.
    const done = Buffer.from([0x80 | 0x40 | 0x08]);
    let skipped = 0;
    const out: Delivery[] = [];
    const { source, acked } = group([[{ partition: 0, id: '7-0', bytes, done }]]);
    for await (const deliveries of redisDeliveries(source, { ...CUT, batch: 2 }, true, () => (skipped += 1))) out.push(...deliveries);
    expect(out.map((d) => d.key)).toEqual(['src:1-3..1-4', 'src:1-6..1-6']);
    expect(skipped).toBe(3);
    const progress = entryProgress(source);
    for (const delivery of out) progress.finish(delivery);
    expect(acked).toEqual(['0/7-0']);
    // Everything done before: acknowledged as read.
    const all6 = group([[{ partition: 0, id: '8-0', bytes, done: Buffer.from([0xfc]) }]]);
    expect(await all(all6.source, CUT)).toEqual([]);
    expect(all6.acked).toEqual(['0/8-0']);
  });

  it('an entry with nothing to send (all rejected, other types, or trimmed away) is acknowledged as it is read', async () => {
    const { source, acked } = group([
      [
        { partition: 0, id: '1-0', bytes: entry(0, 1, [[1, Deposit, 1, 1, RejectReason.DuplicateTx]]) },
        { partition: 0, id: '2-0', bytes: entry(0, 1, [[2, Dispute, 1, 1, RejectReason.None]]) },
        { partition: 1, id: '3-0', bytes: undefined },
      ],
    ]);
    const deliveries = await all(source, { ...CUT, types: new Set(['withdrawal']) });
    expect(deliveries).toEqual([]);
    expect(acked).toEqual(['0/1-0', '0/2-0', '1/3-0']);
  });

  it('--batch cuts each entry on its own: the same batches and keys whenever the entry is read', async () => {
    const rows = (from: number, n: number): Row[] => Array.from({ length: n }, (_, i) => [from + i, Deposit, (from + i) % 4, from + i, RejectReason.None] as Row);
    const pages: GroupEntry[][] = [[{ partition: 0, id: '1-0', bytes: entry(0, 1, rows(1, 5)) }, { partition: 0, id: '2-0', bytes: entry(0, 1, rows(6, 3)) }]];
    const first = await all(group(pages).source, { ...CUT, batch: 2 });
    const again = await all(group(pages).source, { ...CUT, batch: 2 });
    expect(first.map((d) => d.key)).toEqual(['src:1-1..1-2', 'src:1-3..1-4', 'src:1-5..1-5', 'src:1-6..1-7', 'src:1-8..1-8']);
    expect(again.map((d) => d.key)).toEqual(first.map((d) => d.key));
    expect(JSON.parse(first[0]!.body)).toHaveLength(2);
    // A batch of one is still an array (as a file source's last half batch).
    expect(first[2]!.body.startsWith('[')).toBe(true);
    const { source, acked } = group(pages);
    const progress = entryProgress(source);
    for (const delivery of await all(source, { ...CUT, batch: 2 })) progress.finish(delivery);
    expect(acked).toEqual(['0/1-0', '0/2-0']);
  });

  it('bytes that are not an events entry: one error naming the entry', async () => {
    const { source } = group([[{ partition: 3, id: '9-1', bytes: Buffer.from('nonsense') }]]);
    await expect(all(source, CUT)).rejects.toThrow(new RelaySourceError('events entry 9-1 of partition 3 is not one payrun consume writes: not a payrun events entry'));
  });
});

describe('the file source: deliveries by page', () => {
  const line = (n: number, extra = ''): SourceLine => ({ line: n, text: `{"line":${n}${extra},"result":"applied","type":"deposit","client":${n % 3},"tx":${n},"amount":"1"}` });

  it('keys by input line, or by the row id when the event has one (a file of `payrun events`); done lines skipped', async () => {
    const pages: SourceLine[][] = [[line(1), line(2)], [{ line: 3, text: '{"line":3,"result":"rejected","reason":"DUPLICATE_TX","row":"x"}' }, line(4, ',"id":"2-40"')]];
    const position = new DonePosition({ lowWater: 1, done: [] });
    let skipped = 0;
    const out: Delivery[] = [];
    const rest = pages.slice(1)[Symbol.iterator]();
    const iterator: AsyncIterator<SourceLine[]> = { next: async () => rest.next() };
    for await (const deliveries of fileDeliveries(iterator, pages[0]!, CUT, position, () => (skipped += 1))) out.push(...deliveries);
    expect(out.map((d) => d.key)).toEqual(['src:2', 'src:2-40']);
    expect(skipped).toBe(1);
  });
});

describe('the group lock: who may take it from its holder', () => {
  it('only a holder on this host whose process is gone (never another host, never this process)', async () => {
    const { holderIsGone, lockToken } = await import('../src/relay/groupLock.js');
    const { hostname } = await import('node:os');
    const mine = lockToken();
    expect(mine).toMatch(new RegExp(`^${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${process.pid}:[0-9a-f]{8}$`));
    expect(holderIsGone(mine, () => false)).toBe(false);
    expect(holderIsGone(`${hostname()}:999999:abcd0123`, () => false)).toBe(true);
    expect(holderIsGone(`${hostname()}:999999:abcd0123`, () => true)).toBe(false);
    expect(holderIsGone(`another-host-${hostname()}:999999:abcd0123`, () => false)).toBe(false);
    expect(holderIsGone('garbage', () => false)).toBe(false);
  });
});
