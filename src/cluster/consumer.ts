import { setTimeout as sleep } from 'node:timers/promises';
import type { Log } from './clusterLog.js';
import { backoff, CommitPipeline, ConsumerMetrics, fatal, message } from './commitPipeline.js';
import { PartitionLedger, type Prepared } from './partitionLedger.js';
import type { LogEntry, Transport } from './transport.js';

export { ConsumerMetrics } from './commitPipeline.js';

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

/** A read in flight: the positions it reads after, and what came back (or why not). */
type Reading = Promise<{ from: Map<number, string>; found?: Map<number, LogEntry[]>; error?: unknown }>;

/** Nothing to read: the next look is this much later. */
const IDLE_MS = 20;
/**
 * Caught up (every partition read less than a full batch): wait this long so the next batch is
 * fuller. A commit writes every account its batch touched (about all of a partition's clients
 * once a batch holds a few rows a client), so fewer, fuller commits cost Redis less a row: 2
 * consumers keeping up with a 1M-row publish made 150 commits at 100 ms, 179 at 50 ms. Events of
 * a caught-up consumer come up to this much later.
 */
const LINGER_MS = 100;
/** Before the first publish: how often to look for it. */
const FIRST_PUBLISH_LOOK_MS = 50;

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
  private readonly commits: CommitPipeline;

  constructor(
    private readonly transport: Transport,
    private readonly options: ConsumerOptions,
    private readonly log: Log,
  ) {
    this.commits = new CommitPipeline(transport, this.metrics, log, { holds: (p, ledger) => this.owned.get(p) === ledger, drop: (p, why) => this.drop(p, why) });
  }

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
    await this.join();
    let nextTick = 0;
    let ahead: Reading | undefined;
    let nextMetrics = Date.now() + options.metricsEveryMs;
    let lastRows = 0;
    while (!this.stopping) {
      if (Date.now() >= nextTick) {
        const waiting = await this.guard(() => this.rebalance());
        // A partition of ours still held by its last owner (handing it over) is asked for again soon.
        nextTick = Date.now() + (waiting === true ? Math.min(100, options.leaseMs / 3) : options.leaseMs / 3);
      }
      if (this.owned.size === 0) {
        ahead = undefined;
        await this.pause(Math.max(0, Math.min(200, nextTick - Date.now())));
        continue;
      }
      ahead = (await this.round(ahead, nextTick)).next;
      if (Date.now() >= nextMetrics) {
        const seconds = (Date.now() - nextMetrics + options.metricsEveryMs) / 1000;
        nextMetrics = Date.now() + options.metricsEveryMs;
        await this.reportMetrics(seconds, this.metrics.rows - lastRows);
        lastRows = this.metrics.rows;
      }
    }
    await this.commits.settled();
    await this.shutdown();
  }

  /**
   * Announces this consumer, then waits for the first publish (a quick look: the rows must not
   * wait for us) and for one heartbeat's time since the announcement, so consumers started
   * together see each other rather than each taking every partition and handing most back.
   */
  private async join(): Promise<void> {
    const { owner, leaseMs } = this.options;
    const announced = Date.now();
    await this.guard(() => this.transport.heartbeat(owner, leaseMs));
    let beat = Date.now();
    while (!this.stopping) {
      this.partitions = (await this.guard(() => this.transport.partitions())) ?? 0;
      if (this.partitions > 0) break;
      if (Date.now() - beat >= leaseMs / 3) {
        await this.guard(() => this.transport.heartbeat(owner, leaseMs));
        beat = Date.now();
      }
      await this.pause(FIRST_PUBLISH_LOOK_MS);
    }
    await this.pause(announced + Math.min(1000, leaseMs / 3) - Date.now());
  }

  /**
   * One read (the one sent ahead, else a new one) decided and its commits sent. A partition read
   * in full has more waiting: the next read goes out at once, so Redis answers it while this batch
   * is decided, and is returned; caught up, the consumer lingers instead (fuller next batches).
   */
  private async round(ahead: Reading | undefined, nextTick: number): Promise<{ next?: Reading }> {
    const { from, found, error } = await (ahead ?? this.readFrom(this.positions()));
    if (found === undefined) {
      if (fatal(error)) throw error;
      this.metrics.retries++;
      this.log('retrying', { error: message(error) });
      await this.pause(backoff(0));
      return {};
    }
    const read = this.continuing(from, found);
    if (read.size === 0) {
      if (found.size === 0) await this.pause(Math.min(IDLE_MS, nextTick - Date.now()));
      return {};
    }
    let next: Reading | undefined;
    if ([...read.values()].some((entries) => entries.length >= this.options.batch)) {
      const after = this.positions();
      for (const [p, entries] of read) after.set(p, entries[entries.length - 1]!.id);
      next = this.readFrom(after);
    }
    await this.processAll(read);
    if (next === undefined) await this.pause(Math.min(LINGER_MS, nextTick - Date.now()));
    // In an object: a promise returned by an async function would be waited for.
    return { next };
  }

  /** Where each partition held goes on from (the batch decided last included). */
  private positions(): Map<number, string> {
    return new Map([...this.owned].map(([p, ledger]) => [p, ledger.position]));
  }

  private readFrom(from: Map<number, string>): Reading {
    return this.transport.read(from, this.options.batch).then(
      (found) => ({ from, found }),
      (error: unknown) => ({ from, error }),
    );
  }

  /** The entries read that continue a ledger held, from where it is now (a read ahead of a partition lost or taken again since is of no use). */
  private continuing(from: Map<number, string>, found: Map<number, LogEntry[]>): Map<number, LogEntry[]> {
    const read = new Map<number, LogEntry[]>();
    for (const [p, entries] of found) if (this.owned.get(p)?.position === from.get(p)) read.set(p, entries);
    return read;
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

  /** Decides each partition's entries and sends their commits (CommitPipeline: the next batch is decided while Redis runs these). */
  private async processAll(read: Map<number, LogEntry[]>): Promise<void> {
    const sending: { p: number; ledger: PartitionLedger; prepared: Prepared }[] = [];
    for (const [p, entries] of read) {
      const ledger = this.owned.get(p);
      if (ledger === undefined) continue;
      if (ledger.snapshotDue()) {
        // A snapshot is of the committed state: the batch in flight answers first, and nothing is decided after it until then.
        await this.commits.answered(p);
        if (this.owned.get(p) !== ledger) continue;
        await this.snapshot(p, ledger);
      }
      sending.push({ p, ledger, prepared: ledger.prepare(entries) });
    }
    const sent: number[] = [];
    for (const { p, ledger, prepared } of sending) {
      if (prepared.commit === undefined) continue;
      this.commits.send(p, ledger, prepared.commit, prepared.rows);
      sent.push(p);
    }
    await this.commits.turn(sent);
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

  /**
   * Stops consuming p. Handed over: a last snapshot first (the next owner rebuilds it at once),
   * then the lease let go (`partition_released`); lost: the lease is not ours to let go, and
   * nothing is written (`partition_lost`).
   */
  private async letGo(p: number, why: string, handOver: boolean): Promise<void> {
    const ledger = this.owned.get(p);
    this.owned.delete(p);
    if (handOver) {
      // Its batch in flight answers first: the snapshot is then of the committed state (else the snapshot script refuses it).
      await this.commits.answered(p);
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
