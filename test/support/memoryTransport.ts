/**
 * An in-memory `Transport` (src/cluster/transport.ts) with the semantics of the Redis one
 * (src/cluster/redisTransport.ts + redisScripts.ts), for unit tests of the cluster mode without a
 * redis-server:
 *
 * - one stream per partition, entry ids `<input>-<line>` given by the publisher; an id not above
 *   the stream's top is counted as `existing` (XADD's "equal or smaller than the target stream top
 *   item"), never added;
 * - one consumer group per partition (created by `partitions(wanted)`, as XGROUP CREATE MKSTREAM):
 *   a last-delivered id and a pending-entries list (PEL) naming the consumer each entry was
 *   delivered to. `read` (XREADGROUP ... >) delivers the entries after the last-delivered id in
 *   id order and records them pending for the reader; `claimPending` (XAUTOCLAIM min-idle 0, all
 *   pages) moves every pending entry of the partition, whoever holds it, to the claimer and
 *   returns them in id order; `ack` (XACK) removes them from the PEL;
 * - leases with a TTL (SET NX PX / the LEASE and RELEASE scripts) and heartbeats (a sorted set:
 *   live = heartbeat within the caller's ttl), both on an injectable clock;
 * - `commit` exactly as the COMMIT script: lease check (a free lease is taken back), 'done' when
 *   progress already equals lastId (acknowledge only), 'cursor' when progress is not prevId,
 *   else append the events, set the account hashes, append the dead letters, acknowledge, set
 *   progress — all at once.
 *
 * Every call yields to the event loop once (setImmediate) before it runs, as a round trip to a
 * server would, so consumers in one process interleave and timers run; the work itself is then
 * done synchronously, so each call is atomic as a Redis command or script is.
 *
 * Several connections share one store: `new MemoryTransport()` makes a store, `connect()` another
 * connection to it. Faults are per connection: `failNext` makes the next N calls of a method
 * throw (before the work: the request never reached the server; or with `after`, once the work
 * is done: the reply was lost), and `crash`/`crashOn` make a connection stop answering for good
 * (every later call never settles), which is what a consumer killed with SIGKILL looks like to
 * the rest of the cluster.
 */
import { compareIds } from '../../src/cluster/keys.js';
import type { Commit, CommitResult, LogEntry, PublishCounts, PublishedRow, Transport } from '../../src/cluster/transport.js';

export type TransportMethod = keyof Transport;

/** A clock the test moves: leases and heartbeats only expire when it is advanced. */
export class ManualClock {
  constructor(private t = 1_000_000) {}

  readonly now = (): number => this.t;

  advance(ms: number): void {
    this.t += ms;
  }
}

interface StoredEntry {
  id: string;
  line?: string;
  row?: Buffer;
  duplicate?: string;
}

interface Group {
  lastDelivered: string;
  /** id → consumer it was delivered to (last). */
  pending: Map<string, { owner: string; deliveries: number }>;
}

interface PartitionStream {
  entries: StoredEntry[];
  group?: Group;
}

/** What a Redis server holds for one cluster prefix. */
export class MemoryStore {
  partitionCount: number | undefined;
  readonly inputs = new Map<string, number>();
  inputSeq = 0;
  readonly owned = new Map<number, Buffer>();
  readonly streams = new Map<number, PartitionStream>();
  readonly leases = new Map<number, { owner: string; expires: number }>();
  /** owner → last heartbeat (ms). */
  readonly consumers = new Map<string, number>();
  readonly progress = new Map<number, string>();
  readonly accountHashes = new Map<number, Map<number, string>>();
  readonly events: { id: string; e: string }[] = [];
  readonly dead: { id: string; partition: number; error: string }[] = [];
  private autoSeq = 0;

  constructor(
    readonly now: () => number,
    /** The TTL a commit takes a free lease back for (RedisTransportOptions.leaseMs). */
    readonly commitLeaseMs: number,
  ) {}

  stream(p: number): PartitionStream {
    let stream = this.streams.get(p);
    if (stream === undefined) this.streams.set(p, (stream = { entries: [] }));
    return stream;
  }

  group(p: number): Group {
    const group = this.streams.get(p)?.group;
    if (group === undefined) throw new Error(`NOGROUP No such key 'tx:${p}' or consumer group 'payrun'`);
    return group;
  }

  top(p: number): string {
    const entries = this.streams.get(p)?.entries ?? [];
    return entries[entries.length - 1]?.id ?? '';
  }

