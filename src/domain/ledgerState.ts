/** Client ids are u16: one account slot per id. */
export const CLIENT_COUNT = 65_536;

/**
 * Everything a Ledger knows, as plain typed arrays: what a snapshot stores, what crosses to a
 * worker to restore its shard, and what recovery rebuilds. Accounts are one slot per client id;
 * transactions are the TxBook's live entries (`[tx, client << 8 | state]` pairs, amounts).
 */
export interface LedgerState {
  available: Float64Array;
  held: Float64Array;
  flags: Uint8Array;
  txKeys: Uint32Array;
  txAmounts: Float64Array;
}

/**
 * A ledger's state read where it lives, a piece at a time, for a snapshot written without a
 * copy of the state (16 bytes per stored transaction): the accounts (copies: 1.1 MB), the
 * number of transactions, and a visit of them in pieces. Valid only until the ledger changes:
 * read it at once.
 */
export interface LiveLedgerState {
  available: Float64Array;
  held: Float64Array;
  flags: Uint8Array;
  txCount: number;
  /** Every entry, in the same order each call, a piece at a time (`[tx, meta]` pairs and amounts; the arrays are reused). */
  eachTxPiece(visit: (keys: Uint32Array, amounts: Float64Array, count: number) => void): void;
}

/** What a snapshot is written from: a copy of the state, or the state where it lives. */
export type SnapshotState = LedgerState | LiveLedgerState;

/** Entries per piece of a LiveLedgerState: 1 MiB of buffers. */
export const TX_PIECE = 1 << 16;

function txCount(state: LedgerState): number {
  return state.txAmounts.length;
}

/**
 * Where two states differ, in words, or undefined when they hold the same accounts and the same
 * transactions (in any order: two tables of the same entries may lay them out differently).
 */
export function stateDifference(a: LedgerState, b: LedgerState): string | undefined {
  for (let c = 0; c < CLIENT_COUNT; c++) {
    if (a.available[c] !== b.available[c] || a.held[c] !== b.held[c] || a.flags[c] !== b.flags[c]) {
      return `client ${c} differs`;
    }
  }
  if (txCount(a) !== txCount(b)) return `${txCount(a)} transactions against ${txCount(b)}`;
  const sortedA = sortedEntries(a);
  const sortedB = sortedEntries(b);
  for (let i = 0; i < sortedA.length; i++) {
    const [tx, ia] = sortedA[i]!;
    const [txB, ib] = sortedB[i]!;
    if (tx !== txB || a.txKeys[2 * ia + 1] !== b.txKeys[2 * ib + 1] || a.txAmounts[ia] !== b.txAmounts[ib]) {
      return `transaction ${tx} differs`;
    }
  }
  return undefined;
}

function sortedEntries(state: LedgerState): Array<[number, number]> {
  const entries: Array<[number, number]> = [];
  for (let i = 0; i < txCount(state); i++) entries.push([state.txKeys[2 * i]!, i]);
  return entries.sort((x, y) => x[0] - y[0]);
}
