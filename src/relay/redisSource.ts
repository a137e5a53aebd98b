import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterKeys } from '../cluster/keys.js';
import { redisClient } from '../cluster/redisClient.js';
import { isPermanent, type RedisRefused, refusalOf } from '../cluster/redisReply.js';
import type { RedisTarget } from '../cluster/redisTarget.js';
import { GroupLock } from './groupLock.js';

/** One events entry as the group hands it out: its partition, id and bytes (undefined: the entry is gone from the stream). */
export interface GroupEntry {
  partition: number;
  id: string;
  bytes: Buffer | undefined;
  /** A pending entry's rows done in an earlier run: bit i (most significant first) for row i. */
  done?: Buffer;
}

export interface RedisSourceOptions {
  target: RedisTarget;
  prefix: string;
  group: string;
  /** The consumer's name in the group: fixed, so that a restart finds its own pending entries. */
  consumer: string;
  /** Entries read per partition at a time. */
  count: number;
  /** The wait between reads when every partition is caught up. */
  pollMs: number;
  onConnection?: (state: 'down' | 'up', detail: string) => void;
}

type Raw = Buffer | null | Raw[];

/**
 * The cluster's events streams (`{prefix:p}:events`, one entry per committed batch) read through a
 * consumer group of the relay's own, one group per stream. The group is the relay's position: an
 * entry is acknowledged (XACK) only when all of its events are delivered or dead-lettered, and a
 * (re)started relay first reads its pending entries (read but never acknowledged: a kill -9, a
 * dropped connection), then new ones. Reads never block (BLOCK would hold the one connection, and
 * a Redis Cluster has each partition's stream on its own slot): an idle relay polls every pollMs.
 */
export class RedisEventSource {
  readonly keys: ClusterKeys;
  readonly name: string;
  private readonly redis: Redis;
  private partitionCount = 0;
  /** Entries handed out and not yet acknowledged (by partition): a second read of the pending list skips them. */
  private readonly held = new Map<number, Set<string>>();
  private readonly acks = new Map<number, string[]>();
  /** Events done in entries not yet acknowledged, by partition: [entry id, row index]. */
  private readonly marks = new Map<number, [string, number][]>();
  private ackTimer: NodeJS.Timeout | undefined;
  private acking: Promise<void> = Promise.resolve();
  private ackFailure: unknown;
  /** Set when the connection came back: entries read just before the drop may be pending unseen. */
  private rescan = false;
  private down = false;
  refusal: RedisRefused | undefined;
  unreachable: string | undefined;
  acknowledged = 0;

  constructor(private readonly options: RedisSourceOptions) {
    this.keys = new ClusterKeys(options.prefix);
    this.name = options.target.display;
    this.redis = this.connect();
  }

  private connect(): Redis {
    const retry = (times: number): number => Math.min(50 * 2 ** times, 2000);
    const redis = redisClient(this.options.target, retry, null);
    redis.on('error', (error: Error) => {
      if (isPermanent(error)) {
        this.refusal ??= refusalOf(error, this.name);
        redis.disconnect();
      } else this.wentDown(error.message);
    });
    redis.on('close', () => this.wentDown('connection closed'));
    redis.on('ready', () => {
      this.unreachable = undefined;
      if (!this.down) return;
      this.down = false;
      this.rescan = true;
      this.options.onConnection?.('up', this.name);
    });
    return redis;
  }

  private wentDown(detail: string): void {
    if (this.refusal !== undefined) return;
    if (detail !== 'connection closed') this.unreachable = detail;
    if (this.down) return;
    this.down = true;
    this.options.onConnection?.('down', detail);
  }

  /** A command's reply; once Redis has refused (a wrong password), that refusal. */
  private async answer<T>(work: () => Promise<T>): Promise<T> {
    if (this.refusal !== undefined) throw this.refusal;
    try {
      return await work();
    } catch (error) {
      if (this.refusal === undefined && isPermanent(error)) this.refusal = refusalOf(error, this.name);
      throw this.refusal ?? error;
    }
  }

  /** The partition count, once something is published (undefined before). */
  async partitions(): Promise<number | undefined> {
    const stored = await this.answer(() => this.redis.hget(this.keys.meta, 'partitions'));
    return stored === null ? undefined : Number(stored);
  }

