import { CLIENT_COUNT } from '../domain/ledger.js';
import { RejectReason } from '../domain/rejectReason.js';
import { TxOwnership } from '../domain/txOwnership.js';
import { ownsTxId } from '../domain/txType.js';
import type { AccountBalances } from '../io/accountsCsv.js';
import type { RowBatch } from '../io/rowBatch.js';
import { BYTES_PER_ROW, DUPLICATE_FLAG, shardRowsView } from '../workers/protocol.js';
import { Shard } from '../workers/shardPool.js';
import type { Engine } from './engine.js';

/**
 * `--workers N`: clients are sharded over N worker threads (client % N), each with its own
 * Ledger. Tx-id ownership is global, but it depends only on the row stream, so the main thread
 * decides it in file order and flags duplicates before rows leave for their shard. A client's
 * rows all go to one shard in file order, so every shard's decisions equal the serial engine's.
 */
export class ShardedEngine implements Engine {
  private readonly ownership: TxOwnership;
  private readonly shards: Shard[];
  private seq = 0;

  constructor(workers: number, expectedTxs = 0) {
    this.ownership = new TxOwnership(expectedTxs);
    this.shards = Array.from({ length: workers }, () => new Shard(Math.ceil(expectedTxs / workers)));
  }

  submit(batch: RowBatch): Promise<void> {
    const n = this.shards.length;
    const { reason, type, client, tx, amount } = batch;
    const counts = new Int32Array(n);
    for (let i = 0; i < batch.count; i++) if (reason[i] === RejectReason.None) counts[client[i]! % n]!++;

    const buffers = Array.from(counts, (count) => new ArrayBuffer(count * BYTES_PER_ROW));
    const views = buffers.map((buffer, s) => shardRowsView(buffer, counts[s]!));
    const indexes = Array.from(counts, (count) => new Uint32Array(count));
    const filled = new Int32Array(n);
    for (let i = 0; i < batch.count; i++) {
      if (reason[i] !== RejectReason.None) continue;
      const c = client[i]!;
      const s = c % n;
      const k = filled[s]!++;
      const view = views[s]!;
      const t = type[i]!;
      const duplicate = ownsTxId(t) && !this.ownership.claim(tx[i]!);
      view.kind[k] = duplicate ? t | DUPLICATE_FLAG : t;
      view.client[k] = c;
      view.tx[k] = tx[i]!;
      view.amount[k] = amount[i]!;
      indexes[s]![k] = i;
    }

    const seq = this.seq++;
    const replies = this.shards.map(async (shard, s) => {
      const count = counts[s]!;
      if (count === 0) return;
      const reply = await shard.request({ kind: 'apply', seq, count, rows: buffers[s]! }, [buffers[s]!]);
      if (reply.kind !== 'applied' || reply.seq !== seq) throw new Error(`shard ${s} answered out of order`);
      const index = indexes[s]!;
      for (let k = 0; k < count; k++) reason[index[k]!] = reply.reasons[k]!;
    });
    return Promise.all(replies).then(() => undefined);
  }

  async finish(): Promise<AccountBalances> {
    const n = this.shards.length;
    const parts = await Promise.all(this.shards.map((shard) => shard.request({ kind: 'finish' })));
    const merged = { available: new Float64Array(CLIENT_COUNT), held: new Float64Array(CLIENT_COUNT), flags: new Uint8Array(CLIENT_COUNT) };
    parts.forEach((part, s) => {
      if (part.kind !== 'accounts') throw new Error(`shard ${s} did not send its accounts`);
      for (let c = s; c < CLIENT_COUNT; c += n) {
        merged.available[c] = part.available[c]!;
        merged.held[c] = part.held[c]!;
        merged.flags[c] = part.flags[c]!;
      }
    });
    await this.abort();
    return merged;
  }

  async abort(): Promise<void> {
    await Promise.all(this.shards.map((shard) => shard.terminate()));
  }
}
