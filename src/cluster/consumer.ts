import { setTimeout as sleep } from 'node:timers/promises';
import { type FsyncMode } from '../journal/fsyncMode.js';
import { JournalError } from '../journal/journalError.js';
import { DirectoryError } from '../io/ensureDirectory.js';
import type { Log } from './clusterLog.js';
import { RedisRefused } from './redisReply.js';
import { PartitionLedger, type Prepared } from './partitionLedger.js';
import type { Commit, CommitResult, LogEntry, Transport } from './transport.js';

export interface ConsumerOptions {
  owner: string;
  prefix: string;
  journal: string;
  fsync: FsyncMode;
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
  relayedAgain = 0;
  takenOver = 0;
  backlog = new Map<number, { lag: number; pending: number }>();
}

const BLOCK_MS = 200;
const MAX_BACKOFF_MS = 5000;

function backoff(attempt: number): number {
  return Math.min(50 * 2 ** attempt, MAX_BACKOFF_MS) * (0.75 + Math.random() / 2);
}

/** Errors no retry mends: a journal that cannot be used, a Redis that answered no for good. They end the run. */
function fatal(error: unknown): boolean {
  return error instanceof JournalError || error instanceof DirectoryError || error instanceof RedisRefused;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

/**
 * A consumer of the cluster (`payrun consume`): heartbeats, holds the leases of the partitions
 * assigned to it (live consumers sorted; partition p goes to live[p % live.length]), and for each
 * one reads entries in order, decides and journals them (PartitionLedger), then commits the
 * batch to Redis in one script; only a committed batch is acknowledged.
 */
export class Consumer {
  readonly metrics = new ConsumerMetrics();
  private readonly owned = new Map<number, PartitionLedger>();
  /** Partitions whose journal and Redis disagree: never consumed by this process, reported once. */
  private readonly refused = new Set<number>();
  private partitions = 0;
  private stopping = false;
  /** Partitions whose "busy" line was logged (once until taken). */
  private readonly busyLogged = new Set<number>();
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
      // Ending on a fatal error: every journal closed (whole records; the next owner goes on from them).
      for (const p of this.partitionsOwned) {
        const ledger = this.owned.get(p);
        this.owned.delete(p);
        await ledger?.close().catch(() => undefined);
      }
      throw error;
    }
  }

  private async consume(): Promise<void> {
    const { options } = this;
    this.log('started', { prefix: options.prefix, journal: options.journal, leaseMs: options.leaseMs });
    while (!this.stopping && this.partitions === 0) {
      this.partitions = (await this.guard(() => this.transport.partitions())) ?? 0;
      if (this.partitions === 0) await this.pause(500);
    }
    // Announce ourselves and give consumers started together one heartbeat to see each other,
    // rather than each taking every partition and handing most back at once.
    await this.guard(() => this.transport.heartbeat(options.owner, options.leaseMs));
    await this.pause(Math.min(1000, options.leaseMs / 3));
    let nextTick = 0;
    let resync = false;
    let nextMetrics = Date.now() + options.metricsEveryMs;
    let lastRows = 0;
    while (!this.stopping) {
      if (Date.now() >= nextTick) {
        const waiting = await this.guard(() => this.rebalance());
        // A partition of ours still held by its last owner (handing it over) is asked for again soon.
        nextTick = Date.now() + (waiting === true ? Math.min(100, options.leaseMs / 3) : options.leaseMs / 3);
      }
      if (this.owned.size === 0) {
        await this.pause(Math.max(0, Math.min(BLOCK_MS, nextTick - Date.now())));
        continue;
      }
      if (resync) {
        // A read failed: Redis may have handed us entries whose reply never arrived. They are
        // pending for us and come before anything newer, so they are taken first.
        resync = (await this.guard(async () => {
          for (const p of this.partitionsOwned) await this.applyPending(p);
          return false;
        })) ?? true;
        continue;
      }
      let read: Map<number, LogEntry[]>;
      try {
        read = await this.transport.read(this.partitionsOwned, options.owner, options.batch, BLOCK_MS);
      } catch (error) {
        if (fatal(error)) throw error;
        resync = true;
        this.metrics.retries++;
        this.log('retrying', { error: message(error) });
        await this.pause(backoff(0));
        continue;
      }
      await this.processAll(read);
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
    const { owner, leaseMs, journal, prefix, fsync, maxDeliveries } = this.options;
    if (!(await this.transport.lease(p, owner, leaseMs))) return; // its last owner has not let go yet
    let ledger: PartitionLedger;
    try {
      ledger = PartitionLedger.open(journal, prefix, p, owner, fsync, (line) => this.log('journal', { partition: p, message: line }), maxDeliveries);
    } catch (error) {
      if (error instanceof DirectoryError) throw error;
      await this.transport.release(p, owner);
      if (!this.busyLogged.has(p)) this.log('partition_busy', { partition: p, error: message(error) });
      this.busyLogged.add(p);
      return;
    }
    this.busyLogged.delete(p);
    this.owned.set(p, ledger);
    try {
      await this.takeOver(p, ledger);
    } catch (error) {
      // Nothing is half-taken: the partition is let go and taken again from its journal next time.
      if (this.owned.get(p) === ledger) {
        this.owned.delete(p);
        await ledger.close();
        await this.transport.release(p, owner).catch(() => undefined);
      }
      throw error;
    }
  }

  /** A partition just opened: check it against Redis, relay its last batch if uncommitted, apply what was left pending. */
  private async takeOver(p: number, ledger: PartitionLedger): Promise<void> {
    const committed = await this.transport.committed(p);
    const outbox = committed === ledger.position ? undefined : ledger.lastOutbox();
    if (committed !== ledger.position && (outbox === undefined || (outbox.prevId ?? '') !== committed)) {
      this.owned.delete(p);
      await ledger.close();
      await this.transport.release(p, this.options.owner);
      this.refused.add(p);
      this.log('error', {
        partition: p,
        error: `partition ${p}: Redis has committed up to '${committed}' but journal '${ledger.dir}' is at '${ledger.position}'; they are not one cluster's (every consumer must share one --journal DIR, and Redis must keep its data: appendonly yes)`,
      });
      return;
    }
    if (outbox !== undefined) {
      // The last owner journaled this batch and died before its commit: relay it now.
      this.metrics.relayedAgain++;
      this.log('relayed_again', { partition: p, lastId: outbox.lastId, events: outbox.events.length });
      if (!(await this.commit(p, ledger.commitOf(outbox)))) return;
    }
    const pending = await this.applyPending(p);
    this.log('partition_acquired', { partition: p, position: ledger.position, pending });
  }

  /**
   * Takes every entry of p delivered and not acknowledged (a dead owner's, or ours whose read
   * reply was lost) and applies them in order; returns how many. Entries at or before the
   * journal's position are only acknowledged.
   */
  private async applyPending(p: number): Promise<number> {
    const pending = await this.transport.claimPending(p, this.options.owner, this.options.batch);
    if (pending.length > 0) this.metrics.takenOver += pending.length;
    for (let at = 0; at < pending.length && this.owned.has(p); at += this.options.batch) {
      await this.process(p, pending.slice(at, at + this.options.batch));
    }
    return pending.length;
  }

  private async process(p: number, entries: LogEntry[]): Promise<void> {
    await this.processAll(new Map([[p, entries]]));
  }

  /**
   * Decides and journals each partition's entries, flushes those journals together, then sends
   * every commit at once (pipelined on one connection) and waits for them all.
   */
  private async processAll(read: Map<number, LogEntry[]>): Promise<void> {
    const batches: { p: number; ledger: PartitionLedger; prepared: Prepared }[] = [];
    for (const [p, entries] of read) {
      const ledger = this.owned.get(p);
      if (ledger !== undefined) batches.push({ p, ledger, prepared: ledger.prepare(entries) });
    }
    await Promise.all(batches.map(({ ledger }) => ledger.flush()));
    await Promise.all(
      batches.map(async ({ p, prepared }) => {
        if (prepared.seen.length > 0) await this.guard(() => this.transport.ack(p, prepared.seen));
        const commit = prepared.commit;
        if (commit === undefined || !(await this.commit(p, commit))) return;
        this.metrics.rows += prepared.rows;
        this.metrics.deadLetters += commit.dead.length;
        for (const dead of commit.dead) this.log('dead_letter', { partition: p, id: dead.id, error: dead.error });
      }),
    );
  }

  /** Commits a journaled batch, retrying with backoff; false if the partition was lost instead. */
  private async commit(p: number, commit: Commit): Promise<boolean> {
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
        return true;
      }
      if (result.kind === 'lease') await this.drop(p, 'lease lost before the commit');
      else if (result.kind === 'cursor') {
        this.refused.add(p);
        this.log('error', { partition: p, error: `partition ${p}: committed position moved to '${result.at}' by someone else (expected '${commit.prevId}')` });
        await this.drop(p, 'position conflict');
      }
      return false;
    }
  }

  /**
   * Stops consuming p: its journal closed (snapshotted) first; then, when it is handed over, the
   * lease let go (`partition_released`); when it was lost, the lease is not ours to let go
   * (`partition_lost`).
   */
  private async letGo(p: number, why: string, handOver: boolean): Promise<void> {
    const ledger = this.owned.get(p);
    this.owned.delete(p);
    await ledger?.close();
    if (handOver) await this.transport.release(p, this.options.owner);
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
      pending: Object.fromEntries([...backlog].map(([p, b]) => [p, b.pending])),
      retries: m.retries,
      deadLetters: m.deadLetters,
      relayedAgain: m.relayedAgain,
      takenOver: m.takenOver,
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