  /** XADD with an explicit id: false if the id is not above the stream's top. */
  append(p: number, entry: StoredEntry): boolean {
    if (compareIds(entry.id, this.top(p)) <= 0 || entry.id === '0-0') return false;
    this.stream(p).entries.push(entry);
    return true;
  }

  /** The holder of p's lease, if it has not expired. */
  leaseHolder(p: number): string | undefined {
    const lease = this.leases.get(p);
    if (lease === undefined) return undefined;
    if (lease.expires <= this.now()) {
      this.leases.delete(p);
      return undefined;
    }
    return lease.owner;
  }

  autoId(): string {
    return `${this.now()}-${this.autoSeq++}`;
  }

  ackAll(p: number, ids: string[]): void {
    const group = this.streams.get(p)?.group;
    if (group === undefined) return;
    for (const id of ids) group.pending.delete(id);
  }
}

function entryOf(stored: StoredEntry): LogEntry {
  const entry: LogEntry = { id: stored.id };
  if (stored.line !== undefined) entry.line = stored.line;
  if (stored.row !== undefined) entry.row = Buffer.from(stored.row);
  if (stored.duplicate !== undefined) entry.duplicate = stored.duplicate;
  return entry;
}

interface Fault {
  left: number;
  after: boolean;
  message: string;
}

interface CrashRule {
  method: TransportMethod;
  skip: number;
  after: boolean;
  when?: (result: unknown) => boolean;
}

const never = <T>(): Promise<T> => new Promise<T>(() => {});
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface MemoryTransportOptions {
  /** Default Date.now. */
  now?: () => number;
  /** The lease TTL a commit that finds its lease free takes it back for (default 10 s, as RedisTransport). */
  leaseMs?: number;
}

export class MemoryTransport implements Transport {
  readonly store: MemoryStore;
  /** Calls made per method (counted when made, whatever became of them). */
  readonly calls = new Map<TransportMethod, number>();
  /** Calls that threw an injected fault. */
  failures = 0;
  private readonly faults = new Map<TransportMethod, Fault[]>();
  private crashRule: CrashRule | undefined;
  private dead = false;
  private closed = false;

  constructor(options: MemoryTransportOptions | MemoryStore = {}) {
    this.store = options instanceof MemoryStore ? options : new MemoryStore(options.now ?? Date.now, options.leaseMs ?? 10_000);
  }

  /** Another connection to the same store, with faults of its own. */
  connect(): MemoryTransport {
    return new MemoryTransport(this.store);
  }

  // --- fault injection -------------------------------------------------------------------

  /**
   * The next `times` calls of method throw (Infinity: until heal()). By default before doing
   * anything (Redis unreachable); with `after`, once the call's work is done (the reply lost).
   */
  failNext(method: TransportMethod, times = 1, options: { after?: boolean; message?: string } = {}): this {
    const list = this.faults.get(method) ?? [];
    list.push({ left: times, after: options.after ?? false, message: options.message ?? `memory transport: ${method} failed (injected: connection lost)` });
    this.faults.set(method, list);
    return this;
  }

  /** Clears every fault still to come. */
  heal(): void {
    this.faults.clear();
  }

  /** From now on no call of this connection ever settles (the process using it is gone). */
  crash(): void {
    this.dead = true;
  }

  /**
   * Crashes at a call of method: after `skip` calls that match `when` (default: every call),
   * the next matching one never settles, nor does any later call. With `after`, that call's
   * work is done first (e.g. a read delivers its entries, which stay pending for this consumer).
   * With `when`, only calls whose result it accepts count (the work is then always done first).
   */
  crashOn(method: TransportMethod, options: { skip?: number; after?: boolean; when?: (result: unknown) => boolean } = {}): this {
    this.crashRule = { method, skip: options.skip ?? 0, after: options.after ?? false, ...(options.when ? { when: options.when } : {}) };
    return this;
  }

  get crashed(): boolean {
    return this.dead;
  }

  private takeFault(method: TransportMethod): Fault | undefined {
    const list = this.faults.get(method);
    const fault = list?.find((f) => f.left > 0);
    if (fault !== undefined) fault.left--;
    return fault;
  }

