// Cluster mode on a real 3-node Redis Cluster (test/support/redisCluster.ts) through the built
// binary, with --redis-cluster: every key of a partition shares the hash tag `{<prefix>:<p>}`, so
// each commit touches one slot and the partitions spread over the nodes. Consumers with private
// dirs or none, one SIGKILLed mid-run, a day-two file published after the kill, a consumer with an
// empty dir joining: `accounts --wait` equals the batch run of both files, one event per row.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, useBuiltBinary } from './support/builtBinary.js';
import { type PayrunExit, spawnPayrun } from './support/crashLoop.js';
import { keysPerNode, type RedisClusterNodes, redisCliAvailable, startRedisCluster } from './support/redisCluster.js';
import { REDIS_MISSING_MESSAGE, redisAvailable } from './support/redisServer.js';

const available = redisAvailable() && redisCliAvailable();
if (!available) console.warn(REDIS_MISSING_MESSAGE);

const ROWS = 40_000;
const LEASE_MS = 1500;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function payrunOk(args: string[]): Promise<PayrunExit> {
  const exit = await spawnPayrun(args, { timeoutMs: 150_000 });
  if (exit.code !== 0) throw new Error(`payrun ${args.join(' ')} exited ${exit.code ?? exit.signal}:\n${exit.stderr}`);
  return exit;
}

interface Running {
  owner: string;
  child: ChildProcess;
  log: string;
  exited: Promise<number | null>;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function consume(owner: string, args: string[], dir: string): Running {
  const log = join(dir, `${owner}.log`);
  const err = openSync(log, 'a');
  const child = spawn(process.execPath, [BIN, 'consume', ...args, '--owner', owner], { cwd: ROOT, stdio: ['ignore', 'ignore', err] });
  closeSync(err);
  children.add(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => (children.delete(child), resolve(code))));
  return { owner, child, log, exited };
}

function events(c: Running): Array<{ event: string; [k: string]: unknown }> {
  return readFileSync(c.log, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event: string });
}

describe.skipIf(!available)('payrun cluster mode on a 3-node Redis Cluster', () => {
  const tempDir = useBuiltBinary('payrun-rcluster-');
  let cluster: RedisClusterNodes | undefined;
  const running: Running[] = [];

  afterAll(async () => {
    for (const c of running) c.child.kill('SIGKILL');
    await cluster?.dispose();
  });

  it(
    'publish, consume (one SIGKILLed, an empty-disk consumer joins), a day-two file, accounts --wait and events: equal to the batch run; keys on every node',
    async () => {
      cluster = await startRedisCluster();
      const dir = tempDir();
      const day1 = join(dir, 'day1.csv');
      await payrunOk(['generate', '-n', String(ROWS), '-c', '800', '--seed', '21', '-q', day1]);
      // Day two: disputes of day-one deposits (some charged back), and a reused tx id.
      const deposits = readFileSync(day1, 'utf8').split('\n').filter((l) => l.startsWith('deposit,')).map((l) => l.split(','));
      const rows = deposits.flatMap(([, c, tx, amount], i) => (i % 17 === 0 ? [`dispute,${c},${tx},`, ...(i % 2 === 0 ? [`chargeback,${c},${tx},`] : []), `deposit,${c},${tx},${amount}`] : []));
      const day2 = join(dir, 'day2.csv');
      writeFileSync(day2, `type,client,tx,amount\n${rows.join('\n')}\n`);
      const both = join(dir, 'both.csv');
      writeFileSync(both, `${readFileSync(day1, 'utf8')}${rows.join('\n')}\n`);
      const expected = (await payrunOk([both])).stdout.toString('utf8');

      const target = ['--redis-cluster', cluster.urls, '--prefix', 'rc'];
      await payrunOk(['publish', day1, ...target, '--partitions', '8']);
      const base = [...target, '--lease-ms', String(LEASE_MS), '--batch', '2'];
      mkdirSync(join(dir, 'disks'));
      running.push(consume('a', [...base, '--journal', join(dir, 'disks', 'a')], dir), consume('b', base, dir));
      // Kill b once it has committed something.
      const deadline = Date.now() + 60_000;
      while (!events(running[1]!).some((e) => e.event === 'metrics' || e.event === 'partition_acquired')) {
        if (Date.now() > deadline) throw new Error(`consumer b never started:\n${readFileSync(running[1]!.log, 'utf8')}`);
        await sleep(50);
      }
      await sleep(300);
      running[1]!.child.kill('SIGKILL');
      await running[1]!.exited;
      await payrunOk(['publish', day2, ...target]);
      running.push(consume('c', [...base, '--journal', join(dir, 'disks', 'c-empty')], dir));

      const accounts = await payrunOk(['accounts', ...target, '--wait', '--timeout', '120']);
      expect(accounts.stdout.toString('utf8')).toBe(expected);
      const out = (await payrunOk(['events', ...target])).stdout.toString('utf8').trimEnd().split('\n');
      expect(out).toHaveLength(ROWS + rows.length);
      expect(new Set(out.map((l) => (JSON.parse(l) as { id: string }).id)).size).toBe(ROWS + rows.length);

      // The partitions spread over the nodes: keys on at least two of them.
      const keys = keysPerNode(cluster);
      console.log(`redis cluster: keys per node ${keys.join(', ')}`);
      expect(keys.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
      for (const c of running.filter((x) => x.child.exitCode === null && x.child.signalCode === null)) {
        c.child.kill('SIGTERM');
        expect(await c.exited, readFileSync(c.log, 'utf8')).toBe(0);
      }
      expect(events(running[2]!).some((e) => e.event === 'partition_acquired')).toBe(true);
    },
    180_000,
  );
});
