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

function emptyLedgerState(): LedgerState {
  return {
    available: new Float64Array(CLIENT_COUNT),
    held: new Float64Array(CLIENT_COUNT),
    flags: new Uint8Array(CLIENT_COUNT),
    txKeys: new Uint32Array(0),
    txAmounts: new Float64Array(0),
  };
}

function txCount(state: LedgerState): number {
  return state.txAmounts.length;
}

/** One state from the shards' (client c lives in shard c % shards; every tx in its client's shard). */
export function mergeShards(parts: LedgerState[]): LedgerState {
  if (parts.length === 1) return parts[0]!;
  const merged = emptyLedgerState();
  parts.forEach((part, shard) => {
    for (let c = shard; c < CLIENT_COUNT; c += parts.length) {
      merged.available[c] = part.available[c]!;
      merged.held[c] = part.held[c]!;
      merged.flags[c] = part.flags[c]!;
    }
  });
  const total = parts.reduce((n, part) => n + txCount(part), 0);
  merged.txKeys = new Uint32Array(total * 2);
  merged.txAmounts = new Float64Array(total);
  let at = 0;
  for (const part of parts) {
    merged.txKeys.set(part.txKeys, at * 2);
    merged.txAmounts.set(part.txAmounts, at);
    at += txCount(part);
  }
  return merged;
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