  /** The SHA-256 (hex) of the cluster's first published input, once it is registered. */
  async firstInputHash(): Promise<string | undefined> {
    const inputs = await this.answer(() => this.redis.hgetall(this.keys.inputs));
    return Object.entries(inputs).find(([, n]) => n === '1')?.[0];
  }

  /** Creates the group on every partition's events stream (from its first entry; a group already there is kept as it is). */
  async join(partitions: number): Promise<void> {
    this.partitionCount = partitions;
    for (let p = 0; p < partitions; p++) {
      this.held.set(p, new Set());
      await this.answer(async () => {
        try {
          await this.redis.xgroup('CREATE', this.keys.events(p), this.options.group, '0', 'MKSTREAM');
        } catch (error) {
          if (!/BUSYGROUP/.test(String(error))) throw error;
        }
      });
    }
  }

  /** Up to `count` entries of p's stream: pending ones after `after` ('0' for all), or new ones ('>'). */
  private async readGroup(p: number, after: string): Promise<GroupEntry[]> {
    const { group, consumer, count } = this.options;
    const reply = (await this.answer(() => this.redis.callBuffer('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'STREAMS', this.keys.events(p), after))) as Raw[] | null;
    const stream = reply?.[0] as Raw[] | undefined;
    const raws = (stream?.[1] ?? []) as Raw[][];
    return raws.map((raw) => {
      const fields = raw[1] as Buffer[] | null;
      return { partition: p, id: String(raw[0]), bytes: fields === null ? undefined : (fields[1] ?? Buffer.alloc(0)) };
    });
  }

  /** p's pending entries not handed out in this run, in order. */
  private async *pending(p: number): AsyncGenerator<GroupEntry[]> {
    const held = this.held.get(p)!;
    for (let after = '0'; ; ) {
      const page = await this.readGroup(p, after);
      if (page.length === 0) return;
      after = page[page.length - 1]!.id;
      const fresh = page.filter((entry) => !held.has(entry.id));
      for (const entry of fresh) held.add(entry.id);
      const done = await Promise.all(fresh.map((entry) => this.answer(() => this.redis.getBuffer(this.doneKey(p, entry.id)))));
      fresh.forEach((entry, i) => {
        if (done[i] !== null) entry.done = done[i];
      });
      if (fresh.length > 0) yield fresh;
    }
  }

  /**
   * Every entry for the relay, a page at a time: each partition's pending entries first, then new
   * ones, partition after partition. With `drain` it ends at the first round that finds nothing
   * new; else it polls until the caller stops taking.
   */
  async *entries(drain: boolean): AsyncGenerator<GroupEntry[]> {
    const partitions = this.partitionCount;
    this.rescan = true;
    for (;;) {
      if (this.rescan) {
        this.rescan = false;
        for (let p = 0; p < partitions; p++) yield* this.pending(p);
      }
      let found = 0;
      for (let p = 0; p < partitions; p++) {
        const page = await this.readGroup(p, '>');
        if (page.length === 0) continue;
        found += page.length;
        const held = this.held.get(p)!;
        for (const entry of page) held.add(entry.id);
        yield page;
      }
      if (found === 0 && !this.rescan) {
        if (drain) return;
        await sleep(this.options.pollMs);
      }
    }
  }

  /**
   * Where the rows done of a not yet acknowledged entry are kept (a bitmap), beside the entry's
   * stream: the same hash tag `{<prefix>:<p>}`, so that it moves with the XACK in one MULTI, in one
   * slot of a Redis Cluster.
   */
  private doneKey(p: number, id: string): string {
    const events = this.keys.events(p);
    return `${events.slice(0, events.lastIndexOf(':'))}:relay:${this.options.group}:done:${id}`;
  }

  /** The entry is done: acknowledged in the next group of XACKs (within ~20 ms). */
  ack(p: number, id: string): void {
    this.queue(this.acks, p, id);
  }

  /** One event of an entry is done (not the last): recorded in the next group, so that a re-read skips it. */
  markDone(p: number, id: string, index: number): void {
    this.queue(this.marks, p, [id, index]);
  }

  private queue<T>(lists: Map<number, T[]>, p: number, item: T): void {
    if (this.ackFailure !== undefined) throw this.ackFailure;
    const list = lists.get(p);
    if (list === undefined) lists.set(p, [item]);
    else list.push(item);
    this.ackTimer ??= setTimeout(() => {
      this.ackTimer = undefined;
      void this.flush();
    }, 20);
  }

  /**
   * Sends what is queued, one MULTI per partition (its own slot on a Redis Cluster): the events
   * done (SETBIT), the entries done (XACK, and their bitmaps deleted). A kill between two groups
   * loses at most the last ~20 ms: those events are sent again, with their keys.
   */
  flush(): Promise<void> {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    const partitions = new Set([...this.acks.keys(), ...this.marks.keys()]);
    if (partitions.size === 0) return this.acking;
    const groups = [...partitions].map((p) => ({ p, ids: this.acks.get(p) ?? [], marks: this.marks.get(p) ?? [] }));
    this.acks.clear();
    this.marks.clear();
    this.acking = this.acking.then(() =>
      Promise.all(
        groups.map(async ({ p, ids, marks }) => {
          const acked = new Set(ids);
          const multi = this.redis.multi();
          for (const [id, index] of marks) if (!acked.has(id)) multi.setbit(this.doneKey(p, id), index, 1);
          if (ids.length > 0) multi.xack(this.keys.events(p), this.options.group, ...ids).del(...ids.map((id) => this.doneKey(p, id)));
          try {
            await this.answer(async () => {
              for (const [error] of (await multi.exec()) ?? []) if (error) throw error;
            });
          } catch (error) {
            if (this.refusal !== undefined || isPermanent(error)) throw error;
            // Cut off by a dropped connection (ioredis aborts a transaction answered in part, and sends one with no reply again): all of it again later (each step is idempotent).
            for (const id of ids) this.queue(this.acks, p, id);
            for (const mark of marks) this.queue(this.marks, p, mark);
            return;
          }
          this.acknowledged += ids.length;
          const held = this.held.get(p)!;
          for (const id of ids) held.delete(id);
        }),
      ).then(
        () => undefined,
        (error: unknown) => {
          this.ackFailure ??= error;
        },
      ),
    );
    return this.acking;
  }

  /** Acknowledges what is done, then lets go of the connection; throws a failed acknowledgement. */
  async close(): Promise<void> {
    // A group cut off by a dropped connection is queued again: flushed again (a few times at most).
    for (let attempt = 0; attempt < 5 && (attempt === 0 || this.acks.size > 0 || this.marks.size > 0); attempt++) await this.flush();
    await this.lock?.release();
    this.down = true;
    this.redis.disconnect();
    if (this.ackFailure !== undefined) throw this.ackFailure;
  }

  /** Lets go of the connection without acknowledging anything more (after a failure). */
  disconnect(): void {
    clearTimeout(this.ackTimer);
    this.lock?.stopRenewing();
    this.down = true;
    this.redis.disconnect();
  }

  private lock: GroupLock | undefined;

  /** Set when the group's lock was found taken by another relay while this one ran. */
  get lostLock(): string | undefined {
    return this.lock?.lost;
  }

  /**
   * Takes the group's lock (groupLock.ts), waiting while another live relay holds it; `waiting`
   * is told the holder once. `lost` is called if it is found taken later (the relay must stop).
   */
  lockGroup(stopped: () => boolean, waiting: (holder: string) => void, lost: () => void): Promise<boolean> {
    const key = `${this.options.prefix}:relay-lock:${this.options.group}`;
    this.lock = new GroupLock(this.redis, key, this.options.group, (work) => this.answer(work));
    return this.lock.acquire(stopped, waiting, lost);
  }

  /** Waits until something is published (the partition count and the first input are there), polling. */
  async published(stopped: () => boolean, drain: boolean): Promise<{ partitions: number; firstInput: string } | undefined> {
    for (;;) {
      const partitions = await this.partitions();
      const firstInput = partitions === undefined ? undefined : await this.firstInputHash();
      if (partitions !== undefined && firstInput !== undefined) return { partitions, firstInput };
      if (drain || stopped()) return undefined;
      await sleep(this.options.pollMs);
    }
  }
}
