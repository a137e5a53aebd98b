/**
 * The typed messages between the main thread and a shard worker. Rows cross threads as
 * fixed-width binary columns in one transferred ArrayBuffer, never as text or objects.
 *
 * Shard rows layout for n rows (8-byte aligned first):
 *   amount f64[n] | tx u32[n] | client u16[n] | kind u8[n] (TxType, DUPLICATE_FLAG if the id is taken)
 */
export const DUPLICATE_FLAG = 0x80;
export const BYTES_PER_ROW = 8 + 4 + 2 + 1;

export interface ShardRows {
  amount: Float64Array;
  tx: Uint32Array;
  client: Uint16Array;
  kind: Uint8Array;
}

export function shardRowsView(buffer: ArrayBuffer, n: number): ShardRows {
  return {
    amount: new Float64Array(buffer, 0, n),
    tx: new Uint32Array(buffer, 8 * n, n),
    client: new Uint16Array(buffer, 12 * n, n),
    kind: new Uint8Array(buffer, 14 * n, n),
  };
}

/** Passed as workerData when a shard worker starts. */
export interface ShardSetup {
  /** How many transactions to size the shard's tables for. */
  expectedTxs: number;
}

/** Main → worker. */
export type ToShard =
  | { kind: 'apply'; seq: number; count: number; rows: ArrayBuffer }
  | { kind: 'finish' };

/** Worker → main. `reasons` holds one RejectReason (0 = applied) per row sent, in order. */
export type FromShard =
  | { kind: 'applied'; seq: number; reasons: Uint8Array }
  | { kind: 'accounts'; available: Float64Array; held: Float64Array; flags: Uint8Array }
  | { kind: 'failed'; message: string };
