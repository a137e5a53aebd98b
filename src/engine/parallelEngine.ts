import { CLIENT_COUNT } from '../domain/ledger.js';
import { RejectReason } from '../domain/rejectReason.js';
import { TxOwnership } from '../domain/txOwnership.js';
import { ownsTxId } from '../domain/txType.js';
import type { AccountBalances } from '../io/accountsCsv.js';
import { BYTES_PER_ROW, RowBatch, rowCapacityFor } from '../io/rowBatch.js';
import { EngineThread } from '../workers/engineThread.js';
import { DUPLICATE_FLAG, type FromWorker, type SlotBuffers } from '../workers/protocol.js';
import type { Engine } from './engine.js';

/** A chunk and its rows in shared memory, reused round-robin. */
interface Slot {
  buffers: SlotBuffers;
  chunk: Buffer;
  batch: RowBatch;
}

const SLOT_BYTES = 1 << 20;

/**
 * `--workers N`: three steps per chunk, two of them parallel.
 * 1. Parse: chunks go round-robin to the N workers, which parse them into fixed-width rows in
 *    shared memory (the costliest step, and it needs no state).
 * 2. Own: the main thread decides tx-id ownership in file order (it depends on the row stream
 *    alone) and flags duplicates. This is the serial step.
 * 3. Apply: every worker applies, in file order, the rows of its own clients (client % N) to its
 *    own Ledger, and writes each row's outcome into the shared reason column.
 * A client's rows all reach one ledger in file order, with the same ownership decisions, so the
 * result equals the serial engine's for every N.
 */
export class ParallelEngine implements Engine {
  readonly depth: number;
  private readonly threads: EngineThread[];
  private readonly ownership: TxOwnership;
  private readonly free: Slot[] = [];
  private readonly slotOf = new Map<RowBatch, Slot>();
  private ownedUpTo: Promise<unknown> = Promise.resolve();
  private turn = 0;

  constructor(workers: number, expectedTxs = 0) {
    this.ownership = new TxOwnership(expectedTxs);
    const perShard = Math.ceil(expectedTxs / workers);
    this.threads = Array.from({ length: workers }, (_, shard) => new EngineThread({ shard, shards: workers, expectedTxs: perShard }));
    this.depth = 2 * workers + 2;
    for (let i = 0; i < this.depth; i++) this.free.push(newSlot(SLOT_BYTES));
  }

  submit(chunk: Buffer, from: number): Promise<RowBatch> {
    let slot = this.free.pop();
    if (slot === undefined) throw new Error('more batches outstanding than the engine depth');
    if (slot.chunk.length < chunk.length) slot = newSlot(chunk.length);
    chunk.copy(slot.chunk, 0);
    const { buffers, batch } = slot;
    this.slotOf.set(batch, slot);
    const parser = this.threads[this.turn++ % this.threads.length]!;
    const parsed = parser.request({ kind: 'parse', slot: buffers, from, length: chunk.length });

    const owned = Promise.all([parsed, this.ownedUpTo]).then(([reply]) => {
      if (reply.kind !== 'parsed') throw new Error(`engine worker answered ${reply.kind} to parse`);
      batch.count = reply.count;
      batch.lines = reply.lines;
      batch.buf = slot.chunk;
      this.own(batch);
      return this.threads.map((thread) => thread.request({ kind: 'apply', slot: buffers, count: batch.count }));
    });
    this.ownedUpTo = owned;
    return owned.then((applied) => Promise.all(applied)).then(() => batch);
  }

  release(batch: RowBatch): void {
    const slot = this.slotOf.get(batch);
    if (slot === undefined) return;
    this.slotOf.delete(batch);
    if (slot.chunk.length === SLOT_BYTES) this.free.push(slot);
    else this.free.push(newSlot(SLOT_BYTES)); // a slot grown for a long line is not kept
  }

  async finish(): Promise<AccountBalances> {
    const n = this.threads.length;
    const parts: FromWorker[] = await Promise.all(this.threads.map((thread) => thread.request({ kind: 'finish' })));
    const merged = { available: new Float64Array(CLIENT_COUNT), held: new Float64Array(CLIENT_COUNT), flags: new Uint8Array(CLIENT_COUNT) };
    parts.forEach((part, shard) => {
      if (part.kind !== 'accounts') throw new Error(`engine worker ${shard} did not send its accounts`);
      for (let c = shard; c < CLIENT_COUNT; c += n) {
        merged.available[c] = part.available[c]!;
        merged.held[c] = part.held[c]!;
        merged.flags[c] = part.flags[c]!;
      }
    });
    await this.abort();
    return merged;
  }

  async abort(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.terminate()));
  }

  /** Step 2: the first well-formed deposit or withdrawal with an id owns it (SPEC section 3). */
  private own(batch: RowBatch): void {
    const { reason, type, tx } = batch;
    const ownership = this.ownership;
    for (let i = 0; i < batch.count; i++) {
      if (reason[i] !== RejectReason.None) continue;
      const t = type[i]!;
      if (ownsTxId(t) && !ownership.claim(tx[i]!)) type[i] = t | DUPLICATE_FLAG;
    }
  }
}

function newSlot(bytes: number): Slot {
  const capacity = rowCapacityFor(bytes);
  const buffers: SlotBuffers = { chunk: new SharedArrayBuffer(bytes), columns: new SharedArrayBuffer(capacity * BYTES_PER_ROW), capacity };
  return { buffers, chunk: Buffer.from(buffers.chunk), batch: new RowBatch(capacity, buffers.columns) };
}