  /** One round trip: yield, then fault or crash, else the work (synchronously, so atomically). */
  private async call<T>(method: TransportMethod, work: () => T, before?: () => Promise<void>): Promise<T> {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
    if (this.dead) return never<T>();
    await tick();
    if (before) await before();
    if (this.dead) return never<T>();
    if (this.closed && method !== 'close') throw new Error('Connection is closed.');
    const rule = this.crashRule?.method === method ? this.crashRule : undefined;
    const crashesBefore = rule !== undefined && !rule.after && rule.when === undefined;
    if (crashesBefore && rule.skip-- <= 0) {
      this.dead = true;
      return never<T>();
    }
    const fault = this.takeFault(method);
    if (fault !== undefined && !fault.after) {
      this.failures++;
      throw new Error(fault.message);
    }
    const result = work();
    if (rule !== undefined && !crashesBefore && (rule.when?.(result) ?? true) && rule.skip-- <= 0) {
      this.dead = true;
      return never<T>();
    }
    if (fault !== undefined) {
      this.failures++;
      throw new Error(fault.message);
    }
    return result;
  }

  // --- test helpers (not part of Transport) -------------------------------------------------

  /** As if owner's heartbeat and leases had all passed their TTL (the others renewed in time). */
  expire(owner: string): void {
    this.store.consumers.delete(owner);
    for (const [p, lease] of this.store.leases) if (lease.owner === owner) this.store.leases.delete(p);
  }

  /** XADD of an entry with whatever fields (or none): to make entries a consumer cannot read. */
  appendRaw(p: number, entry: LogEntry): boolean {
    return this.store.append(p, { ...entry });
  }

  /** The payloads of `<prefix>:events`, in order. */
  events(): string[] {
    return this.store.events.map((event) => event.e);
  }

  deadLetters(): { id: string; partition: number; error: string }[] {
    return [...this.store.dead];
  }

  /** p's pending entries: id → consumer. */
  pendingOf(p: number): Map<string, string> {
    const group = this.store.streams.get(p)?.group;
    return new Map([...(group?.pending ?? [])].sort(([a], [b]) => compareIds(a, b)).map(([id, { owner }]) => [id, owner]));
  }

  // --- Transport ---------------------------------------------------------------------------

  partitions(wanted?: number): Promise<number | undefined> {
    return this.call('partitions', () => {
      const store = this.store;
      if (wanted !== undefined && store.partitionCount === undefined) store.partitionCount = wanted;
      const partitions = store.partitionCount;
      if (wanted !== undefined && partitions !== undefined) {
        for (let p = 0; p < partitions; p++) {
          const stream = store.stream(p);
          stream.group ??= { lastDelivered: '0-0', pending: new Map() };
        }
      }
      return partitions;
    });
  }

  inputNumber(sha256: string): Promise<number> {
    return this.call('inputNumber', () => {
      const known = this.store.inputs.get(sha256);
      if (known !== undefined) return known;
      const next = ++this.store.inputSeq;
      this.store.inputs.set(sha256, next);
      return next;
    });
  }

  ownedIds(n: number): Promise<Buffer | undefined> {
    return this.call('ownedIds', () => {
      const ids = this.store.owned.get(n);
      return ids === undefined ? undefined : Buffer.from(ids);
    });
  }

  saveOwnedIds(n: number, ids: Buffer): Promise<void> {
    return this.call('saveOwnedIds', () => {
      this.store.owned.set(n, Buffer.from(ids));
    });
  }

  publish(rows: Map<number, PublishedRow[]>): Promise<PublishCounts> {
    return this.call('publish', () => {
      const counts = { added: 0, existing: 0 };
      for (const [p, list] of rows) {
        for (const row of list) {
          const entry: StoredEntry = { id: row.id, line: String(row.line), row: Buffer.from(row.row) };
          if (row.duplicate) entry.duplicate = '1';
          if (this.store.append(p, entry)) counts.added++;
          else counts.existing++;
        }
      }
      return counts;
    });
  }

  heartbeat(owner: string, ttlMs: number): Promise<string[]> {
    return this.call('heartbeat', () => {
      const { consumers } = this.store;
      const now = this.store.now();
      consumers.set(owner, now);
      for (const [name, at] of consumers) if (at <= now - ttlMs) consumers.delete(name);
      return [...consumers.keys()].sort();
    });
  }

  leave(owner: string): Promise<void> {
    return this.call('leave', () => {
      this.store.consumers.delete(owner);
    });
  }

  lease(p: number, owner: string, ttlMs: number): Promise<boolean> {
    return this.call('lease', () => {
      const holder = this.store.leaseHolder(p);
      if (holder !== undefined && holder !== owner) return false;
      this.store.leases.set(p, { owner, expires: this.store.now() + ttlMs });
      return true;
    });
  }

