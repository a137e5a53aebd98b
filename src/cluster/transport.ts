/**
 * What the cluster mode needs of a message log, small enough that another one (a Kafka adapter:
 * partitions as topic partitions, leases as group assignment, commit as a transactional
 * produce-and-commit-offsets, the state as a compacted changelog topic) could stand in for Redis
 * Streams. Only the Redis one exists and is tested (redisTransport.ts).
 */
import type { Chunk, ChunkFields } from './chunkEntry.js';
import type { StoredPartition } from './partitionState.js';

/** One entry as read back: its fields as stored (a consumer checks them; a bad one is a dead letter). */
export interface LogEntry extends ChunkFields {
  id: string;
  /** Times the partition was taken over at the position just before this entry (first entry after it only). */
  deliveries?: number;
}

export interface DeadLetter {
  /** The entry's id, or `<input>-<line>` for one row of it. */
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
  /** The batch's events entry (eventCodec.ts), or undefined when it decided no row. */
  events?: Buffer;
  /** The transactions it changed (partitionState.ts), or undefined when none. */
  changes?: Buffer;
  /** client → `available held flags` of every account the batch touched. */
  accounts: Map<number, string>;
  dead: DeadLetter[];
  /** Stream entries the batch covers (after prevId, up to lastId). */
  entries: number;
}

/** 'ok' (with the changelog entry's id, '' if none); 'done' (committed already: its reply was lost); 'lease' (not ours any more); 'cursor' (moved by someone else). */
export type CommitResult = { kind: 'ok'; changesId: string } | { kind: 'done' | 'lease' } | { kind: 'cursor'; at: string };

export interface PublishCounts {
  added: number;
}

export interface Transport {
  /** The partition count, set to `wanted` by the first publish; undefined before any. */
  partitions(wanted?: number): Promise<number | undefined>;
  /** The number of this input (by content); the same on every publish of it. */
  inputNumber(sha256: string): Promise<number>;
  /** The tx ids input n claimed, or undefined if its publish never completed. */
  ownedIds(n: number): Promise<Buffer | undefined>;
  saveOwnedIds(n: number, ids: Buffer): Promise<void>;
  /** Per partition, the last line of input n published to it (0 if none): where a publish run again goes on from. */
  publishedLines(n: number, partitions: number): Promise<number[]>;
  /** Appends chunks (one entry each) and moves their partition's published line, each chunk atomically. */
  publish(chunks: Map<number, Chunk[]>): Promise<PublishCounts>;

  /** Records a heartbeat; returns the names of the live consumers, sorted. */
  heartbeat(owner: string, ttlMs: number): Promise<string[]>;
  leave(owner: string): Promise<void>;
  /** Takes or renews the lease of partition p; false if another consumer holds it. */
  lease(p: number, owner: string, ttlMs: number): Promise<boolean>;
  release(p: number, owner: string): Promise<void>;
  committed(p: number): Promise<string>;
  /** Everything a new owner needs to rebuild p's ledger (partitionState.ts). */
  loadPartition(p: number): Promise<StoredPartition>;
  /** Puts a snapshot of p as of `position` in place and trims the changelog up to `changesId` (if p is still ours and there). */
  saveSnapshot(p: number, owner: string, position: string, changesId: string, snapshot: Buffer): Promise<boolean>;
  /** Counts a takeover of p at its committed position `at` (entries waiting after it); returns how many there were. */
  takenOver(p: number, at: string): Promise<number>;
  /** Per partition, the entries after the given position (up to count each), in order. */
  read(positions: Map<number, string>, count: number): Promise<Map<number, LogEntry[]>>;
  commit(commit: Commit): Promise<CommitResult>;
  /** Per partition: entries published and not yet committed. */
  backlog(partitions: number[]): Promise<Map<number, { lag: number }>>;

  /** The id of the newest entry of p ('' if none). */
  lastId(p: number): Promise<string>;
  accounts(p: number): Promise<Map<number, string>>;

  close(): Promise<void>;
}
