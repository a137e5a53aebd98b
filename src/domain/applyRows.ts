import type { Ledger } from './ledger.js';
import { RejectReason } from './rejectReason.js';
import { DUPLICATE_FLAG } from './txType.js';

/**
 * The columns of a batch of rows that applying it reads and writes (io's RowBatch has them; a
 * journal's batch record can be given them). `reason` holds each row's shape verdict before
 * (RejectReason.None = well-formed) and its outcome after; a type may carry DUPLICATE_FLAG.
 */
export interface RowColumns {
  readonly count: number;
  readonly type: ArrayLike<number>;
  readonly client: ArrayLike<number>;
  readonly tx: ArrayLike<number>;
  readonly amount: ArrayLike<number>;
  readonly reason: { [i: number]: number };
}

/** Told of row i once it is decided, in row order, with its outcome (its shape code if it was not well-formed). */
export type RowObserver = (i: number, outcome: RejectReason) => void;

/** The clients one ledger holds when clients are sharded over several: client % count === index. */
export interface Shard {
  index: number;
  count: number;
}

/**
 * The one loop that applies a batch of rows to a ledger, in row order: every well-formed row is
 * decided by the ledger and its outcome written to `reason`; every row is then observed. With a
 * shard, the rows of other clients are neither applied nor observed (another ledger holds them).
 */
export function applyRows(ledger: Ledger, rows: RowColumns, observe?: RowObserver, shard?: Shard): void {
  const { count, type, client, tx, amount, reason } = rows;
  const shards = shard?.count ?? 1;
  const index = shard?.index ?? 0;
  for (let i = 0; i < count; i++) {
    const c = client[i]!;
    if (shards !== 1 && c % shards !== index) continue;
    if (reason[i] === RejectReason.None) {
      const t = type[i]!;
      reason[i] = ledger.apply(t & ~DUPLICATE_FLAG, c, tx[i]!, amount[i]!, (t & DUPLICATE_FLAG) !== 0);
    }
    if (observe !== undefined) observe(i, reason[i] as RejectReason);
  }
}
