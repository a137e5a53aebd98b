import { partitionInputId as journalPartitionId } from '../journal/inputKind.js';

/** The Redis keys of one cluster (docs/cluster-design.md), all under one prefix. */
export class ClusterKeys {
  constructor(readonly prefix: string) {}

  /** The stream of partition p: one entry per row, id `<input number>-<line>`. */
  partition(p: number): string {
    return `${this.prefix}:tx:${p}`;
  }

  /** Hash: `partitions`, the partition count fixed by the first publish. */
  get meta(): string {
    return `${this.prefix}:meta`;
  }

  /** Hash: input sha256 → input number. */
  get inputs(): string {
    return `${this.prefix}:inputs`;
  }

  get inputSeq(): string {
    return `${this.prefix}:inputseq`;
  }

  /** The tx ids input n claimed (u32 little-endian), written when its publish is complete. */
  owned(n: number): string {
    return `${this.prefix}:owned:${n}`;
  }

  lease(p: number): string {
    return `${this.prefix}:lease:${p}`;
  }

  /** Sorted set: consumer name → last heartbeat (ms). */
  get consumers(): string {
    return `${this.prefix}:consumers`;
  }

  /** Hash: partition → id of the last committed entry. */
  get progress(): string {
    return `${this.prefix}:progress`;
  }

  /** Hash: client → `available held flags` (integer ten-thousandths; flags as the ledger's). */
  accounts(p: number): string {
    return `${this.prefix}:accounts:${p}`;
  }

  /** Stream of row events, one JSON per row, field `e`. */
  get events(): string {
    return `${this.prefix}:events`;
  }

  /** Stream of dead letters: entries that could not be read as rows, with the error. */
  get dead(): string {
    return `${this.prefix}:dead`;
  }
}

/** The consumer group every partition stream has. */
export const GROUP = 'payrun';

/** The journal input id of partition p of the cluster under prefix. */
export function partitionInputId(prefix: string, p: number): string {
  return journalPartitionId(`${prefix}:tx:${p}`);
}

/** Stream entry ids `a-b` in order (numerically); '' is before every id. */
export function compareIds(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '') return -1;
  if (b === '') return 1;
  const [am, as] = splitId(a);
  const [bm, bs] = splitId(b);
  return am !== bm ? (am < bm ? -1 : 1) : as < bs ? -1 : as > bs ? 1 : 0;
}

function splitId(id: string): [number, number] {
  const dash = id.indexOf('-');
  return [Number(id.slice(0, dash)), Number(id.slice(dash + 1))];
}
