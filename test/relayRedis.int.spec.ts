// `payrun relay --from redis://...`: the cluster's applied events (published, consumed) relayed
// from Redis through a consumer group of the relay's own to the test payout API. A real
// redis-server on a free loopback port, a real `payrun consume`, the real binary. Every applied
// event delivered once by key (the same key as a file of `payrun events` gives), rejected rows
// never sent, a 400 dead-lettered while the relay goes on, nothing left pending in the group;
// the relay SIGKILLed mid-way and restarted: none missing, none accepted twice, order per client.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, payrunOk, ROOT, spawnPayrun } from './support/crashLoop.js';
import { PayoutServer } from './support/payoutServer.js';
import { redisCliAvailable, startRedisCluster } from './support/redisCluster.js';
import { REDIS_MISSING_MESSAGE, redisAvailable, type RedisServer, startRedis } from './support/redisServer.js';
import { expectEveryEventOnce } from './support/relayKillExpect.js';
import { runKillScenario } from './support/relayKillRun.js';

const available = redisAvailable();
if (!available) console.warn(REDIS_MISSING_MESSAGE);

interface Event {
  line: number;
  id: string;
  result: string;
  type?: string;
  client: number;
  tx: number;
}

const PARTITIONS = 4;

describe.skipIf(!available)('payrun relay from Redis (the cluster events, a consumer group)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'payrun-relay-redis-'));
  let redis: RedisServer;
  let consumer: ChildProcess;
  let events: Event[];
  let eventsFile: string;

  /** Publishes FILE and waits until the consumer committed every row. */
  async function publishAndApply(csv: string): Promise<void> {
    await payrunOk(['publish', '--redis', redis.url, '--partitions', String(PARTITIONS), '--chunk-rows', '64', '-q', csv]);
    await payrunOk(['accounts', '--redis', redis.url, '--wait', '--timeout', '120', '-q']);
    const out = await payrunOk(['events', '--redis', redis.url]);
    writeFileSync(eventsFile, out.stdout);
    events = out.stdout.toString('utf8').trim().split('\n').map((line) => JSON.parse(line) as Event);
  }

  beforeAll(async () => {
    redis = await startRedis();
    eventsFile = join(dir, 'events.ndjson');
    const csv = join(dir, 'tx.csv');
    await payrunOk(['generate', '-q', '-n', '4000', '-c', '80', '--seed', '41', csv]);
    consumer = spawn(process.execPath, [BIN, 'consume', '--redis', redis.url, '-q', '--owner', 'c1'], { cwd: ROOT, stdio: 'ignore' });
    await publishAndApply(csv);
  }, 180_000);

  afterAll(async () => {
    if (consumer?.pid !== undefined && consumer.exitCode === null) {
      const gone = new Promise((resolve) => consumer.once('exit', resolve));
      process.kill(consumer.pid, 'SIGTERM');
      await gone;
    }
    await redis?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  async function pendingOf(group: string): Promise<number> {
    const client = new Redis(redis.port, '127.0.0.1');
    try {
      let pending = 0;
      for (let p = 0; p < PARTITIONS; p++) pending += Number(((await client.xpending(`{payrun:${p}}:events`, group)) as [number])[0]);
      return pending;
    } finally {
      client.disconnect();
    }
  }

  it('delivers every applied event once, by the key a file of `payrun events` gives; a 400 is dead-lettered and the relay goes on; rejected rows never sent; nothing left pending', async () => {
    const record = join(dir, 'once.ndjson');
    const server = await PayoutServer.start({ latencyMs: 1, badTxMod: 53, record });
    const deadLetter = join(dir, 'once-dead.ndjson');
    let run;
    try {
      run = await spawnPayrun(['relay', '--from', redis.url, '--to', server.url, '--group', 'once', '--dead-letter', deadLetter, '--drain', '--concurrency', '8', '--source-id', 'cl']);
    } finally {
      await server.stop();
    }
    expect(run.code, run.stderr).toBe(0);
    const applied = events.filter((e) => e.result === 'applied');
    const bad = applied.filter((e) => e.tx % 53 === 0);
    expect(bad.length).toBeGreaterThan(0);
    expect(events.some((e) => e.result === 'rejected')).toBe(true);
    const records = server.records();
    const accepted = records.filter((r) => r.kind === 'accepted');
    const want = applied.filter((e) => e.tx % 53 !== 0).map((e) => `cl:${e.id}`).sort();
    expect(accepted.map((r) => r.key).sort()).toEqual(want);
    // Rejected rows are never sent: every request names an applied event.
    const appliedLines = new Set(applied.map((e) => e.line));
    expect(records.every((r) => r.lines.every((line) => appliedLines.has(line)))).toBe(true);
    const dead = readFileSync(deadLetter, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { key: string; status: number });
    expect(dead.map((d) => d.key).sort()).toEqual(bad.map((e) => `cl:${e.id}`).sort());
    expect(dead.every((d) => d.status === 400)).toBe(true);
    expect(await pendingOf('once')).toBe(0);
    const summary = JSON.parse(run.stderr.trim().split('\n').find((line) => line.includes('"summary"'))!) as { events_delivered: number };
    expect(summary.events_delivered).toBe(want.length);

    // The same events from a file of `payrun events`, with the same source id: the very same keys.
    const fileRecord = join(dir, 'file.ndjson');
    const fileServer = await PayoutServer.start({ badTxMod: 53, record: fileRecord });
    try {
      await spawnPayrun(['relay', '--from', eventsFile, '--to', fileServer.url, '--state', join(dir, 'file-state'), '--source-id', 'cl', '-q']);
    } finally {
      await fileServer.stop();
    }
    expect(fileServer.records().filter((r) => r.kind === 'accepted').map((r) => r.key).sort()).toEqual(want);

    // Run again: the group has acknowledged everything, nothing is sent.
    const again = await PayoutServer.start({ record: join(dir, 'again.ndjson') });
    try {
      const second = await spawnPayrun(['relay', '--from', redis.url, '--to', again.url, '--group', 'once', '--dead-letter', deadLetter, '--drain', '-q']);
      expect(second.code, second.stderr).toBe(0);
    } finally {
      await again.stop();
    }
    expect(again.records()).toEqual([]);
  }, 120_000);

  it('--types and --batch: only the chosen types, batches cut within an entry, keys `<source>:<first id>..<last id>`', async () => {
    const server = await PayoutServer.start({ record: join(dir, 'batch.ndjson') });
    try {
      const run = await spawnPayrun(['relay', '--from', redis.url, '--to', server.url, '--group', 'batch', '--dead-letter', join(dir, 'batch-dead.ndjson'), '--drain', '--types', 'withdrawal', '--batch', '10', '-q']);
      expect(run.code, run.stderr).toBe(0);
    } finally {
      await server.stop();
    }
    const accepted = server.records().filter((r) => r.kind === 'accepted');
    const withdrawals = events.filter((e) => e.result === 'applied' && e.type === 'withdrawal');
    expect(accepted.flatMap((r) => r.lines).sort((a, b) => a - b)).toEqual(withdrawals.map((e) => e.line).sort((a, b) => a - b));
    expect(accepted.some((r) => r.lines.length > 1)).toBe(true);
    expect(accepted.every((r) => r.lines.length <= 10 && /^[0-9a-f]{16}:\d+-\d+(\.\.\d+-\d+)?$/.test(r.key))).toBe(true);
  }, 60_000);

  it('SIGKILLed 4 times at random while 10% of requests fail, restarted until done: each event accepted exactly once, none missing, order per client kept', async () => {
    const report = await runKillScenario({
      dir: mkdtempSync(join(dir, 'kill-')),
      rows: 4000,
      clients: 80,
      seed: 41,
      kills: 4,
      killAfterMs: [500, 1500],
      concurrency: 16,
      failRate: 0.1,
      badTxMod: 61,
      timeoutS: 0.4,
      secret: 'Bearer redis-kill-secret-91c2',
      redis: { url: redis.url, group: 'kill', events: eventsFile },
    });
    expect(report.kills).toBe(4);
    expectEveryEventOnce(report);
    expect(await pendingOf('kill')).toBe(0);
  }, 300_000);

  it('Redis restarted while the relay runs: it waits (redis_down, redis_up) and goes on; every event accepted once, none missing', async () => {
    const recordPath = join(dir, 'restart.ndjson');
    const server = await PayoutServer.start({ latencyMs: 10, record: recordPath });
    const acceptedNow = (): number => {
      try {
        return readFileSync(recordPath, 'utf8').split('\n').filter((line) => line.includes('"kind":"accepted"')).length;
      } catch {
        return 0;
      }
    };
    const want = events.filter((e) => e.result === 'applied').length;
    let send: (signal: NodeJS.Signals) => void = () => undefined;
    const running = spawnPayrun(['relay', '--from', redis.url, '--to', server.url, '--group', 'restart', '--dead-letter', join(dir, 'restart-dead.ndjson'), '--concurrency', '2'], {
      control: (_child, signal) => void (send = signal),
    });
    let run;
    try {
      for (const deadline = Date.now() + 60_000; acceptedNow() < want / 4; await new Promise((resolve) => setTimeout(resolve, 50))) {
        if (Date.now() > deadline) throw new Error('the relay did not start delivering');
      }
      await redis.restart();
      for (const deadline = Date.now() + 120_000; acceptedNow() < want; await new Promise((resolve) => setTimeout(resolve, 100))) {
        if (Date.now() > deadline) throw new Error(`only ${acceptedNow()} of ${want} accepted after the restart`);
      }
      send('SIGTERM');
      run = await running;
    } finally {
      send('SIGKILL');
      await running.catch(() => undefined);
      await server.stop();
    }
    expect(run.code, run.stderr).toBe(143);
    expect(run.stderr).toContain('"event":"redis_down"');
    expect(run.stderr).toContain('"event":"redis_up"');
    const accepted = server.records().filter((r) => r.kind === 'accepted').map((r) => r.key);
    expect(new Set(accepted).size).toBe(want);
    expect(accepted.length).toBe(want);
    expect(await pendingOf('restart')).toBe(0);
  }, 240_000);

  it('follows new events (a second file published while it runs) until SIGTERM: exit 143, the group holds the position; a second relay of the group waits for it; usage errors exit 2', async () => {
    const recordPath = join(dir, 'follow.ndjson');
    const server = await PayoutServer.start({ record: recordPath });
    const deadLetter = join(dir, 'follow-dead.ndjson');
    const acceptedNow = (): number => {
      try {
        return readFileSync(recordPath, 'utf8').split('\n').filter((line) => line.includes('"kind":"accepted"')).length;
      } catch {
        return 0;
      }
    };
    const appliedCount = (): number => events.filter((e) => e.result === 'applied').length;
    const until = async (done: () => boolean, what: string): Promise<void> => {
      for (const deadline = Date.now() + 90_000; !done(); await new Promise((resolve) => setTimeout(resolve, 100))) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${acceptedNow()} accepted`);
      }
    };
    let send: (signal: NodeJS.Signals) => void = () => undefined;
    const running = spawnPayrun(['relay', '--from', redis.url, '--to', server.url, '--group', 'follow', '--dead-letter', deadLetter], { control: (_child, signal) => void (send = signal) });
    let run;
    let other: ReturnType<typeof spawnPayrun> | undefined;
    let otherRun: Awaited<ReturnType<typeof spawnPayrun>> | undefined;
    let otherServer: PayoutServer | undefined;
    try {
      await until(() => acceptedNow() === appliedCount(), 'the first file');
      // A second relay of the same group waits for the first's lock (two would break the order per client).
      otherServer = await PayoutServer.start({ record: join(dir, 'other.ndjson') });
      other = spawnPayrun(['relay', '--from', redis.url, '--to', otherServer.url, '--group', 'follow', '--dead-letter', deadLetter, '--drain']);
      const second = join(dir, 'tx2.csv');
      await payrunOk(['generate', '-q', '-n', '600', '-c', '80', '--seed', '42', '--first-tx', '100000', second]);
      await publishAndApply(second);
      await until(() => acceptedNow() === appliedCount(), 'the second file');
      send('SIGTERM');
      run = await running;
      otherRun = await other;
    } finally {
      send('SIGKILL');
      await running.catch(() => undefined);
      await other?.catch(() => undefined);
      await server.stop();
      await otherServer?.stop();
    }
    // The second relay waited, then (the first gone) found nothing left to send.
    expect(otherRun!.code, otherRun!.stderr).toBe(0);
    expect(otherRun!.stderr).toMatch(/"event":"waiting_for_group","group":"follow","held_by":"[^"]+:\d+:[0-9a-f]{8}"/);
    expect(otherServer!.records()).toEqual([]);
    expect(run.code, run.stderr).toBe(143);
    expect(run.stderr).toMatch(/payrun: relay stopped by SIGTERM; \d+ events delivered this run, the requests in flight finished; the consumer group 'follow' holds the position/);
    expect(new Set(server.records().filter((r) => r.kind === 'accepted').map((r) => r.key)).size).toBe(appliedCount());

    const usage = async (args: string[], message: RegExp): Promise<void> => {
      const r = await spawnPayrun(['relay', '--to', 'http://127.0.0.1:9/x', ...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    };
    await usage(['--from', redis.url, '--state', join(dir, 's'), '--dead-letter', deadLetter], /--state is for a file source: on Redis the consumer group \(--group\) holds the position/);
    await usage(['--from', redis.url], /a Redis source needs --dead-letter FILE/);
    await usage(['--from', 'redis://127.0.0.1:99999', '--dead-letter', deadLetter], /the port must be a number from 1 to 65535/);
    await usage(['--from', join(dir, 'events.ndjson')], /--state DIR is needed with a file/);
    await usage([], /give --from/);
  }, 120_000);
});

describe.skipIf(!available || !redisCliAvailable())('payrun relay from a Redis Cluster (--redis-cluster)', () => {
  it('a 3-node Redis Cluster: every applied event delivered once by key, nothing pending', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'payrun-relay-rcluster-'));
    const cluster = await startRedisCluster();
    let consumer: ChildProcess | undefined;
    try {
      const csv = join(dir, 'tx.csv');
      await payrunOk(['generate', '-q', '-n', '2000', '-c', '60', '--seed', '43', csv]);
      const seeds = ['--redis-cluster', cluster.urls];
      await payrunOk(['publish', ...seeds, '--partitions', '6', '-q', csv]);
      consumer = spawn(process.execPath, [BIN, 'consume', ...seeds, '-q', '--owner', 'rc'], { cwd: ROOT, stdio: 'ignore' });
      await payrunOk(['accounts', ...seeds, '--wait', '--timeout', '120', '-q']);
      const applied = (await payrunOk(['events', ...seeds])).stdout
        .toString('utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Event)
        .filter((e) => e.result === 'applied');
      const server = await PayoutServer.start({ record: join(dir, 'requests.ndjson') });
      try {
        const run = await spawnPayrun(['relay', ...seeds, '--to', server.url, '--dead-letter', join(dir, 'dead.ndjson'), '--drain', '--source-id', 'rc', '-q']);
        expect(run.code, run.stderr).toBe(0);
      } finally {
        await server.stop();
      }
      const accepted = server.records().filter((r) => r.kind === 'accepted').map((r) => r.key).sort();
      expect(accepted).toEqual(applied.map((e) => `rc:${e.id}`).sort());
      const again = await PayoutServer.start({ record: join(dir, 'again.ndjson') });
      try {
        const second = await spawnPayrun(['relay', ...seeds, '--to', again.url, '--dead-letter', join(dir, 'dead.ndjson'), '--drain', '-q']);
        expect(second.code, second.stderr).toBe(0);
      } finally {
        await again.stop();
      }
      expect(again.records()).toEqual([]);
    } finally {
      if (consumer?.pid !== undefined && consumer.exitCode === null) {
        const gone = new Promise((resolve) => consumer!.once('exit', resolve));
        process.kill(consumer.pid, 'SIGTERM');
        await gone;
      }
      await cluster.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
