/**
 * What the cluster mode needs of a message log, small enough that another one (a Kafka adapter:
 * partitions as topic partitions, leases as group assignment, commit as a transactional
 * produce-and-commit-offsets) could stand in for Redis Streams. Only the Redis one exists and is
 * tested (redisTransport.ts).
 */

/** One row as published: its line in the input, its text, and the publisher's tx-id decision. */
export interface PublishedRow {
  id: string;
  line: number;
  row: Buffer;
  duplicate: boolean;
}

/** One entry as read back: the fields as stored (a consumer checks them; a bad one is a dead letter). */
export interface LogEntry {
  id: string;
  line?: string;
  row?: Buffer;
  duplicate?: string;
  /** Times the log has handed this entry to a consumer (known for entries taken over). */
  deliveries?: number;
}

export interface DeadLetter {
  id: string;
  error: string;
}

/** Everything one batch of a partition changes, made visible at once (or not at all). */
export interface Commit {
  partition: number;
  owner: string;
  /** The partition's committed position before this batch ('' at its start) and after it. */
  prevId: string;
  lastId: string;
  events: string[];
  /** client → `available held flags` of every account the batch touched. */
  accounts: Map<number, string>;
  dead: DeadLetter[];
  /** The entries to acknowledge. */
  ack: string[];
}

/** 'ok'; 'done' (already committed: a relay repeated after a crash); 'lease' (not ours any more); 'cursor' (moved by someone else). */
export type CommitResult = { kind: 'ok' | 'done' | 'lease' } | { kind: 'cursor'; at: string };

export interface PublishCounts {
  added: number;
  existing: number;
}

export interface Transport {
  /** The partition count, set to `wanted` by the first publish; undefined before any. */
  partitions(wanted?: number): Promise<number | undefined>;
  /** The number of this input (by content); the same on every publish of it. */
  inputNumber(sha256: string): Promise<number>;
  /** The tx ids input n claimed, or undefined if its publish never completed. */
  ownedIds(n: number): Promise<Buffer | undefined>;
  saveOwnedIds(n: number, ids: Buffer): Promise<void>;
  /** Appends rows to partitions (pipelined); rows already in the log are counted, not added. */
  publish(rows: Map<number, PublishedRow[]>): Promise<PublishCounts>;

  /** Records a heartbeat; returns the names of the live consumers, sorted. */
  heartbeat(owner: string, ttlMs: number): Promise<string[]>;
  leave(owner: string): Promise<void>;
  /** Takes or renews the lease of partition p; false if another consumer holds it. */
  lease(p: number, owner: string, ttlMs: number): Promise<boolean>;
  release(p: number, owner: string): Promise<void>;
  committed(p: number): Promise<string>;
  /** Entries of p delivered to any consumer and never acknowledged, taken over by owner, in order. */
  claimPending(p: number, owner: string, count: number): Promise<LogEntry[]>;
  /** New entries of the given partitions, waiting up to blockMs for some. */
  read(partitions: number[], owner: string, count: number, blockMs: number): Promise<Map<number, LogEntry[]>>;
  ack(p: number, ids: string[]): Promise<void>;
  commit(commit: Commit): Promise<CommitResult>;
  /** Per partition: entries not yet delivered (lag) and delivered but not acknowledged (pending). */
  backlog(partitions: number[]): Promise<Map<number, { lag: number; pending: number }>>;

  /** The id of the newest entry of p ('' if none). */
  lastId(p: number): Promise<string>;
  accounts(p: number): Promise<Map<number, string>>;

  close(): Promise<void>;
}
