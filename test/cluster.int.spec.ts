// Cluster mode on Redis Streams through the real built binary, each test on its own real
// redis-server (test/support/redisServer.ts): `payrun publish` puts a file's rows on partition
// streams in chunks (idempotently), `payrun consume` workers (each with a private directory, or
// none: the partitions' state is in Redis) split the partitions by leases, `payrun accounts
// --wait` merges the cluster's accounts. Whatever happens meanwhile (a consumer killed with
// SIGKILL and replaced by one with an empty disk, Redis restarted, a publisher killed halfway and
// run again with another chunk size), the accounts equal the batch run `payrun FILE` byte for
// byte and every data row has exactly one event (`payrun events`).
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, useBuiltBinary } from './support/builtBinary.js';
import { type PayrunExit, spawnPayrun } from './support/crashLoop.js';
import { freePort, REDIS_MISSING_MESSAGE, type RedisServer, redisAvailable, startRedis } from './support/redisServer.js';

const available = redisAvailable();
if (!available) console.warn(REDIS_MISSING_MESSAGE);

const TEST_TIMEOUT_MS = 180_000;
const LEASE_MS = 1500;
const SMALL_ROWS = 2_000;
const BIG_ROWS = 100_000;
const MID_ROWS = 20_000;
const HUGE_ROWS = 400_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Consumers and servers still running when the test process exits are killed (a failed test leaves none). */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // gone
    }
  }
});

async function payrun(args: string[], timeoutMs = 150_000): Promise<PayrunExit> {
  return spawnPayrun(args, { timeoutMs });
}

async function payrunOk(args: string[], timeoutMs = 150_000): Promise<PayrunExit> {
  const exit = await payrun(args, timeoutMs);
  if (exit.code !== 0) throw new Error(`payrun ${args.join(' ')} exited ${exit.code ?? exit.signal}:\n${exit.stderr}`);
  return exit;
}

/** One `payrun consume` worker as a child process; its stdout and stderr go to files (never a full pipe). */
class Consumer {
  child!: ChildProcess;
  exited!: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly logFile: string;
  private starts = 0;

  constructor(
    readonly owner: string,
    private readonly args: string[],
    private readonly dir: string,
  ) {
    this.logFile = join(dir, `consumer-${owner}.log`);
    this.start();
  }

  start(): void {
    this.starts++;
    const out = openSync(join(this.dir, `consumer-${this.owner}.${this.starts}.stdout`), 'a');
    const err = openSync(this.logFile, 'a');
    const child = spawn(process.execPath, [BIN, 'consume', ...this.args, '--owner', this.owner], { cwd: ROOT, stdio: ['ignore', out, err] });
    closeSync(out);
    closeSync(err);
    children.add(child);
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        children.delete(child);
        resolve({ code, signal });
      }),
    );
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** The JSON log lines (`{ time, owner, event, ... }`), all runs of this owner. */
  events(): Array<Record<string, unknown> & { event: string }> {
    return this.log()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown> & { event: string });
  }

  async kill9(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM: it finishes its current batch and exits (killed after 30 s if it does not). */
  async term(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.running) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}


/** How many log lines of each kind the consumers wrote, e.g. `a: started 2, partition_acquired 5`. */
function logSummary(consumers: Consumer[]): string {
  return consumers
    .map((c) => {
      const counts = new Map<string, number>();
      for (const e of c.events()) counts.set(e.event, (counts.get(e.event) ?? 0) + 1);
      return `${c.owner}: ${[...counts].map(([k, n]) => `${k} ${n}`).join(', ')}`;
    })
    .join('; ');
}

/** The owner of each partition's lease (null: free). */
async function leaseHolders(redis: Redis, prefix: string, partitions: number): Promise<Array<string | null>> {
  const holders: Array<string | null> = [];
  for (let p = 0; p < partitions; p++) holders.push(await redis.get(`{${prefix}:${p}}:lease`));
  return holders;
}

/** The last lines of each consumer's log, for failure messages. */
function logs(consumers: Consumer[]): string {
  return consumers.map((c) => `--- consumer ${c.owner} ---\n${c.log().split('\n').slice(-30).join('\n')}`).join('\n');
}

