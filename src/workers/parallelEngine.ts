import { CLIENT_COUNT } from '../domain/ledgerState.js';
import { type LiveLedgerState, type SnapshotState, TX_PIECE } from '../domain/ledgerState.js';
import type { AccountBalances } from '../io/accountsCsv.js';
import { BYTES_PER_ROW, RowBatch, rowCapacityFor } from '../io/rowBatch.js';
import { parseLines } from '../io/lineParser.js';
import { ParsedRow } from '../io/rowParser.js';
import { EngineThread } from './engineThread.js';
import { offerPieceToAll, takePieces } from './pieceHandover.js';
import { releaseNow } from '../io/releaseMemory.js';
import { type FromWorker, SLOT_BYTES, type SlotBuffers, txPartition } from './protocol.js';
import type { Engine } from '../engine/engine.js';
import { inputShare, sampledTxs } from '../engine/txEstimate.js';
import type { Ledger } from '../domain/ledger.js';

/** A chunk and its rows in shared memory, reused round-robin. */
interface Slot {
  buffers: SlotBuffers;
  chunk: Buffer;
  batch: RowBatch;
}

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
  /** Slots made so far (each keeps its index for good): at most `depth`. */
  private slotsMade = 0;
  private nextSlotId = 0;
  private readonly row = new ParsedRow();
  private pieceBuffers: { keys: Uint32Array; amounts: Float64Array } | undefined;
  /** Settles when the initial ledger is in the workers (a failure to move it fails the batches). */
  private restored: Promise<void> = Promise.resolve();

  /** Bytes submitted so far, of inputBytes (0 when not known): each batch tells the workers' tables the share (TxBook.setInputSeen). */
  private submitted = 0;
  /** Transactions per shard to size the workers' tables for, from the first chunk parsed here (sampledTxs); 0 until then, or when the input's size is not known. */
  private perShardTxs = 0;
  private sampled = false;

  constructor(workers: number, expectedTxs = 0, initial?: Ledger, private readonly inputBytes = 0) {
    const perShard = Math.ceil(expectedTxs / workers); // until a chunk's rows are seen (a journal's restore)
    this.threads = Array.from({ length: workers }, (_, shard) => new EngineThread({ shard, shards: workers, expectedTxs: perShard }));
    this.depth = 2 * workers + 2;
    if (initial) this.restore(initial, workers);
  }

  /**
   * Moves the initial ledger into the workers: each gets the accounts, and then the
   * transactions a piece at a time (pieceHandover.ts), keeping those of its clients and, with
   * 2 or more workers, the ids of its ownership partition; the main thread's table is freed a
   * segment at a time as it goes (releaseNow), so there are never two whole tables. Each worker handles its
   * messages in order, so the restore is done before any batch; a failure surfaces at the
   * first batch's reply (or as the restore's own).
   */
  private restore(initial: Ledger, workers: number): void {
    const shardTxs = new Array<number>(workers).fill(0);
    const ownedTxs = new Array<number>(workers).fill(0);
    initial.book.forEachEntry((tx, meta) => {
      shardTxs[(meta >>> 8) % workers]!++;
      ownedTxs[txPartition(tx, workers)]!++;
    });
    const { keys, amounts } = this.piece;
    const controls = this.threads.map((thread, shard) => {
      const control = new Int32Array(new SharedArrayBuffer(8));
      const accounts = { available: initial.available.slice(), held: initial.held.slice(), flags: initial.flags.slice() };
      thread
        .request(
          { kind: 'restore', ...accounts, shardTxs: shardTxs[shard]!, ownedTxs: ownedTxs[shard]!, control: control.buffer as SharedArrayBuffer, keys: keys.buffer as SharedArrayBuffer, amounts: amounts.buffer as SharedArrayBuffer },
          [accounts.available.buffer, accounts.held.buffer, accounts.flags.buffer],
        )
        .catch(() => undefined);
      return control;
    });
    this.restored = (async () => {
      for (const count of initial.book.drain(keys, amounts, releaseNow)) await offerPieceToAll(controls, count);
      await offerPieceToAll(controls, -1);
    })();
    this.restored.catch(() => undefined);
  }

  submit(chunk: Buffer, from: number): Promise<RowBatch> {
    const decided = this.post(chunk, from);
    return Promise.all([decided, this.restored]).then(([batch]) => batch);
  }

  private post(chunk: Buffer, from: number): Promise<RowBatch> {
    const slot = this.slotFor(chunk);
    chunk.copy(slot.chunk, 0);
    const { buffers, batch } = slot;
    this.slotOf.set(batch, slot);
    this.submitted += chunk.length;
    const seen = inputShare(this.submitted, this.inputBytes);
    if (this.threads.length === 1) return this.pipeline(slot, from, chunk.length, seen);
    const parser = this.threads[this.turn++ % this.threads.length]!;
    const parsed = parser.request({ kind: 'parse', slot: buffers, from, length: chunk.length });
    const rowBytes = chunk.length - from; // the chunk itself may be reused once this returns

    // Steps 2 and 3 are posted in chunk order, so every worker sees them in file order.
    const owned = Promise.all([parsed, this.ownedUpTo]).then(([reply]) => {
      if (reply.kind !== 'parsed') throw new Error(`engine worker answered ${reply.kind} to parse`);
      batch.count = reply.count;
      batch.lines = reply.lines;
      batch.buf = slot.chunk;
      const expectTxs = this.sample(batch, rowBytes);
      return this.threads.map((thread) => thread.request({ kind: 'own', slot: buffers, count: batch.count, seen, expectTxs }));
    });
    const applied = owned
      .then((owners) => Promise.all(owners))
      .then(() => this.threads.map((thread) => thread.request({ kind: 'apply', slot: buffers, count: batch.count, seen, expectTxs: this.perShardTxs })));
    this.ownedUpTo = applied;
    return applied.then((appliers) => Promise.all(appliers)).then(() => batch);
  }

  /**
   * With one worker the best split of the work is a two-stage pipeline: the main thread parses
   * chunk c+1 while the worker decides chunk c with the one ledger (which then also owns ids).
   * The worker never parses: on 2 cores the two stages cost about the same in steady state
   * (~0.8 ms and ~0.9 ms a 256 KiB chunk), and a worker that also parsed one chunk in four ran
   * its parser cold at the start, on the critical path (measured: 1M rows 26 ms slower).
   */
  private pipeline(slot: Slot, from: number, length: number, seen: number): Promise<RowBatch> {
    const { buffers, batch } = slot;
    parseLines(slot.chunk, from, length, batch, this.row);
    const expectTxs = this.sample(batch, length - from);
    return this.threads[0]!.request({ kind: 'decide', slot: buffers, count: batch.count, seen, expectTxs }).then(() => batch);
  }

  /** The tables' size per shard, from the first batch parsed with rows (and then kept): what its rows project for the input (sampledTxs). */
  private sample(batch: RowBatch, bytes: number): number {
    if (this.sampled || batch.count === 0) return this.perShardTxs;
    // Once: a first chunk with no row that owns an id (or a pipe) gives 0, and the tables are made by then anyway.
    this.sampled = true;
    this.perShardTxs = Math.ceil(sampledTxs(batch, bytes, this.inputBytes) / this.threads.length);
    return this.perShardTxs;
  }

  release(batch: RowBatch): void {
    const slot = this.slotOf.get(batch);
    if (slot === undefined) return;
    this.slotOf.delete(batch);
    this.free.push(slot);
  }

  /**
   * The workers' state where it lives: their accounts merged (copies, 1.1 MB), and their
   * transactions handed over a piece at a time while the snapshot is written (pieceHandover.ts),
   * shard after shard, so no copy of them all is ever made or merged.
   */
  async snapshot(): Promise<SnapshotState> {
    const parts = await Promise.all(this.threads.map((thread) => thread.request({ kind: 'accounts' })));
    let txCount = 0;
    const merged = mergeShards(parts.map((part, shard) => {
      if (part.kind !== 'accountsCopy') throw new Error(`engine worker ${shard} did not send its accounts`);
      txCount += part.txCount;
      return part;
    }));
    const piece = this.piece;
    const eachTxPiece: LiveLedgerState['eachTxPiece'] = (visit) => {
      for (const thread of this.threads) {
        const control = new Int32Array(new SharedArrayBuffer(8));
        thread.request({ kind: 'handOver', control: control.buffer as SharedArrayBuffer, keys: piece.keys.buffer as SharedArrayBuffer, amounts: piece.amounts.buffer as SharedArrayBuffer }).catch(() => undefined);
        takePieces(control, (count) => visit(piece.keys, piece.amounts, count));
      }
    };
    return { ...merged, txCount, eachTxPiece };
  }

  /** The shared buffers one piece of a snapshot's transactions passes through (made at the first snapshot). */
  private get piece(): { keys: Uint32Array; amounts: Float64Array } {
    this.pieceBuffers ??= { keys: new Uint32Array(new SharedArrayBuffer(8 * TX_PIECE)), amounts: new Float64Array(new SharedArrayBuffer(8 * TX_PIECE)) };
    return this.pieceBuffers;
  }

  /**
   * The workers' accounts, merged. The workers are then stopped without waiting for them to
   * end (~2 ms): the accounts are written meanwhile, and the process waits for them anyway.
   */
  async finish(): Promise<AccountBalances> {
    const parts: FromWorker[] = await Promise.all(this.threads.map((thread) => thread.request({ kind: 'finish' })));
    const merged = mergeShards(parts.map((part, shard) => {
      if (part.kind !== 'accounts') throw new Error(`engine worker ${shard} did not send its accounts`);
      return part;
    }));
    this.abort().catch(() => undefined);
    return merged;
  }

  /**
   * A free slot that holds this chunk: the smallest that fits; else a new one while fewer than
   * `depth` exist; else the largest free one, given bigger buffers. Slots are never dropped: a
   * SharedArrayBuffer is freed only by a garbage collection, which does not count its size, so
   * one made per long line and dropped piled up (4,000 lines of 300 KiB: 1.2 GB). At most
   * `depth` slots, each at most twice the longest chunk, so memory stays bounded by the
   * longest line (MAX_LINE_BYTES).
   */
  private slotFor(chunk: Buffer): Slot {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const slot = this.free[i]!;
      if (!fits(slot, chunk)) continue;
      if (best < 0 || slot.chunk.length < this.free[best]!.chunk.length) best = i;
    }
    if (best >= 0) return this.free.splice(best, 1)[0]!;
    if (this.slotsMade < this.depth) return this.newSlot(chunk);
    if (this.free.length === 0) throw new Error('more batches outstanding than the engine depth');
    let largest = 0;
    for (let i = 1; i < this.free.length; i++) if (this.free[i]!.chunk.length > this.free[largest]!.chunk.length) largest = i;
    const [slot] = this.free.splice(largest, 1);
    return this.regrow(slot!, chunk);
  }

  /**
   * A new slot: the usual size; smaller for a small chunk (a small input, or a pipe's short
   * reads); the chunk's own size for a long line, with row columns sized by its line count
   * rather than for the worst case (a row every 2 bytes), and at least for a usual chunk.
   */
  private newSlot(chunk: Buffer): Slot {
    const long = chunk.length > SLOT_BYTES;
    const bytes = long ? chunk.length : chunk.length < SLOT_BYTES / 2 ? chunk.length : SLOT_BYTES;
    const capacity = long ? Math.max(countLines(chunk) + 1, rowCapacityFor(SLOT_BYTES)) : rowCapacityFor(bytes);
    return this.slotWith(this.slotsMade++, bytes, capacity);
  }

  /** The same slot with buffers that hold this chunk: at least doubled, so a slot regrows a few times at most. */
  private regrow(slot: Slot, chunk: Buffer): Slot {
    const bytes = slot.chunk.length >= chunk.length ? slot.chunk.length : Math.max(chunk.length, 2 * slot.chunk.length);
    const rows = rowsFor(chunk);
    const capacity = slot.buffers.capacity >= rows ? slot.buffers.capacity : Math.max(rows, 2 * slot.buffers.capacity);
    return this.slotWith(slot.buffers.index, bytes, capacity);
  }

  private slotWith(index: number, bytes: number, capacity: number): Slot {
    const buffers: SlotBuffers = {
      index,
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

/**
 * The accounts of every shard in one set of arrays: shard i holds the clients c with c % n === i.
 * One shard's arrays are all of them, as they are (the worker gave them up or sent copies).
 */
function mergeShards(parts: readonly AccountBalances[]): AccountBalances {
  if (parts.length === 1) {
    const { available, held, flags } = parts[0]!;
    return { available, held, flags };
  }
  const n = parts.length;
  const merged = { available: new Float64Array(CLIENT_COUNT), held: new Float64Array(CLIENT_COUNT), flags: new Uint8Array(CLIENT_COUNT) };
  parts.forEach((part, shard) => {
    for (let c = shard; c < CLIENT_COUNT; c += n) {
      merged.available[c] = part.available[c]!;
      merged.held[c] = part.held[c]!;
      merged.flags[c] = part.flags[c]!;
    }
  });
  return merged;
}

/** Rows the chunk can hold: the worst case for a usual chunk, its line count for a long one. */
function rowsFor(chunk: Buffer): number {
  return chunk.length <= SLOT_BYTES ? rowCapacityFor(chunk.length) : countLines(chunk) + 1;
}

function fits(slot: Slot, chunk: Buffer): boolean {
  if (slot.chunk.length < chunk.length) return false;
  return rowCapacityFor(chunk.length) <= slot.buffers.capacity || countLines(chunk) + 1 <= slot.buffers.capacity;
}

function countLines(chunk: Buffer): number {
  let lines = 0;
  for (let p = chunk.indexOf(10); p >= 0; p = chunk.indexOf(10, p + 1)) lines++;
  return lines;
}
