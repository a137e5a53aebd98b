import { CLIENT_COUNT } from '../domain/ledgerState.js';
import { type LedgerState, mergeShards } from '../domain/ledgerState.js';
import type { AccountBalances } from '../io/accountsCsv.js';
import { BYTES_PER_ROW, RowBatch, rowCapacityFor } from '../io/rowBatch.js';
import { parseLines } from '../io/lineParser.js';
import { ParsedRow } from '../io/rowParser.js';
import { EngineThread } from './engineThread.js';
import type { FromWorker, SlotBuffers } from './protocol.js';
import type { Engine } from '../engine/engine.js';

/** A chunk and its rows in shared memory, reused round-robin. */
interface Slot {
  buffers: SlotBuffers;
  chunk: Buffer;
  batch: RowBatch;
}

/**
 * Chunk size with workers: the row columns of a slot are sized for the worst case (a row every
 * 2 bytes) and shared memory is committed when allocated, so slots stay small.
 */
export const SLOT_BYTES = 256 * 1024;

/** With one worker, it parses one chunk in this many (measured on 2 cores: 4 is fastest). */
const PIPELINE_SHARE = 4;

/**
 * `--workers N`: three steps per chunk, each spread over the N workers; the main thread only
 * reads, finds the header, and writes the results.
 * 1. Parse: chunks go round-robin to the workers, which parse them into fixed-width rows in
 *    shared memory (the costliest step, and it needs no state).
 * 2. Own: tx-id ownership depends on the row stream alone, so it is partitioned by tx id: each
 *    worker claims, in file order, the ids of its partition and flags the duplicate rows.
 * 3. Apply: once every partition has owned the chunk, each worker applies, in file order, the
 *    rows of its own clients (client % N) to its own Ledger, and writes each row's outcome into
 *    the shared reason column.
 * Every id is judged in file order by one table, and a client's rows all reach one ledger in
 * file order, so the result equals the serial engine's for every N. With one worker the split
 * is different: see pipeline().
 */
export class ParallelEngine implements Engine {
  readonly depth: number;
  private readonly threads: EngineThread[];
  private readonly free: Slot[] = [];
  private readonly slotOf = new Map<RowBatch, Slot>();
  private ownedUpTo: Promise<unknown> = Promise.resolve();
  private turn = 0;
  private slotsMade = 0;
  private nextSlotId = 0;
  private readonly row = new ParsedRow();

  constructor(workers: number, expectedTxs = 0, initial?: LedgerState) {
    const perShard = Math.ceil(expectedTxs / workers);
    this.threads = Array.from({ length: workers }, (_, shard) => new EngineThread({ shard, shards: workers, expectedTxs: perShard }));
    this.depth = 2 * workers + 2;
    // Each worker handles its messages in order, so the restore is done before any batch; a
    // failure surfaces at the first batch's reply.
    if (initial) for (const thread of this.threads) thread.request({ kind: 'restore', state: initial }).catch(() => undefined);
  }

  submit(chunk: Buffer, from: number): Promise<RowBatch> {
    // Slots are made as needed (a small input needs one, sized to it), at most `depth` of them.
    let slot = this.free.pop();
    if (slot === undefined && this.slotsMade >= this.depth) throw new Error('more batches outstanding than the engine depth');
    if (slot === undefined) this.slotsMade++;
    if (slot === undefined || slot.chunk.length < chunk.length) slot = this.newSlot(chunk);
    chunk.copy(slot.chunk, 0);
    const { buffers, batch } = slot;
    this.slotOf.set(batch, slot);
    if (this.threads.length === 1) return this.pipeline(slot, from, chunk.length);
    const parser = this.threads[this.turn++ % this.threads.length]!;
    const parsed = parser.request({ kind: 'parse', slot: buffers, from, length: chunk.length });

    // Steps 2 and 3 are posted in chunk order, so every worker sees them in file order.
    const owned = Promise.all([parsed, this.ownedUpTo]).then(([reply]) => {
      if (reply.kind !== 'parsed') throw new Error(`engine worker answered ${reply.kind} to parse`);
      batch.count = reply.count;
      batch.lines = reply.lines;
      batch.buf = slot.chunk;
      return this.threads.map((thread) => thread.request({ kind: 'own', slot: buffers, count: batch.count }));
    });
    const applied = owned
      .then((owners) => Promise.all(owners))
      .then(() => this.threads.map((thread) => thread.request({ kind: 'apply', slot: buffers, count: batch.count })));
    this.ownedUpTo = applied;
    return applied.then((appliers) => Promise.all(appliers)).then(() => batch);
  }

  /**
   * With one worker the best split of the work is a two-stage pipeline: the main thread parses
   * chunk c+1 while the worker decides chunk c with the one ledger (which then also owns ids).
   * Parsing costs more than deciding, so the worker also parses one chunk in PIPELINE_SHARE
   * to even out the two stages.
   */
  private pipeline(slot: Slot, from: number, length: number): Promise<RowBatch> {
    const { buffers, batch } = slot;
    const worker = this.threads[0]!;
    if (this.turn++ % PIPELINE_SHARE === PIPELINE_SHARE - 1) {
      return worker.request({ kind: 'parseAndDecide', slot: buffers, from, length }).then((reply) => {
        if (reply.kind !== 'parsed') throw new Error(`engine worker answered ${reply.kind} to parseAndDecide`);
        batch.count = reply.count;
        batch.lines = reply.lines;
        batch.buf = slot.chunk;
        return batch;
      });
    }
    parseLines(slot.chunk, from, length, batch, this.row);
    return worker.request({ kind: 'decide', slot: buffers, count: batch.count }).then(() => batch);
  }

  release(batch: RowBatch): void {
    const slot = this.slotOf.get(batch);
    if (slot === undefined) return;
    this.slotOf.delete(batch);
    // A slot made for a long line is dropped; the next chunk gets a new one of the usual size.
    if (slot.chunk.length <= SLOT_BYTES) this.free.push(slot);
    else this.slotsMade--;
  }

  async snapshot(): Promise<LedgerState> {
    const parts = await Promise.all(this.threads.map((thread) => thread.request({ kind: 'snapshot' })));
    return mergeShards(
      parts.map((part, shard) => {
        if (part.kind !== 'state') throw new Error(`engine worker ${shard} did not send its state`);
        return part.state;
      }),
    );
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

  /**
   * A slot for this chunk: the usual size; smaller for a small chunk (a small input, or a pipe's
   * short reads); the chunk's own size for a long line, with row columns sized by its line
   * count rather than for the worst case (a row every 2 bytes).
   */
  private newSlot(chunk: Buffer): Slot {
    const long = chunk.length > SLOT_BYTES;
    const bytes = long ? chunk.length : chunk.length < SLOT_BYTES / 2 ? chunk.length : SLOT_BYTES;
    const capacity = long ? countLines(chunk) + 1 : rowCapacityFor(bytes);
    const buffers: SlotBuffers = {
      id: this.nextSlotId++,
      chunk: new SharedArrayBuffer(bytes),
      columns: new SharedArrayBuffer(capacity * BYTES_PER_ROW),
      capacity,
    };
    return { buffers, chunk: Buffer.from(buffers.chunk), batch: new RowBatch(capacity, buffers.columns) };
  }

  async abort(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.terminate()));
  }
}

function countLines(chunk: Buffer): number {
  let lines = 0;
  for (let p = chunk.indexOf(10); p >= 0; p = chunk.indexOf(10, p + 1)) lines++;
  return lines;
}
