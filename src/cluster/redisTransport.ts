import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Chunk, encodeChunk } from './chunkEntry.js';
import { ClusterKeys } from './keys.js';
import type { StoredPartition } from './partitionState.js';
import { redisClient } from './redisClient.js';
import { COMMIT, LEASE, PUBLISH, RELEASE, SNAPSHOT } from './redisScripts.js';
import { isPermanent, type RedisRefused, refusalOf } from './redisReply.js';
import type { RedisTarget } from './redisTarget.js';
import type { Commit, CommitResult, LogEntry, PublishCounts, Transport } from './transport.js';

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

/** A raw stream entry's fields, by name (a stray entry may lack any). */
function entryOf(raw: Raw[]): LogEntry {
  const id = String(raw[0]);
  const fields = (raw[1] ?? []) as Buffer[];
  const entry: LogEntry = { id };
  for (let f = 0; f + 1 < fields.length; f += 2) {
    const name = fields[f]!.toString();
    const value = fields[f + 1]!;
    if (name === 'r') entry.rows = value;
    else if (name === 'l') entry.lines = value;
    else if (name === 'n') entry.input = value.toString();
    else if (name === 'd') entry.duplicates = value;
  }
  return entry;
}

/** The transport on Redis Streams (Redis 7 or Valkey): docs/cluster-design.md has the key layout. */
export class RedisTransport implements Transport {
  readonly keys: ClusterKeys;
  private readonly redis: Redis;
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

  /** Commands in flight when the connection drops are sent again: every command payrun sends may be (the scripts check where they are). */
  private connect(): Redis {
    const retry = (times: number): number | null => (this.options.patient || times < 3 ? Math.min(50 * 2 ** times, 2000) : null);
    const redis = redisClient(this.target, retry, this.options.patient ? null : 1);
    redis.defineCommand('payrunLease', { numberOfKeys: 1, lua: LEASE });
    redis.defineCommand('payrunRelease', { numberOfKeys: 1, lua: RELEASE });
    redis.defineCommand('payrunCommit', { numberOfKeys: 8, lua: COMMIT });
    redis.defineCommand('payrunPublish', { numberOfKeys: 2, lua: PUBLISH });
    redis.defineCommand('payrunSnapshot', { numberOfKeys: 6, lua: SNAPSHOT });
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
    this.redis.disconnect();
  }

  /**
   * A pipeline's replies. ioredis resends single commands cut off by a dropped connection, and a
   * pipeline none of whose replies had arrived, but aborts one answered in part; a patient
   * transport sends that again once Redis is back (until given up). Only idempotent work comes here: publish's chunks (the PUBLISH script checks the published line), group creation.
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

  partitions(wanted?: number): Promise<number | undefined> {
    return this.answer(async () => {
      const { keys, redis } = this;
      if (wanted !== undefined) await redis.hsetnx(keys.meta, 'partitions', wanted);
      const stored = await redis.hget(keys.meta, 'partitions');
      if (stored === null) return undefined;
      const partitions = Number(stored);
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

  publishedLines(n: number, partitions: number): Promise<number[]> {
    return this.answer(() => Promise.all(Array.from({ length: partitions }, async (_, p) => Number((await this.redis.hget(this.keys.published(p), String(n))) ?? 0))));
  }

  /**
   * Each partition's chunks in one pipeline of PUBLISH scripts (redisScripts.ts): each chunk's
   * entry and its published line move together, and a chunk at or before the published line is
   * not added again. So a publish killed at any moment has published whole chunks up to a line
   * and goes on after it, and a pipeline sent twice (by ioredis after a dropped connection, or by
   * us after an aborted one) adds each row once.
   */
  publish(chunks: Map<number, Chunk[]>): Promise<PublishCounts> {
    return this.answer(async () => {
      const send = async (p: number, list: Chunk[]): Promise<void> => {
        const pipeline = this.redis.pipeline() as unknown as Scripts & { exec(): Promise<[Error | null, unknown][] | null> };
        for (const chunk of list) {
          pipeline.payrunPublish(this.keys.partition(p), this.keys.published(p), chunk.input, chunk.lines[0]!, chunk.lines[chunk.lines.length - 1]!, ...encodeChunk(chunk));
        }
        for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
      };
      await Promise.all(
        [...chunks].map(([p, list]) => this.resent(() => send(p, list))),
      );
      let added = 0;
      for (const list of chunks.values()) for (const chunk of list) added += chunk.lines.length;
      return { added };
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
      return (await this.redis.hget(this.keys.progress(p), 'at')) ?? '';
    });
  }

  loadPartition(p: number): Promise<StoredPartition> {
    return this.answer(async () => {
      const { keys, redis } = this;
      const replies = (await redis.multi().hget(keys.progress(p), 'at').getBuffer(keys.snapshot(p)).hgetall(keys.snapshotMeta(p)).hgetall(keys.accounts(p)).exec()) ?? [];
      const [position, snapshot, meta, accounts] = replies.map(([error, value]) => {
        if (error) throw error;
        return value;
      }) as [string | null, Buffer | null, Record<string, string>, Record<string, string>];
      // The changelog after the snapshot's last change (exclusive), page by page.
      const changes: [string, Buffer][] = [];
      let from = meta.changes ? `(${meta.changes}` : '-';
      for (;;) {
        const page = (await redis.callBuffer('XRANGE', keys.changes(p), from, '+', 'COUNT', 1000)) as Raw[][];
        for (const raw of page) changes.push([String(raw[0]), ((raw[1] as Buffer[])[1] ?? Buffer.alloc(0)) as Buffer]);
        if (page.length < 1000) break;
        from = `(${String(page[page.length - 1]![0])}`;
      }
      return {
        position: position ?? '',
        accounts: new Map(Object.entries(accounts).map(([client, value]) => [Number(client), value])),
        snapshot: snapshot ?? undefined,
        changes,
      };
    });
  }

