import { setTimeout as sleep } from 'node:timers/promises';
import type { Log } from './clusterLog.js';
import type { PartitionLedger } from './partitionLedger.js';
import { RedisRefused } from './redisReply.js';
import type { Commit, CommitResult, Transport } from './transport.js';

/** Counters for the metrics line and the Prometheus endpoint. */
export class ConsumerMetrics {
  rows = 0;
  commits = 0;
  retries = 0;
  deadLetters = 0;
  takenOver = 0;
  snapshots = 0;
  backlog = new Map<number, { lag: number }>();
}

const MAX_BACKOFF_MS = 5000;

export function backoff(attempt: number): number {
  return Math.min(50 * 2 ** attempt, MAX_BACKOFF_MS) * (0.75 + Math.random() / 2);
}

/** Errors no retry mends: a Redis that answered no for good. They end the run. */
export function fatal(error: unknown): boolean {
  return error instanceof RedisRefused;
}

export function message(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

/** What the pipeline asks of its consumer: is this still p's ledger, and to drop p (its commit was refused). */
export interface CommitOwner {
  holds(p: number, ledger: PartitionLedger): boolean;
  drop(p: number, why: string): Promise<void>;
}

/**
 * A consumer's commits in flight. A batch's commit is sent without waiting for it, so the next
 * batch is decided while Redis runs this one; a partition's commit goes only once its previous
 * one has answered (a retried commit is never overtaken), and a batch is decided only once the
 * commits of the batch before have answered: at most one batch a partition in flight and one
 * more decided. If a commit fails, the partition is dropped with the batch decided after it
 * (its ledger is rebuilt from Redis when taken again).
 */
export class CommitPipeline {
  /** Per partition, its last commit sent (resolves once it has answered, whatever the answer). */
  private readonly pending = new Map<number, Promise<void>>();
  /** The commits sent for the batch decided last. */
  private sentLast: Promise<void>[] = [];

  constructor(
    private readonly transport: Transport,
    private readonly metrics: ConsumerMetrics,
    private readonly log: Log,
    private readonly owner: CommitOwner,
  ) {}

  /** Sends one decided batch of p once p's previous commit has answered (not waiting for it). */
  send(p: number, ledger: PartitionLedger, commit: Commit, rows: number): void {
    const previous = this.pending.get(p) ?? Promise.resolve();
    const sent = previous.then(() => (this.owner.holds(p, ledger) ? this.commitBatch(p, ledger, commit, rows) : undefined));
    sent.catch(() => undefined); // a fatal answer is rethrown where it is awaited (the next batch, a hand-over, the stop)
    this.pending.set(p, sent);
  }

  /** The commits sent for the batch before (of these partitions now) have answered; call once a batch, after sending it. */
  async turn(partitions: number[]): Promise<void> {
    await Promise.all(this.sentLast);
    this.sentLast = partitions.map((p) => this.pending.get(p)!);
  }

  /** p's last commit sent has answered. */
  async answered(p: number): Promise<void> {
    await this.pending.get(p);
  }

  /** Every commit sent has answered. */
  async settled(): Promise<void> {
    await Promise.all(this.pending.values());
  }

  /** Commits one decided batch and counts it; a partition lost meanwhile is dropped (commit() says why). */
  private async commitBatch(p: number, ledger: PartitionLedger, commit: Commit, rows: number): Promise<void> {
    const changesId = await this.commit(p, commit);
    if (changesId === undefined) return;
    ledger.committed(changesId, (commit.changes?.length ?? 0) / 16);
    this.metrics.rows += rows;
    this.metrics.deadLetters += commit.dead.length;
    for (const dead of commit.dead) this.log('dead_letter', { partition: p, id: dead.id, error: dead.error });
  }

  /** Commits a decided batch, retrying with backoff; its changelog id, or undefined if the partition was lost instead. */
  private async commit(p: number, commit: Commit): Promise<string | undefined> {
    for (let attempt = 0; ; attempt++) {
      let result: CommitResult;
      try {
        result = await this.transport.commit(commit);
      } catch (error) {
        if (fatal(error)) throw error;
        this.metrics.retries++;
        if (attempt === 0) this.log('commit_retry', { partition: p, lastId: commit.lastId, error: message(error) });
        await sleep(backoff(attempt));
        continue;
      }
      if (result.kind === 'ok' || result.kind === 'done') {
        this.metrics.commits++;
        // 'done': committed by the try whose reply was lost; its changelog id is unknown, so the next snapshot holds up to the one before.
        return result.kind === 'ok' ? result.changesId : '';
      }
      // The ledger in hand is ahead of Redis now: it is dropped, and rebuilt from Redis if the partition comes back.
      if (result.kind === 'lease') await this.owner.drop(p, 'lease lost before the commit');
      else if (result.kind === 'cursor') await this.owner.drop(p, `committed position moved to '${result.at}' by someone else (expected '${commit.prevId}'); rebuilt from Redis when taken again`);
      return undefined;
    }
  }
}
