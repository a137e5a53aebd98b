import { setTimeout as sleep } from 'node:timers/promises';
import type { Log } from './clusterLog.js';
import { RedisRefused } from './redisReply.js';
import { PartitionLedger, type Prepared } from './partitionLedger.js';
import type { Commit, CommitResult, LogEntry, Transport } from './transport.js';

export interface ConsumerOptions {
  owner: string;
  prefix: string;
  leaseMs: number;
  /** Entries read per partition at a time. */
  batch: number;
  metricsEveryMs: number;
  /** An entry taken over more often than this without a commit becomes a dead letter. */
  maxDeliveries?: number;
}

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

/** Nothing to read: the next look is this much later. */
const IDLE_MS = 20;
/** Caught up (every partition read less than a full batch): wait this long so the next batch is fuller (fewer commits, less Redis work a row). */
const LINGER_MS = 50;
const MAX_BACKOFF_MS = 5000;

function backoff(attempt: number): number {
  return Math.min(50 * 2 ** attempt, MAX_BACKOFF_MS) * (0.75 + Math.random() / 2);
}

/** Errors no retry mends: a Redis that answered no for good. They end the run. */
function fatal(error: unknown): boolean {
  return error instanceof RedisRefused;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

/**
 * A consumer of the cluster (`payrun consume`): heartbeats, holds the leases of the partitions
 * assigned to it (live consumers sorted; partition p goes to live[p % live.length]), rebuilds each
 * one's ledger from the state Redis holds for it (no disk: any consumer anywhere can take any
 * partition), reads entries in order, decides them (PartitionLedger) and commits each batch to
 * Redis in one script; only a committed batch is acknowledged.
 */
export class Consumer {
  readonly metrics = new ConsumerMetrics();
  private readonly owned = new Map<number, PartitionLedger>();
  /** Partitions whose state in Redis cannot be read: never consumed by this process, reported once. */
  private readonly refused = new Set<number>();
  private partitions = 0;
  private stopping = false;
  /** Until then, membership is only heartbeated (after a Redis outage every heartbeat has lapsed). */
  private settleUntil = 0;
  private wake: (() => void) | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly options: ConsumerOptions,
    private readonly log: Log,
  ) {}

  /** Redis is reachable again: give every consumer a heartbeat's time to reappear before moving partitions. */
  redisBack(): void {
    this.settleUntil = Date.now() + this.options.leaseMs / 3;
  }

  /** Ends the run after the batch in hand (its commit included). */
  stop(): void {
    this.stopping = true;
    this.wake?.();
  }

  get partitionsOwned(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  async run(): Promise<void> {
    try {
      await this.consume();
    } catch (error) {
        // Ending on a fatal error: nothing to close (the state is in Redis, as of the last commit).
      this.owned.clear();
      throw error;
    }
  }

  private async consume(): Promise<void> {
    const { options } = this;
    this.log('started', { prefix: options.prefix, leaseMs: options.leaseMs });
    while (!this.stopping && this.partitions === 0) {
      this.partitions = (await this.guard(() => this.transport.partitions())) ?? 0;
      if (this.partitions === 0) await this.pause(500);
    }
    // Announce ourselves and give consumers started together one heartbeat to see each other,
    // rather than each taking every partition and handing most back at once.
    await this.guard(() => this.transport.heartbeat(options.owner, options.leaseMs));
    await this.pause(Math.min(1000, options.leaseMs / 3));
    let nextTick = 0;
    let nextMetrics = Date.now() + options.metricsEveryMs;
    let lastRows = 0;
    while (!this.stopping) {
      if (Date.now() >= nextTick) {
        const waiting = await this.guard(() => this.rebalance());
        // A partition of ours still held by its last owner (handing it over) is asked for again soon.
        nextTick = Date.now() + (waiting === true ? Math.min(100, options.leaseMs / 3) : options.leaseMs / 3);
      }
      if (this.owned.size === 0) {
        await this.pause(Math.max(0, Math.min(200, nextTick - Date.now())));
        continue;
      }
      let read: Map<number, LogEntry[]>;
      try {
        read = await this.transport.read(new Map([...this.owned].map(([p, ledger]) => [p, ledger.position])), options.batch);
      } catch (error) {
        if (fatal(error)) throw error;
        this.metrics.retries++;
        this.log('retrying', { error: message(error) });
        await this.pause(backoff(0));
        continue;
      }
      if (read.size === 0) await this.pause(Math.min(IDLE_MS, nextTick - Date.now()));
      else {
        await this.processAll(read);
        if ([...read.values()].every((entries) => entries.length < options.batch)) await this.pause(Math.min(LINGER_MS, nextTick - Date.now()));
      }
      if (Date.now() >= nextMetrics) {
        const seconds = (Date.now() - nextMetrics + options.metricsEveryMs) / 1000;
        nextMetrics = Date.now() + options.metricsEveryMs;
        await this.reportMetrics(seconds, this.metrics.rows - lastRows);
        lastRows = this.metrics.rows;
      }
    }
    await this.shutdown();
  }

  /** Runs a Redis step; a failure is logged and waited out (backoff), never fatal. */
  private async guard<T>(step: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await step();
      } catch (error) {
        if (fatal(error)) throw error;
        this.metrics.retries++;
        if (attempt === 0) this.log('retrying', { error: message(error) });
        if (this.stopping) return undefined;
        await this.pause(backoff(attempt));
      }
    }
  }

  private async pause(ms: number): Promise<void> {
    if (this.stopping || ms <= 0) return;
    await Promise.race([sleep(ms), new Promise<void>((resolve) => (this.wake = resolve))]);
    this.wake = undefined;
  }

  /** Returns whether a partition assigned to us is still held by another consumer. */
  private async rebalance(): Promise<boolean> {
    const { owner, leaseMs } = this.options;
    const live = await this.transport.heartbeat(owner, leaseMs);
    if (Date.now() < this.settleUntil) {
      for (const p of this.partitionsOwned) if (!(await this.transport.lease(p, owner, leaseMs))) await this.drop(p, 'lease taken by another consumer');
      return true;
    }
    const me = live.indexOf(owner);
    const mine = new Set<number>();
    for (let p = 0; p < this.partitions; p++) if (me >= 0 && live[p % live.length] === owner) mine.add(p);
    for (const p of this.partitionsOwned) {
      if (!mine.has(p)) await this.release(p, 'rebalanced');
      else if (!(await this.transport.lease(p, owner, leaseMs))) await this.drop(p, 'lease taken by another consumer');
    }
    for (const p of mine) if (!this.owned.has(p) && !this.refused.has(p)) await this.acquire(p);
    return [...mine].some((p) => !this.owned.has(p) && !this.refused.has(p));
  }

  private async acquire(p: number): Promise<void> {
    const { owner, leaseMs, maxDeliveries } = this.options;
    if (!(await this.transport.lease(p, owner, leaseMs))) return; // its last owner has not let go yet
    const started = performance.now();
    const stored = await this.transport.loadPartition(p);
    let ledger: PartitionLedger;
    try {
      ledger = PartitionLedger.restore(stored, p, this.partitions, owner, maxDeliveries);
    } catch (error) {
      await this.transport.release(p, owner);
      this.refused.add(p);
      this.log('error', { partition: p, error: `partition ${p}: its state in Redis cannot be read (${message(error)}); not consuming it` });
      return;
    }
    const loadMs = Math.round(performance.now() - started);
    this.owned.set(p, ledger);
    // Entries wait after the position: count this takeover there (an entry every owner dies on becomes a dead letter).
    const waiting = (await this.transport.lastId(p)) !== ledger.position;
    if (waiting) {
      ledger.takeovers = await this.transport.takenOver(p, ledger.position);
      if (ledger.takeovers > 1) this.metrics.takenOver++;
    }
    this.log('partition_acquired', { partition: p, position: ledger.position, transactions: ledger.ledger.book.size, loadMs, waiting });
  }

  /** Decides each partition's entries, then sends every commit at once (one round trip for all) and waits for them all. */
  private async processAll(read: Map<number, LogEntry[]>): Promise<void> {
    const batches: { p: number; ledger: PartitionLedger; prepared: Prepared }[] = [];
    for (const [p, entries] of read) {
      const ledger = this.owned.get(p);
      if (ledger !== undefined) batches.push({ p, ledger, prepared: ledger.prepare(entries) });
    }
    await Promise.all(
      batches.map(async ({ p, ledger, prepared }) => {
        const commit = prepared.commit;
        if (commit === undefined) return;
        const changesId = await this.commit(p, commit);
        if (changesId === undefined) return;
        ledger.committed(changesId, (commit.changes?.length ?? 0) / 16);
        this.metrics.rows += prepared.rows;
        this.metrics.deadLetters += commit.dead.length;
        for (const dead of commit.dead) this.log('dead_letter', { partition: p, id: dead.id, error: dead.error });
        if (ledger.snapshotDue()) await this.snapshot(p, ledger);
      }),
    );
  }

  /** Writes p's snapshot to Redis (trimming its changelog); a failure only leaves the changelog longer. */
  private async snapshot(p: number, ledger: PartitionLedger): Promise<void> {
    const { position, changesId, bytes, transactions } = ledger.snapshot();
    try {
      if (await this.transport.saveSnapshot(p, this.options.owner, position, changesId, bytes)) {
        ledger.snapshotSaved(transactions);
        this.metrics.snapshots++;
      }
    } catch (error) {
      if (fatal(error)) throw error;
      this.log('retrying', { partition: p, error: `snapshot: ${message(error)}` });
    }
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
      if (result.kind === 'lease') await this.drop(p, 'lease lost before the commit');
      else if (result.kind === 'cursor') await this.drop(p, `committed position moved to '${result.at}' by someone else (expected '${commit.prevId}'); rebuilt from Redis when taken again`);
      return undefined;
    }
  }

  /**
   * Stops consuming p. Handed over: a last snapshot first (the next owner rebuilds it at once),
   * then the lease let go (`partition_released`); lost: the lease is not ours to let go, and
   * nothing is written (`partition_lost`).
   */
  private async letGo(p: number, why: string, handOver: boolean): Promise<void> {
    const ledger = this.owned.get(p);
    this.owned.delete(p);
    if (handOver) {
      if (ledger?.snapshotDue(true)) await this.snapshot(p, ledger);
      await this.transport.release(p, this.options.owner);
    }
    this.log(handOver ? 'partition_released' : 'partition_lost', { partition: p, reason: why });
  }

  private drop(p: number, why: string): Promise<void> {
    return this.letGo(p, why, false);
  }

  private release(p: number, why: string): Promise<void> {
    return this.letGo(p, why, true);
  }

  private async reportMetrics(seconds: number, rows: number): Promise<void> {
    const owned = this.partitionsOwned;
    const backlog = (await this.guard(() => this.transport.backlog(owned))) ?? new Map();
    this.metrics.backlog = backlog;
    const m = this.metrics;
    this.log('metrics', {
      rowsPerSec: Math.round(rows / Math.max(seconds, 1e-3)),
      rows: m.rows,
      partitions: owned,
      lag: Object.fromEntries([...backlog].map(([p, b]) => [p, b.lag])),
      retries: m.retries,
      deadLetters: m.deadLetters,
      takenOver: m.takenOver,
      snapshots: m.snapshots,
    });
  }

  private async shutdown(): Promise<void> {
    for (const p of this.partitionsOwned) {
      try {
        await this.release(p, 'stopping');
      } catch (error) {
        this.log('error', { partition: p, error: message(error) });
      }
    }
    try {
      await this.transport.leave(this.options.owner);
    } catch {
      // its heartbeat expires on its own
    }
    this.log('stopped', { rows: this.metrics.rows, commits: this.metrics.commits });
  }
}
