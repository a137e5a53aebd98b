import { parentPort, workerData } from 'node:worker_threads';
import { applyRows } from '../domain/applyRows.js';
import { Ledger } from '../domain/ledger.js';
import { CLIENT_COUNT } from '../domain/ledgerState.js';
import { RejectReason } from '../domain/rejectReason.js';
import { TxOwnership } from '../domain/txOwnership.js';
import { DUPLICATE_FLAG, ownsTxId } from '../domain/txType.js';
import { parseLines } from '../io/lineParser.js';
import { RowBatch } from '../io/rowBatch.js';
import { ParsedRow } from '../io/rowParser.js';
import { releaseOutgrown } from '../io/releaseMemory.js';
import { offerPiece, takePieces } from './pieceHandover.js';
import { type FromWorker, type SlotBuffers, type ToWorker, txPartition } from './protocol.js';
import type { WorkerSetup } from './protocol.js';

/**
 * An engine worker has three jobs, all on shared memory: parse the chunks it is given into
 * fixed-width rows; decide, in file order, who owns the tx ids of its partition; and apply, in
 * file order, the rows of the clients of its shard to its own Ledger.
 */
const port = parentPort;
if (port === null) throw new Error('engineWorker must run in a worker thread');
const { shard, shards, expectedTxs } = workerData as WorkerSetup;
/** Made at the first batch (sized for the transactions its message expects), or by a restore. */
let ledger: Ledger | undefined;
// Only needed when ownership is partitioned over several workers.
let ownership: TxOwnership | undefined;
const thisShard = { index: shard, count: shards };
const row = new ParsedRow();
/** Per slot index: the views over its current buffers (replaced ones are let go at once). */
const views: { id: number; chunk: Buffer; batch: RowBatch }[] = [];

/** The views over a slot's shared buffers, made once per set of buffers. */
function viewsOf(slot: SlotBuffers): { chunk: Buffer; batch: RowBatch } {
  let view = views[slot.index];
  if (view === undefined || view.id !== slot.id) {
    view = { id: slot.id, chunk: Buffer.from(slot.chunk), batch: new RowBatch(slot.capacity, slot.columns) };
    views[slot.index] = view;
  }
  return view;
}

/** Starts from a saved state: this shard's accounts and transactions, and its partition of the owned ids, taken a piece at a time. */
function restore(message: Extract<ToWorker, { kind: 'restore' }>): void {
  const mine = (client: number): boolean => shards === 1 || client % shards === shard;
  const restored = new Ledger(expectedTxs + message.shardTxs, releaseOutgrown);
  ledger = restored;
  for (let c = 0; c < CLIENT_COUNT; c++) {
    if (!mine(c)) continue;
    restored.available[c] = message.available[c]!;
    restored.held[c] = message.held[c]!;
    restored.flags[c] = message.flags[c]!;
  }
  const owner = shards === 1 ? undefined : new TxOwnership(expectedTxs + message.ownedTxs);
  if (owner) ownership = owner;
  const keys = new Uint32Array(message.keys);
  const amounts = new Float64Array(message.amounts);
  const { book } = restored;
  takePieces(new Int32Array(message.control), (count) => {
    book.insertPiece(keys, amounts, count, shards === 1 ? undefined : mine);
    if (owner) for (let i = 0; i < count; i++) if (txPartition(keys[2 * i]!, shards) === shard) owner.claim(keys[2 * i]!);
  });
}

/** The ledger, made now if there is none (sized for `expectTxs`, or the setup's estimate). */
function ledgerFor(expectTxs = 0): Ledger {
  ledger ??= new Ledger(expectTxs || expectedTxs, releaseOutgrown);
  return ledger;
}

/** The ledger that decides a batch, told the share of the input through it (TxBook.setInputSeen). */
function deciderFor({ expectTxs, seen }: { expectTxs: number; seen: number }): Ledger {
  const decider = ledgerFor(expectTxs);
  decider.book.setInputSeen(seen);
  return decider;
}

function ownPartition(batch: RowBatch, count: number, seen: number, expectTxs: number): void {
  ownership ??= new TxOwnership(expectTxs || expectedTxs);
  ownership.setInputSeen(seen);
  const { reason, type, tx } = batch;
  for (let i = 0; i < count; i++) {
    const t = type[i]!;
    if (reason[i] !== RejectReason.None || !ownsTxId(t)) continue;
    const id = tx[i]!;
    if (txPartition(id, shards) === shard && !ownership.claim(id)) type[i] = t | DUPLICATE_FLAG;
  }
}

port.on('message', (message: ToWorker) => {
  let reply: FromWorker;
  const transfer: ArrayBuffer[] = [];
  try {
    if (message.kind === 'parse') {
      const { chunk, batch } = viewsOf(message.slot);
      parseLines(chunk, message.from, message.length, batch, row);
      reply = { kind: 'parsed', count: batch.count, lines: batch.lines };
    } else if (message.kind === 'own') {
      ownPartition(viewsOf(message.slot).batch, message.count, message.seen, message.expectTxs);
      reply = { kind: 'owned' };
    } else if (message.kind === 'apply') {
      const { batch } = viewsOf(message.slot);
      batch.count = message.count;
      applyRows(deciderFor(message), batch, undefined, thisShard);
      reply = { kind: 'applied' };
    } else if (message.kind === 'decide') {
      const { batch } = viewsOf(message.slot);
      batch.count = message.count;
      applyRows(deciderFor(message), batch);
      reply = { kind: 'decided' };
    } else if (message.kind === 'restore') {
      restore(message);
      reply = { kind: 'restored' };
    } else if (message.kind === 'accounts') {
      const { available, held, flags, book } = ledgerFor();
      reply = { kind: 'accountsCopy', available: available.slice(), held: held.slice(), flags: flags.slice(), txCount: book.size };
    } else if (message.kind === 'handOver') {
      const control = new Int32Array(message.control);
      ledgerFor().book.eachPiece(new Uint32Array(message.keys), new Float64Array(message.amounts), (count) => offerPiece(control, count));
      offerPiece(control, -1);
      reply = { kind: 'handedOver' };
    } else {
      const { available, held, flags } = ledgerFor();
      reply = { kind: 'accounts', available, held, flags };
      transfer.push(available.buffer as ArrayBuffer, held.buffer as ArrayBuffer, flags.buffer as ArrayBuffer);
    }
  } catch (error) {
    reply = { kind: 'failed', message: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply, transfer);
});
