import { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterKeys, GROUP } from './keys.js';
import { COMMIT, LEASE, PUBLISH, RELEASE } from './redisScripts.js';
import { isPermanent, type RedisRefused, refusalOf, replyCode } from './redisReply.js';
import type { RedisTarget } from './redisTarget.js';
import type { Commit, CommitResult, LogEntry, PublishCounts, PublishedRow, Transport } from './transport.js';

export interface RedisTransportOptions {
  prefix: string;
  /** Wait (and retry with backoff) while Redis is unreachable, rather than fail the command. */
  patient: boolean;
  /** Redis went away (once per outage) or came back. */
  onConnection?: (state: 'down' | 'up', detail: string) => void;
  /** The lease time a commit takes a free lease back for. */
  leaseMs?: number;
  /** Patient, but not forever: after this long unreachable every command fails. */
  giveUpAfterMs?: number;
}

type Raw = Buffer | null | Raw[];

/** The key-value pairs of a raw stream entry's fields. */
function entryOf(raw: Raw[]): LogEntry {
  const id = String(raw[0]);
  const fields = (raw[1] ?? []) as Buffer[];
  const entry: LogEntry = { id };
  for (let f = 0; f + 1 < fields.length; f += 2) {
    const name = fields[f]!.toString();
    const value = fields[f + 1]!;
    if (name === 'r') entry.row = value;
    else if (name === 'l') entry.line = value.toString();
    else if (name === 'd') entry.duplicate = value.toString();
  }
  return entry;
}

/** The transport on Redis Streams (Redis 7 or Valkey): docs/cluster-design.md has the key layout. */
export class RedisTransport implements Transport {
  readonly keys: ClusterKeys;
  private readonly redis: Redis;
  private blocking: Redis | undefined;
  /** Fails the read in flight when the reader's connection drops (ioredis drops, never settles, an unresent command). */
  private readerLost: ((error: Error) => void) | undefined;
  private down = false;
  private giveUp: NodeJS.Timeout | undefined;
  /** Set once the wait for an unreachable Redis was given up. */
  gaveUp = false;
  private rejectGivenUp: ((error: Error) => void) | undefined;
  /** Rejects when the wait for an unreachable Redis is given up (giveUpAfterMs): race the work against it. */
  readonly givenUp: Promise<never> = new Promise<never>((_resolve, reject) => (this.rejectGivenUp = reject));
  /** The last connection error, while Redis is unreachable. */
  unreachable: string | undefined;
  /** Set once Redis gave an answer that waiting will not change (redisReply.ts): every command fails with it. */
  refusal: RedisRefused | undefined;

  constructor(
    readonly target: RedisTarget,
    private readonly options: RedisTransportOptions,
  ) {
    this.keys = new ClusterKeys(options.prefix);
    this.givenUp.catch(() => undefined); // only awaited by those who race it
    this.redis = this.connect();
  }

  /** `resend`: commands in flight when the connection drops are sent again (never for reads: a lost reply must surface). */
  private connect(resend = true): Redis {
    const { host, port, db, username, password, tls } = this.target;
    const redis = new Redis({
      host,
      port,
      db,
      username,
      password,
      tls: tls ? {} : undefined,
      autoResendUnfulfilledCommands: resend,
      maxRetriesPerRequest: this.options.patient ? null : 1,
      retryStrategy: (times) => (this.options.patient || times < 3 ? Math.min(50 * 2 ** times, 2000) : null),
      connectTimeout: 5000,
      lazyConnect: false,
    });
    redis.defineCommand('payrunLease', { numberOfKeys: 1, lua: LEASE });
    redis.defineCommand('payrunRelease', { numberOfKeys: 1, lua: RELEASE });
    redis.defineCommand('payrunCommit', { numberOfKeys: 6, lua: COMMIT });
    redis.defineCommand('payrunPublish', { numberOfKeys: 1, lua: PUBLISH });
    redis.on('error', (error: Error) => (isPermanent(error) ? this.refuse(error) : this.wentDown(error.message)));
    redis.on('close', () => this.wentDown('connection closed'));
    redis.on('ready', () => {
      this.unreachable = undefined;
      clearTimeout(this.giveUp);
      this.giveUp = undefined;
      if (!this.down) return;
      this.down = false;
      this.options.onConnection?.('up', this.target.display);
    });
    return redis;
  }

  /** Redis answered a permanent error (a wrong password at connect, say): stop reconnecting; every command in flight fails with it. */
  private refuse(error: unknown): void {
    this.refusal ??= refusalOf(error, this.target.display);
    this.blocking?.disconnect();
    this.redis.disconnect();
  }