  saveSnapshot(p: number, owner: string, position: string, changesId: string, snapshot: Buffer): Promise<boolean> {
    return this.answer(async () => {
      const { keys, redis } = this;
      await redis.set(keys.snapshotNext(p), snapshot);
      const done = await (redis as unknown as Scripts).payrunSnapshot(
        keys.lease(p),
        keys.progress(p),
        keys.snapshotNext(p),
        keys.snapshot(p),
        keys.snapshotMeta(p),
        keys.changes(p),
        owner,
        position,
        changesId,
      );
      return done === 1;
    });
  }

  takenOver(p: number, at: string): Promise<number> {
    return this.answer(async () => this.redis.hincrby(this.keys.takeovers(p), at === '' ? '-' : at, 1));
  }

  /**
   * Each partition's entries after its position (XRANGE, one command per partition: a Redis
   * Cluster refuses commands spanning slots). Reading from the committed position on, never
   * through a consumer group, means no entry can be handed to a consumer that then loses the
   * partition and be skipped by the next owner.
   */
  read(positions: Map<number, string>, count: number): Promise<Map<number, LogEntry[]>> {
    return this.answer(async () => {
      const found = new Map<number, LogEntry[]>();
      const list = [...positions];
      const replies = await Promise.all(list.map(([p, at]) => this.redis.callBuffer('XRANGE', this.keys.partition(p), at === '' ? '-' : `(${at}`, '+', 'COUNT', count) as Promise<Raw[][]>));
      replies.forEach((raws, i) => {
        if (raws.length > 0) found.set(list[i]![0], raws.map(entryOf));
      });
      return found;
    });
  }

  commit(commit: Commit): Promise<CommitResult> {
    return this.answer(async () => {
      const { keys } = this;
      const p = commit.partition;
      const args: (string | number | Buffer)[] = [commit.owner, this.options.leaseMs ?? 10_000, p, commit.prevId, commit.lastId, commit.entries];
      let accounts = '';
      for (const [client, value] of commit.accounts) accounts += `${client}\n${value}\n`;
      args.push(commit.events ?? '', commit.changes ?? '', accounts, commit.dead.length);
      for (const dead of commit.dead) args.push(dead.id, dead.error);
      const [kind, at] = (await (this.redis as unknown as Scripts).payrunCommit(
        keys.lease(p),
        keys.progress(p),
        keys.events(p),
        keys.accounts(p),
        keys.dead(p),
        keys.changes(p),
        keys.takeovers(p),
        keys.partition(p),
        ...args,
      )) as [string, string];
      if (kind === 'cursor') return { kind, at };
      if (kind === 'ok') return { kind, changesId: at };
      return { kind: kind as 'done' | 'lease' };
    });
  }

  /** Lag: the stream's entries ever added (XINFO STREAM) less those committed. */
  backlog(partitions: number[]): Promise<Map<number, { lag: number }>> {
    return this.answer(async () => {
      const result = new Map<number, { lag: number }>();
      await Promise.all(
        partitions.map(async (p) => {
          const [info, done] = await Promise.all([this.streamInfo(p), this.redis.hget(this.keys.progress(p), 'entries')]);
          result.set(p, { lag: Math.max(0, Number(info.get('entries-added') ?? 0) - Number(done ?? 0)) });
        }),
      );
      return result;
    });
  }

  /** XINFO STREAM's fields (none for a stream not created yet). */
  private async streamInfo(p: number): Promise<Map<string, unknown>> {
    const info = (await this.redis.xinfo('STREAM', this.keys.partition(p)).catch((error: unknown) => {
      if (/no such key/i.test(String(error))) return [];
      throw error;
    })) as unknown[];
    const fields = new Map<string, unknown>();
    for (let f = 0; f + 1 < info.length; f += 2) fields.set(String(info[f]), info[f + 1]);
    return fields;
  }

  /** Every events entry of p after `after` ('' for all), up to count: [id, bytes]. */
  events(p: number, after: string, count: number): Promise<[string, Buffer][]> {
    return this.answer(async () => {
      const page = (await this.redis.callBuffer('XRANGE', this.keys.events(p), after === '' ? '-' : `(${after}`, '+', 'COUNT', count)) as Raw[][];
      return page.map((raw) => [String(raw[0]), ((raw[1] as Buffer[])[1] ?? Buffer.alloc(0)) as Buffer]);
    });
  }

  lastId(p: number): Promise<string> {
    return this.answer(async () => {
      // XINFO STREAM's last id, not the newest entry's: committed entries are trimmed behind each snapshot.
      const last = String((await this.streamInfo(p)).get('last-generated-id') ?? '');
      return last === '0-0' ? '' : last;
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
    this.redis.disconnect();
  }
}

interface Scripts {
  payrunLease(key: string, owner: string, ttl: number): Promise<number>;
  payrunRelease(key: string, owner: string): Promise<number>;
  payrunCommit(...args: (string | number | Buffer)[]): Promise<unknown>;
  payrunSnapshot(...args: string[]): Promise<number>;
  payrunPublish(...args: (string | number | Buffer)[]): unknown;
}
