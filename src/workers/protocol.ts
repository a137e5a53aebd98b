/**
 * The typed messages between the main thread and an engine worker. Input bytes and parsed rows
 * live in SharedArrayBuffers (a chunk, and a RowBatch's columns) that both sides see; messages
 * carry only which buffers and how many rows. Rows never cross threads as text or objects.
 */


/**
 * Which worker decides the ownership of a tx id: runs of 16 consecutive ids stay together, so
 * each worker's ownership table keeps the locality of mostly increasing ids.
 */
export function txPartition(tx: number, shards: number): number {
  return (tx >>> 4) % shards;
}

/**
 * Chunk size with workers: the row columns of a slot are sized for the worst case (a row every
 * 2 bytes) and shared memory is committed when allocated, so slots stay small.
 */
export const SLOT_BYTES = 256 * 1024;

/** Passed as workerData when a worker starts. */
export interface WorkerSetup {
  /**
   * This worker decides the ownership of the tx ids of partition txPartition(tx, shards) ===
   * shard, and applies the rows of the clients with client % shards === shard.
   */
  shard: number;
  shards: number;
  /** How many transactions to size the shard's tables for. */
  expectedTxs: number;
}

/** Where one chunk and its rows live. */
export interface SlotBuffers {
  /** Which slot (0 to depth - 1): a worker keeps one set of views per slot, so it holds on to no replaced buffer. */
  index: number;
  /** Never reused for other buffers: a SharedArrayBuffer arrives as a new object each message, so workers remake their views when it changes. */
  id: number;
  chunk: SharedArrayBuffer;
  columns: SharedArrayBuffer;
  capacity: number;
}

/** Main → worker. */
export type ToWorker =
  /** Parse chunk[from, length) into the columns. */
  | { kind: 'parse'; slot: SlotBuffers; from: number; length: number }
  /** Claim, in order, the ids of this worker's tx partition; flag the rows whose id was taken. */
  | { kind: 'own'; slot: SlotBuffers; count: number; seen: number; expectTxs: number }
  /**
   * Apply this shard's well-formed rows of the (parsed, ownership-flagged) columns, in order.
   * `seen` (here, in 'own' and in 'decide'): the share of the input's bytes through
   * this chunk, 0 when the size is not known (TxBook.setInputSeen). `expectTxs`: the transactions
   * per shard to size a table made now for (from the first chunk's rows; 0: the setup's).
   */
  | { kind: 'apply'; slot: SlotBuffers; count: number; seen: number; expectTxs: number }
  /** The only worker: decide every row (ownership included) with its one ledger, in order. */
  | { kind: 'decide'; slot: SlotBuffers; count: number; seen: number; expectTxs: number }
  /**
   * Before any row: start from these accounts (keeping this shard's) and the transactions the
   * main thread then offers a piece at a time (pieceHandover.ts): keep those of this shard's
   * clients (`shardTxs` of them) and, with several workers, own the ids of this worker's
   * partition (`ownedTxs`).
   */
  | {
      kind: 'restore';
      available: Float64Array;
      held: Float64Array;
      flags: Uint8Array;
      shardTxs: number;
      ownedTxs: number;
      control: SharedArrayBuffer;
      keys: SharedArrayBuffer;
      amounts: SharedArrayBuffer;
    }
  /** Between batches: copies of this worker's accounts, and how many transactions it holds. */
  | { kind: 'accounts' }
  /**
   * Between batches: hand over every transaction, a piece at a time, through shared buffers
   * (no copy of them all): see PieceHandover. Replies 'handedOver' once all are handed over.
   */
  | { kind: 'handOver'; control: SharedArrayBuffer; keys: SharedArrayBuffer; amounts: SharedArrayBuffer }
  | { kind: 'finish' };

/** Worker → main: one reply per message, in order. */
export type FromWorker =
  | { kind: 'parsed'; count: number; lines: number }
  | { kind: 'owned' }
  | { kind: 'applied' }
  | { kind: 'decided' }
  | { kind: 'restored' }
  | { kind: 'accountsCopy'; available: Float64Array; held: Float64Array; flags: Uint8Array; txCount: number }
  | { kind: 'handedOver' }
  | { kind: 'accounts'; available: Float64Array; held: Float64Array; flags: Uint8Array }
  | { kind: 'failed'; message: string };