  /**
   * A pipeline's replies. ioredis resends single commands cut off by a dropped connection, but
   * aborts a pipeline in flight; a patient transport sends it again once Redis is back (until
   * given up). Only idempotent pipelines come here: publish's rows (entry ids), group creation.
   */
  private async resent<T>(pipeline: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await pipeline();
      } catch (error) {
        if (!this.options.patient || this.gaveUp || this.refusal !== undefined || isPermanent(error)) throw error;
        await sleep(Math.min(50 * 2 ** attempt, 1000));
      }
    }
  }

  /** A command's reply; a permanent error reply (or any failure once Redis has refused) as a RedisRefused. */
  private async answer<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (this.refusal === undefined && isPermanent(error)) this.refuse(error);
      throw this.refusal ?? error;
    }
  }

  private wentDown(detail: string): void {
    if (this.refusal !== undefined) return; // our own disconnect after it
    if (detail !== 'connection closed') this.unreachable = detail;
    if (this.options.giveUpAfterMs !== undefined && this.giveUp === undefined && !this.gaveUp) {
      this.giveUp = setTimeout(() => {
        this.gaveUp = true;
        this.rejectGivenUp?.(new Error(`gave up waiting for redis: ${this.unreachable ?? 'connection lost'}`));
      }, this.options.giveUpAfterMs);
      this.giveUp.unref();
    }
    if (this.down) return;
    this.down = true;
    this.options.onConnection?.('down', detail);
  }

  private get reader(): Redis {
    if (this.blocking === undefined) {
      this.blocking = this.connect(false);
      this.blocking.on('close', () => this.readerLost?.(new Error('the connection to Redis dropped during a read')));
    }
    return this.blocking;
  }

  partitions(wanted?: number): Promise<number | undefined> {
    return this.answer(async () => {
      const { keys, redis } = this;
      if (wanted !== undefined) await redis.hsetnx(keys.meta, 'partitions', wanted);
      const stored = await redis.hget(keys.meta, 'partitions');
      if (stored === null) return undefined;
      const partitions = Number(stored);
      if (wanted !== undefined) {
        await this.resent(async () => {
          const pipeline = redis.pipeline();
          for (let p = 0; p < partitions; p++) pipeline.xgroup('CREATE', keys.partition(p), GROUP, '0', 'MKSTREAM');
          for (const [error] of (await pipeline.exec()) ?? []) {
            if (error && replyCode(error) !== 'BUSYGROUP') throw error;
          }
        });
      }
      return partitions;
    });
  }

  inputNumber(sha256: string): Promise<number> {
    return this.answer(async () => {
      const { keys, redis } = this;
      const known = await redis.hget(keys.inputs, sha256);
      if (known !== null) return Number(known);
      const next = await redis.incr(keys.inputSeq);
      await redis.hsetnx(keys.inputs, sha256, next);
      return Number(await redis.hget(keys.inputs, sha256));
    });
  }

  ownedIds(n: number): Promise<Buffer | undefined> {
    return this.answer(async () => {
      return (await this.redis.getBuffer(this.keys.owned(n))) ?? undefined;
    });
  }

  saveOwnedIds(n: number, ids: Buffer): Promise<void> {
    return this.answer(async () => {
      await this.redis.set(this.keys.owned(n), ids);
    });
  }

  publish(rows: Map<number, PublishedRow[]>): Promise<PublishCounts> {
    return this.answer(async () => {
          const counts = { added: 0, existing: 0 };
      const send = async (): Promise<unknown[]> => {
        const batch = this.redis.pipeline() as unknown as Scripts & { exec(): Promise<[Error | null, unknown][] | null> };
        for (const [p, list] of rows) {
          const args: (string | number | Buffer)[] = [];
          for (const row of list) args.push(row.id, row.line, row.row, row.duplicate ? '1' : '0');
          batch.payrunPublish(this.keys.partition(p), ...args);
        }
        return ((await batch.exec()) ?? []).map(([error, reply]) => {
          if (error) throw error;
          return reply;
        });
      };
      for (const reply of await this.resent(send)) {
        const [added, existing] = reply as [number, number];
        counts.added += added;
        counts.existing += existing;
      }
      return counts;
    });
  }

  heartbeat(owner: string, ttlMs: number): Promise<string[]> {
    return this.answer(async () => {
      const { keys, redis } = this;
      const now = Date.now();
      const [, , live] = ((await redis.multi().zadd(keys.consumers, now, owner).zremrangebyscore(keys.consumers, '-inf', now - ttlMs).zrange(keys.consumers, 0, -1).exec()) ?? []).map(
        ([error, value]) => {
          if (error) throw error;
          return value;
        },
      );
      return (live as string[]).sort();
    });
  }

  leave(owner: string): Promise<void> {
    return this.answer(async () => {
      await this.redis.zrem(this.keys.consumers, owner);
    });
  }

  lease(p: number, owner: string, ttlMs: number): Promise<boolean> {
    return this.answer(async () => {
      const got = await (this.redis as unknown as Scripts).payrunLease(this.keys.lease(p), owner, ttlMs);
      return got === 1;
    });
  }

  release(p: number, owner: string): Promise<void> {
    return this.answer(async () => {
      await (this.redis as unknown as Scripts).payrunRelease(this.keys.lease(p), owner);
    });
  }

  committed(p: number): Promise<string> {
    return this.answer(async () => {
      return (await this.redis.hget(this.keys.progress, String(p))) ?? '';
    });
  }

  claimPending(p: number, owner: string, count: number): Promise<LogEntry[]> {
    return this.answer(async () => {
      const entries: LogEntry[] = [];
      let start = '0-0';
      do {
        const reply = (await this.redis.callBuffer('XAUTOCLAIM', this.keys.partition(p), GROUP, owner, 0, start, 'COUNT', count)) as Raw[];
        start = String(reply[0]);
        for (const raw of reply[1] as Raw[][]) entries.push(entryOf(raw));
      } while (start !== '0-0');
      if (entries.length > 0) {
        // How often each was handed out: an entry every consumer dies on is a dead letter, not a crash loop.
        const pending = (await this.redis.xpending(this.keys.partition(p), GROUP, '-', '+', entries.length, owner)) as [string, string, number, number][];
        const deliveries = new Map(pending.map(([id, , , times]) => [id, Number(times)]));
        for (const entry of entries) entry.deliveries = deliveries.get(entry.id);
      }
      return entries;
    });
  }

  read(partitions: number[], owner: string, count: number, blockMs: number): Promise<Map<number, LogEntry[]>> {
    return this.answer(async () => {
      const found = new Map<number, LogEntry[]>();
      if (partitions.length === 0) return found;
      const streams = partitions.map((p) => this.keys.partition(p));
      const lost = new Promise<never>((_resolve, reject) => (this.readerLost = reject));
      const reading = this.reader.callBuffer(
        'XREADGROUP',
        'GROUP',
        GROUP,
        owner,
        'COUNT',
        count,
        'BLOCK',
        blockMs,
        'STREAMS',
        ...streams,
        ...partitions.map(() => '>'),
      ) as Promise<Raw[][] | null>;
      reading.catch(() => undefined); // if it ever settles after we gave up on it
      let reply: Raw[][] | null;
      try {
        reply = await Promise.race([reading, lost]);
      } finally {
        this.readerLost = undefined;
      }
      for (const [key, raws] of reply ?? []) {
        const p = partitions[streams.indexOf(String(key))]!;
        found.set(p, (raws as Raw[][]).map(entryOf));
      }
      return found;
    });
  }

  ack(p: number, ids: string[]): Promise<void> {
    return this.answer(async () => {
      if (ids.length > 0) await this.redis.xack(this.keys.partition(p), GROUP, ...ids);
    });
  }

  commit(commit: Commit): Promise<CommitResult> {
    return this.answer(async () => {
      const { keys } = this;
      const p = commit.partition;
      const args: (string | number)[] = [commit.owner, this.options.leaseMs ?? 10_000, p, commit.prevId, commit.lastId, GROUP];
      args.push(commit.events.length, commit.accounts.size, commit.dead.length, commit.ack.length);
      args.push(...commit.events);
      for (const [client, value] of commit.accounts) args.push(client, value);
      for (const dead of commit.dead) args.push(dead.id, dead.error);
      args.push(...commit.ack);
      const [kind, at] = (await (this.redis as unknown as Scripts).payrunCommit(
        keys.lease(p),
        keys.progress,
        keys.events,
        keys.accounts(p),
        keys.partition(p),
        keys.dead,
        ...args,
      )) as [string, string];
      if (kind === 'cursor') return { kind, at };
      return { kind: kind as 'ok' | 'done' | 'lease' };
    });
  }

  backlog(partitions: number[]): Promise<Map<number, { lag: number; pending: number }>> {
    return this.answer(async () => {
      const pipeline = this.redis.pipeline();
      for (const p of partitions) pipeline.xinfo('GROUPS', this.keys.partition(p));
      const result = new Map<number, { lag: number; pending: number }>();
      const replies = (await pipeline.exec()) ?? [];
      partitions.forEach((p, i) => {
        const [error, groups] = replies[i]!;
        if (error) return;
        for (const group of groups as unknown[][]) {
          const info = new Map<string, unknown>();
          for (let f = 0; f + 1 < group.length; f += 2) info.set(String(group[f]), group[f + 1]);
          if (info.get('name') === GROUP) result.set(p, { lag: Number(info.get('lag') ?? 0), pending: Number(info.get('pending') ?? 0) });
        }
    });
    return result;
    });
  }

  lastId(p: number): Promise<string> {
    return this.answer(async () => {
      const last = await this.redis.xrevrange(this.keys.partition(p), '+', '-', 'COUNT', 1);
      return last[0]?.[0] ?? '';
    });
  }

  accounts(p: number): Promise<Map<number, string>> {
    return this.answer(async () => {
      const all = await this.redis.hgetall(this.keys.accounts(p));
      return new Map(Object.entries(all).map(([client, value]) => [Number(client), value]));
    });
  }

  async close(): Promise<void> {
    clearTimeout(this.giveUp);
    this.gaveUp = true;
    this.down = true; // no "unreachable" line for our own disconnect
    this.blocking?.disconnect();
    this.redis.disconnect();
  }
}

interface Scripts {
  payrunLease(key: string, owner: string, ttl: number): Promise<number>;
  payrunRelease(key: string, owner: string): Promise<number>;
  payrunCommit(...args: (string | number)[]): Promise<unknown>;
  payrunPublish(key: string, ...args: (string | number | Buffer)[]): Promise<unknown>;
}