  release(p: number, owner: string): Promise<void> {
    return this.call('release', () => {
      if (this.store.leaseHolder(p) === owner) this.store.leases.delete(p);
    });
  }

  committed(p: number): Promise<string> {
    return this.call('committed', () => this.store.progress.get(p) ?? '');
  }

  claimPending(p: number, owner: string, _count: number): Promise<LogEntry[]> {
    return this.call('claimPending', () => {
      const stream = this.store.streams.get(p);
      const group = this.store.group(p);
      const byId = new Map((stream?.entries ?? []).map((entry) => [entry.id, entry]));
      const claimed: LogEntry[] = [];
      for (const id of [...group.pending.keys()].sort(compareIds)) {
        const stored = byId.get(id);
        if (stored === undefined) {
          group.pending.delete(id); // XAUTOCLAIM drops entries deleted from the stream
          continue;
        }
        const pending = group.pending.get(id)!;
        group.pending.set(id, { owner, deliveries: pending.deliveries + 1 });
        claimed.push(entryOf(stored));
      }
      return claimed;
    });
  }

  read(partitions: number[], owner: string, count: number, blockMs: number): Promise<Map<number, LogEntry[]>> {
    const anything = (): boolean =>
      partitions.some((p) => {
        const group = this.store.streams.get(p)?.group;
        return group !== undefined && compareIds(this.store.top(p), group.lastDelivered) > 0;
      });
    // BLOCK: wait a moment (not blockMs) when there is nothing to deliver yet.
    const wait = async (): Promise<void> => {
      if (blockMs > 0 && partitions.length > 0 && !anything()) await new Promise((resolve) => setTimeout(resolve, Math.min(blockMs, 3)));
    };
    return this.call(
      'read',
      () => {
        const found = new Map<number, LogEntry[]>();
        for (const p of partitions) {
          const group = this.store.group(p);
          const entries = this.store.streams.get(p)!.entries;
          const delivered: LogEntry[] = [];
          for (const stored of entries) {
            if (delivered.length >= count) break;
            if (compareIds(stored.id, group.lastDelivered) <= 0) continue;
            delivered.push(entryOf(stored));
            group.lastDelivered = stored.id;
            group.pending.set(stored.id, { owner, deliveries: 1 });
          }
          if (delivered.length > 0) found.set(p, delivered);
        }
        return found;
      },
      wait,
    );
  }

  ack(p: number, ids: string[]): Promise<void> {
    return this.call('ack', () => {
      this.store.group(p);
      this.store.ackAll(p, ids);
    });
  }

  commit(commit: Commit): Promise<CommitResult> {
    return this.call('commit', (): CommitResult => {
      const store = this.store;
      const p = commit.partition;
      const holder = store.leaseHolder(p);
      if (holder === undefined) store.leases.set(p, { owner: commit.owner, expires: store.now() + store.commitLeaseMs });
      else if (holder !== commit.owner) return { kind: 'lease' };
      const at = store.progress.get(p) ?? '';
      if (at === commit.lastId) {
        store.ackAll(p, commit.ack);
        return { kind: 'done' };
      }
      if (at !== commit.prevId) return { kind: 'cursor', at };
      for (const e of commit.events) store.events.push({ id: store.autoId(), e });
      let hash = store.accountHashes.get(p);
      if (hash === undefined) store.accountHashes.set(p, (hash = new Map()));
      for (const [client, value] of commit.accounts) hash.set(client, value);
      for (const dead of commit.dead) store.dead.push({ id: dead.id, partition: p, error: dead.error });
      store.ackAll(p, commit.ack);
      store.progress.set(p, commit.lastId);
      return { kind: 'ok' };
    });
  }

  backlog(partitions: number[]): Promise<Map<number, { lag: number; pending: number }>> {
    return this.call('backlog', () => {
      const result = new Map<number, { lag: number; pending: number }>();
      for (const p of partitions) {
        const stream = this.store.streams.get(p);
        const group = stream?.group;
        if (stream === undefined || group === undefined) continue;
        const lag = stream.entries.filter((entry) => compareIds(entry.id, group.lastDelivered) > 0).length;
        result.set(p, { lag, pending: group.pending.size });
      }
      return result;
    });
  }

  lastId(p: number): Promise<string> {
    return this.call('lastId', () => this.store.top(p));
  }

  accounts(p: number): Promise<Map<number, string>> {
    return this.call('accounts', () => new Map(this.store.accountHashes.get(p) ?? []));
  }

  close(): Promise<void> {
    return this.call('close', () => {
      this.closed = true;
    });
  }
}