async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>, context: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}\n${context()}`);
    await sleep(50);
  }
}

function client(url: string): Redis {
  // Tolerates a server restart: commands queue and retry until it is back.
  return new Redis(url, { maxRetriesPerRequest: null, retryStrategy: () => 100, lazyConnect: false });
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** The lines of every row on the partition streams (field `l` of each chunk entry: u32 each), untrimmed streams only. */
async function publishedLines(redis: Redis, prefix: string, partitions: number): Promise<number[]> {
  const lines: number[] = [];
  for (let p = 0; p < partitions; p++) {
    let start = '-';
    for (;;) {
      const page = (await redis.xrangeBuffer(`{${prefix}:${p}}:tx`, start, '+', 'COUNT', 1000)) as Array<[Buffer, Buffer[]]>;
      for (const [, fields] of page) {
        for (let f = 0; f + 1 < fields.length; f += 2) {
          if (fields[f]!.toString() !== 'l') continue;
          const l = fields[f + 1]!;
          for (let at = 0; at < l.length; at += 4) lines.push(l.readUInt32LE(at));
        }
      }
      if (page.length < 1000) break;
      start = `(${page.at(-1)![0].toString()}`;
    }
  }
  return lines;
}

/** Entries ever added to each partition stream (XINFO STREAM entries-added: committed entries are trimmed). */
async function entriesAdded(redis: Redis, prefix: string, partitions: number): Promise<number[]> {
  const added: number[] = [];
  for (let p = 0; p < partitions; p++) {
    const info = (await redis.xinfo('STREAM', `{${prefix}:${p}}:tx`)) as unknown[];
    added.push(Number(info[info.indexOf('entries-added') + 1]));
  }
  return added;
}

/** Committed commits so far: the events entries of every partition (one per committed batch). */
async function eventEntries(redis: Redis, prefix: string, partitions: number): Promise<number> {
  return sum(await Promise.all(Array.from({ length: partitions }, (_, p) => redis.xlen(`{${prefix}:${p}}:events`))));
}

async function deadLetters(redis: Redis, prefix: string, partitions: number): Promise<string[][]> {
  const all: string[][] = [];
  for (let p = 0; p < partitions; p++) for (const [, fields] of await redis.xrange(`{${prefix}:${p}}:dead`, '-', '+')) all.push(fields);
  return all;
}

type Event = Record<string, unknown> & { line: number; id: string; partition: number; result: string; reason?: string };

/** `payrun events`: every committed row event, as NDJSON. */
async function clusterEvents(url: string, prefix: string): Promise<Event[]> {
  const out = await payrunOk(['events', '--redis', url, '--prefix', prefix]);
  const text = out.stdout.toString('utf8');
  return text === '' ? [] : text.trimEnd().split('\n').map((line) => JSON.parse(line) as Event);
}

interface Input {
  file: string;
  /** 1-based line numbers of the data rows. */
  dataLines: number[];
  /** `payrun FILE` stdout. */
  accounts: Buffer;
  /** `line,reason` of every rejected row, in file order (from --rejects). */
  rejected: string[];
}

async function batchOf(file: string, rows: number): Promise<Input> {
  const lines = readFileSync(file, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const headerAt = lines.findIndex((line) => line.trim() !== '');
  const dataLines: number[] = [];
  lines.forEach((line, i) => {
    if (i > headerAt && line.replace(/\r$/, '').trim() !== '') dataLines.push(i + 1);
  });
  expect(dataLines.length).toBe(rows);
  const rejectsFile = `${file}.rejects.csv`;
  const batch = await payrunOk([file, '--rejects', rejectsFile]);
  const rejected = readFileSync(rejectsFile, 'utf8')
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((line) => line.split(',').slice(0, 2).join(','));
  return { file, dataLines, accounts: batch.stdout, rejected };
}

async function prepare(dir: string, name: string, rows: number, clients: number, seed: number): Promise<Input> {
  const file = join(dir, `${name}.csv`);
  await payrunOk(['generate', '-n', String(rows), '-c', String(clients), '--seed', String(seed), '-q', file]);
  return batchOf(file, rows);
}

/**
 * A second day's file for `first`: disputes of its deposits (some then resolved, some charged
 * back), new deposits, and deposits reusing its tx ids (DUPLICATE_TX across files). Returns it
 * and a file of both (the batch run of the two, one after the other).
 */
async function dayTwo(first: Input, dir: string, name: string): Promise<{ second: Input; both: Input }> {
  const deposits = readFileSync(first.file, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('deposit,'))
    .map((line) => line.split(','));
  const rows: string[] = [];
  deposits.forEach(([, c, tx, amount], i) => {
    if (i % 23 === 0) rows.push(`dispute,${c},${tx},`);
    if (i % 23 === 0 && i % 2 === 0) rows.push(`chargeback,${c},${tx},`);
    if (i % 23 === 0 && i % 3 === 1) rows.push(`resolve,${c},${tx},`);
    if (i % 97 === 0) rows.push(`deposit,${c},${tx},${amount}`);
    if (i % 31 === 0) rows.push(`deposit,${c},${4_000_000_000 + i},1.5`);
    if (i % 41 === 0) rows.push(`withdrawal,${c},${4_100_000_000 + i},2.25`);
  });
  const file = join(dir, `${name}.csv`);
  writeFileSync(file, `type,client,tx,amount\n${rows.join('\n')}\n`);
  const bothFile = join(dir, `${name}-both.csv`);
  const firstText = readFileSync(first.file, 'utf8');
  writeFileSync(bothFile, `${firstText}${firstText.endsWith('\n') ? '' : '\n'}${rows.join('\n')}\n`);
  const firstRows = first.dataLines.length;
  const second = await batchOf(file, rows.length);
  const bothRun = await batchOf(bothFile, firstRows + rows.length);
  // Day two's rows as decided after day one: the batch run of both files, its lines renumbered to day two's file.
  const offset = firstText.split('\n').length - (firstText.endsWith('\n') ? 1 : 0) - 1;
  second.rejected = bothRun.rejected.filter((r) => Number(r.split(',')[0]) > offset + 1).map((r) => `${Number(r.split(',')[0]) - offset},${r.split(',')[1]}`);
  return { second, both: bothRun };
}

/**
 * Every data row of the inputs (input n = inputs[n - 1]) has exactly one event, with id
 * `<input>-<line>` and the batch run's decision.
 */
function checkEvents(events: Event[], inputs: Input[]): void {
  const ids = events.map((e) => e.id);
  expect(new Set(ids).size, 'event ids are unique').toBe(ids.length);
  const want = inputs.flatMap((input, n) => input.dataLines.map((line) => `${n + 1}-${line}`));
  expect(ids.length, 'one event per data row').toBe(want.length);
  expect([...ids].sort()).toEqual([...want].sort());
  inputs.forEach((input, n) => {
    const mine = events.filter((e) => e.id.startsWith(`${n + 1}-`)).sort((a, b) => a.line - b.line);
    const rejected = mine.filter((e) => e.result === 'rejected').map((e) => `${e.line},${String(e.reason)}`);
    expect(rejected, `input ${n + 1}: the rejected rows and reasons of the batch run`).toEqual(input.rejected);
  });
}

function expectSameBytes(actual: Buffer, expected: Buffer, what: string): void {
  // toBe on the text gives a readable diff; compare() makes it byte for byte.
  expect(actual.toString('utf8'), what).toBe(expected.toString('utf8'));
  expect(Buffer.compare(actual, expected), what).toBe(0);
}

describe.skipIf(!available)('payrun cluster mode on a real redis-server', () => {
  const tempDir = useBuiltBinary('payrun-cluster-');
  const servers: RedisServer[] = [];
  const consumers: Consumer[] = [];
  const redisClients: Redis[] = [];
  let small: Input;
  let big: Input;

  const tmp = (name: string): string => {
    const path = join(tempDir(), name);
    mkdirSync(path, { recursive: true });
    return path;
  };

  async function server(): Promise<RedisServer> {
    const s = await startRedis();
    servers.push(s);
    return s;
  }

  function redisClient(url: string): Redis {
    const r = client(url);
    redisClients.push(r);
    return r;
  }

  function consumer(owner: string, args: string[], dir: string): Consumer {
    const c = new Consumer(owner, args, dir);
    consumers.push(c);
    return c;
  }

  beforeAll(async () => {
    const dir = tmp('inputs');
    [small, big] = await Promise.all([prepare(dir, 'small', SMALL_ROWS, 50, 11), prepare(dir, 'big', BIG_ROWS, 2000, 7)]);
    // The generator's mix has what makes partitioning hard: duplicate ids (global across
    // clients), disputes, resolves and chargebacks.
    expect(big.rejected.some((r) => r.endsWith(',DUPLICATE_TX'))).toBe(true);
    const text = readFileSync(big.file, 'utf8');
    for (const type of ['dispute', 'resolve', 'chargeback']) expect(text).toContain(`\n${type},`);
  }, 120_000);

  afterAll(async () => {
    for (const c of consumers) if (c.running) await c.kill9();
    for (const r of redisClients) r.disconnect();
    for (const s of servers) await s.dispose();
  });

  it(
    'small: 2k rows, 4 partitions, 1 consumer with no directory: accounts --wait equals the batch run; publishing again (any chunk size) adds nothing; stray entries are dead letters; overlapping accounts are refused',
    async () => {
      const redis = await server();
      const r = redisClient(redis.url);
      const dir = tmp('small');

      const published = await payrunOk(['publish', small.file, '--redis', redis.url, '--partitions', '4']);
      expect(published.stderr.trimEnd().split('\n'), published.stderr).toHaveLength(1);
      const lines = await publishedLines(r, 'payrun', 4);
      expect([...lines].sort((a, b) => a - b)).toEqual(small.dataLines);
      expect(await r.hget('payrun:meta', 'partitions')).toBe('4');

      // Before any consumer: the balances are not final, and `accounts` says so (exit 0).
      const stale = await payrunOk(['accounts', '--redis', redis.url]);
      expect(stale.stderr.toString()).toBe('payrun: partitions 0, 1, 2, 3 have published rows not applied yet: these balances are not final (--wait waits for them)\n');
      expect(stale.stdout.toString()).toBe('client,available,held,total,locked\n');

      const metricsPort = await freePort();
      const c = consumer('solo', ['--redis', redis.url, '--lease-ms', String(LEASE_MS), '--metrics-port', String(metricsPort)], dir);
      const accounts = await payrunOk(['accounts', '--redis', redis.url, '--wait', '--timeout', '60']);
      expectSameBytes(accounts.stdout, small.accounts, `accounts\n${logs([c])}`);
      const settled = await payrunOk(['accounts', '--redis', redis.url]);
      expect(settled.stderr.toString()).toBe('');
      // --format json / ndjson: the batch run's own JSON of the same file, byte for byte.
      for (const format of ['json', 'ndjson']) {
        const clusterJson = await payrunOk(['accounts', '--redis', redis.url, '--format', format]);
        const batchJson = await payrunOk([small.file, '--format', format, '-q']);
        expectSameBytes(clusterJson.stdout, batchJson.stdout, `accounts --format ${format}`);
      }
      checkEvents(await clusterEvents(redis.url, 'payrun'), [small]);

      // Prometheus text on --metrics-port; every log line is one JSON object.
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).toContain(`payrun_rows_total{owner="solo"} ${SMALL_ROWS}`);
      expect(metrics).toMatch(/^payrun_partitions_owned\{owner="solo"\} 4$/m);
      for (const line of c.log().trimEnd().split('\n')) expect(() => JSON.parse(line), line).not.toThrow();

      // Again, and with another chunk size: nothing new on the streams, no new events.
      const added = await entriesAdded(r, 'payrun', 4);
      for (const chunk of ['256', '7']) {
        const again = await payrunOk(['publish', small.file, '--redis', redis.url, '--chunk-rows', chunk]);
        expect(again.stderr.toString(), again.stderr.toString()).toContain(`(${SMALL_ROWS} were already there)`);
      }
      expect(await entriesAdded(r, 'payrun', 4)).toEqual(added);

      // Stray entries: one with a high id and no payrun fields, one row of a client of another
      // partition. Both are dead letters; later publishes to that partition are not lost.
      await r.xadd('{payrun:1}:tx', '99999999999999-1', 'l', '1');
      const foreignLine = Buffer.alloc(4);
      foreignLine.writeUInt32LE(999_999);
      await r.xadd(Buffer.from('{payrun:1}:tx'), '*', 'n', '1', 'l', foreignLine, 'r', 'deposit,2,99000002,1.0\r\n');
      const { second, both } = await dayTwo(small, tmp('small-inputs'), 'small-day2');
      await payrunOk(['publish', second.file, '--redis', redis.url]);
      const merged = await payrunOk(['accounts', '--redis', redis.url, '--wait', '--timeout', '60']);
      expectSameBytes(merged.stdout, both.accounts, `accounts of both files\n${logs([c])}`);
      checkEvents(await clusterEvents(redis.url, 'payrun'), [small, second]);
      const letters = await deadLetters(r, 'payrun', 4);
      expect(letters).toEqual([
        ['id', '99999999999999-1', 'partition', '1', 'error', "no 'n' field (the input number)"],
        ['id', '1-999999', 'partition', '1', 'error', 'client 2 belongs to partition 2, not 1 (a row published elsewhere than by payrun publish)'],
      ]);
      expect(c.events().filter((e) => e.event === 'dead_letter')).toHaveLength(2);

      // A client's account in two partitions (written by something else): not merged.
      const [someone] = await r.hkeys('{payrun:1}:accounts');
      await r.hset('{payrun:2}:accounts', someone!, '10000 0 1');
      const overlap = await payrun(['accounts', '--redis', redis.url]);
      expect(overlap.code).toBe(1);
      expect(overlap.stderr.toString()).toBe(
        `payrun: client ${someone} has an account in partitions 1 and 2 (clients belong to one partition: something other than payrun wrote there); not merging\n`,
      );
      await r.hdel('{payrun:2}:accounts', someone!);

      const exit = await c.term();
      expect(exit, logs([c])).toEqual({ code: 0, signal: null });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'no shared disk: 100k rows, 8 partitions, 3 consumers (private dirs or none), one SIGKILLed mid-run; a day-two file published after the kill, a consumer with an empty dir joins: accounts equal the batch run of both files',
    async () => {
      const redis = await server();
      const r = redisClient(redis.url);
      const dir = tmp('equivalence');
      const prefix = 'eq';

      await payrunOk(['publish', big.file, '--redis', redis.url, '--prefix', prefix, '--partitions', '8']);
      const base = ['--redis', redis.url, '--prefix', prefix, '--lease-ms', String(LEASE_MS), '--batch', '2'];
      const cluster = [
        consumer('a', [...base, '--journal', join(dir, 'disk-a')], dir),
        consumer('b', [...base, '--journal', join(dir, 'disk-b')], dir),
        consumer('c', base, dir),
      ];
      const victim = cluster[1]!;

      // Kill one once some batches are committed (and before the end).
      // (Under load a consumer may start late: the others hold every partition until it heartbeats.)
      await waitUntil('the victim holds partitions', 90_000, async () => (await leaseHolders(r, prefix, 8)).includes(victim.owner), () => logs(cluster));
      await waitUntil('some batches committed', 90_000, async () => (await eventEntries(r, prefix, 8)) >= 8, () => logs(cluster));
      const held = (await leaseHolders(r, prefix, 8)).flatMap((owner, p) => (owner === victim.owner ? [p] : []));
      expect(victim.running, logs(cluster)).toBe(true);
      await victim.kill9();
      const behind = await payrunOk(['accounts', '--redis', redis.url, '--prefix', prefix]);
      console.log(`no shared disk: consumer ${victim.owner} (partitions ${held.join(',')}) killed with SIGKILL; then ${behind.stderr.toString().trim()}`);
      expect(held.length, `the victim held leases: ${JSON.stringify(await leaseHolders(r, prefix, 8))}`).toBeGreaterThan(0);
      expect(behind.stderr.toString(), 'the kill came before the end').toContain('not applied yet');

      // Day two, published after the kill: disputes of day-one deposits, new deposits, reused ids.
      const { second, both } = await dayTwo(big, tmp('eq-inputs'), 'big-day2');
      await payrunOk(['publish', second.file, '--redis', redis.url, '--prefix', prefix]);
      // A consumer on "another machine": an empty directory of its own.
      const newcomer = consumer('d', [...base, '--journal', join(dir, 'disk-d-empty')], dir);
      cluster.push(newcomer);
      await waitUntil('the newcomer takes a share', 30_000, async () => newcomer.events().some((e) => e.event === 'partition_acquired'), () => logs(cluster));

      const accounts = await payrun(['accounts', '--redis', redis.url, '--prefix', prefix, '--wait', '--timeout', '120'], 150_000);
      expect(accounts.code, `${accounts.stderr}\n${logs(cluster)}`).toBe(0);
      expectSameBytes(accounts.stdout, both.accounts, `accounts of both files\n${logs(cluster)}`);
      for (const c of cluster.filter((x) => x.running)) expect(await c.term(), `consumer ${c.owner}\n${logs(cluster)}`).toEqual({ code: 0, signal: null });
      console.log(`no shared disk logs: ${logSummary(cluster)}`);
      checkEvents(await clusterEvents(redis.url, prefix), [big, second]);
      expect(await deadLetters(r, prefix, 8)).toEqual([]);
      // Partitions with state were taken over by consumers with no disk or an empty one.
      const takeovers = [cluster[2]!, cluster[3]!].flatMap((c) => c.events().filter((e) => e.event === 'partition_acquired' && Number(e.transactions) > 0));
      expect(takeovers.length, logs(cluster)).toBeGreaterThan(0);
      const newcomerTook = newcomer.events().filter((e) => e.event === 'partition_acquired');
      expect(newcomerTook.some((e) => Number(e.transactions) > 0), `the newcomer with an empty disk took over partitions with state: ${JSON.stringify(newcomerTook)}`).toBe(true);
      // --journal is accepted and unused: no consumer created its directory.
      for (const disk of ['disk-a', 'disk-b', 'disk-d-empty']) expect(existsSync(join(dir, disk)), `consume --journal ${disk}`).toBe(false);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a publisher killed halfway and run again with another chunk size publishes every row once; consumers through a Redis restart: accounts equal the batch run, one event per row',
    async () => {
      const pubServer = await server();
      const pr = redisClient(pubServer.url);
      const huge = join(tmp('inputs'), 'huge.csv');
      await payrunOk(['generate', '-n', String(HUGE_ROWS), '-c', '5000', '--seed', '5', '-q', huge]);
      const killed = await spawnPayrun(['publish', huge, '--redis', pubServer.url, '--prefix', 'huge', '--partitions', '8'], {
        timeoutMs: 120_000,
        control: (_child, send) => {
          // SIGKILL once some rows are on the streams.
          const watcher = client(pubServer.url);
          let stop = false;
          void (async () => {
            while (!stop) {
              const n = sum(await Promise.all(Array.from({ length: 8 }, (_, p) => watcher.xlen(`{huge:${p}}:tx`))));
              if (n >= 20) {
                send('SIGKILL');
                return;
              }
              await sleep(5);
            }
          })().catch(() => undefined);
          return () => {
            stop = true;
            watcher.disconnect();
          };
        },
      });
      expect(killed.signal, `the publisher finished before it was killed: ${killed.stderr}`).toBe('SIGKILL');
      const afterKill = (await publishedLines(pr, 'huge', 8)).length;
      console.log(`publish killed: ${afterKill} of ${HUGE_ROWS} rows on the streams`);
      expect(afterKill).toBeLessThan(HUGE_ROWS);
      await payrunOk(['publish', huge, '--redis', pubServer.url, '--prefix', 'huge', '--chunk-rows', '100']);
      const lines = await publishedLines(pr, 'huge', 8);
      expect(lines.length).toBe(HUGE_ROWS);
      expect(new Set(lines).size, 'no line published twice').toBe(HUGE_ROWS);
      pr.disconnect();
      await pubServer.dispose();

      // Consumers through a Redis restart (SIGTERM, same port and dir, AOF reloaded).
      const redis = await server();
      const r = redisClient(redis.url);
      const dir = tmp('restart');
      const prefix = 'rs';
      await payrunOk(['publish', big.file, '--redis', redis.url, '--prefix', prefix, '--partitions', '8']);
      const args = ['--redis', redis.url, '--prefix', prefix, '--lease-ms', String(LEASE_MS), '--batch', '1'];
      const cluster = ['x', 'y', 'z'].map((owner) => consumer(owner, [...args, '--journal', join(dir, `disk-${owner}`)], dir));
      await waitUntil('some batches committed', 90_000, async () => (await eventEntries(r, prefix, 8)) >= 10, () => logs(cluster));
      await redis.restart();
      const behind = await payrunOk(['accounts', '--redis', redis.url, '--prefix', prefix]);
      console.log(`redis restarted; then ${behind.stderr.toString().trim()}`);
      expect(behind.stderr.toString(), 'the restart came before the end').toContain('not applied yet');
      for (const c of cluster) expect(c.running, `consumer ${c.owner} survived the Redis restart\n${logs(cluster)}`).toBe(true);

      const accounts = await payrun(['accounts', '--redis', redis.url, '--prefix', prefix, '--wait', '--timeout', '120'], 150_000);
      expect(accounts.code, `${accounts.stderr}\n${logs(cluster)}`).toBe(0);
      expectSameBytes(accounts.stdout, big.accounts, `accounts\n${logs(cluster)}`);
      for (const c of cluster) expect(await c.term(), `consumer ${c.owner}\n${logs(cluster)}`).toEqual({ code: 0, signal: null });
      console.log(`redis restart logs: ${logSummary(cluster)}`);
      // Each consumer said once that Redis went away and once that it came back.
      for (const c of cluster) {
        const kinds = c.events().map((e) => e.event).filter((k) => k === 'redis_unreachable' || k === 'redis_back');
        expect(kinds, `consumer ${c.owner}`).toEqual(['redis_unreachable', 'redis_back']);
      }
      checkEvents(await clusterEvents(redis.url, prefix), [big]);
      expect(await deadLetters(r, prefix, 8)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});
