/**
 * The Redis keys of one cluster (docs/cluster-design.md), all under one prefix. Every key of
 * partition p carries the hash tag `{<prefix>:<p>}`, so on a Redis Cluster one partition lives in
 * one slot and its commit script touches one node; the few cluster-wide keys are each read or
 * written by single-key commands.
 */
export class ClusterKeys {
  constructor(readonly prefix: string) {}

  private of(p: number, what: string): string {
    return `{${this.prefix}:${p}}:${what}`;
  }

  /** The stream of partition p: one entry per chunk of rows (chunkEntry.ts). */
  partition(p: number): string {
    return this.of(p, 'tx');
  }

  /** Hash: input number → the last line of that input published to p (the publisher's own position). */
  published(p: number): string {
    return this.of(p, 'published');
  }

  lease(p: number): string {
    return this.of(p, 'lease');
  }

  /** Hash: `at`, the id of p's last committed entry; `entries`, how many entries were committed. */
  progress(p: number): string {
    return this.of(p, 'progress');
  }

  /** Hash: committed position → times p was taken over there with entries after it (a poison entry is one every owner dies on). */
  takeovers(p: number): string {
    return this.of(p, 'takeovers');
  }

  /** Hash: client → `available held flags` (integer ten-thousandths; flags as the ledger's). */
  accounts(p: number): string {
    return this.of(p, 'accounts');
  }

  /** Stream of p's row events: one entry per committed batch (eventCodec.ts). */
  events(p: number): string {
    return this.of(p, 'events');
  }

  /** Stream of p's dead letters: entries or rows that could not be applied, with the error. */
  dead(p: number): string {
    return this.of(p, 'dead');
  }

  /** Stream of p's tx-state changes, one entry per committed batch, trimmed behind each snapshot. */
  changes(p: number): string {
    return this.of(p, 'changes');
  }

  /** String: p's transactions as of `snapshotMeta` (partitionState.ts). */
  snapshot(p: number): string {
    return this.of(p, 'snapshot');
  }

  /** Where a new snapshot is written before the SNAPSHOT script puts it in place. */
  snapshotNext(p: number): string {
    return this.of(p, 'snapshot:next');
  }

  /** Hash: `position` (the committed entry the snapshot is as of), `changes` (the last change it holds). */
  snapshotMeta(p: number): string {
    return this.of(p, 'snapshot:meta');
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

  /** Sorted set: consumer name → last heartbeat (ms). */
  get consumers(): string {
    return `${this.prefix}:consumers`;
  }
}

/** Stream entry ids `a-b` in order (as unsigned 64-bit numbers, any size); '' is before every id. */
export function compareIds(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '') return -1;
  if (b === '') return 1;
  const da = a.indexOf('-');
  const db = b.indexOf('-');
  return compareDigits(a.slice(0, da), b.slice(0, db)) || compareDigits(a.slice(da + 1), b.slice(db + 1));
}

function compareDigits(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
