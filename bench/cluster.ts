// Cluster throughput on this machine, the batch engine measured in the same run: a real
// redis-server (started here, on a free port, in a temp dir, appendonly yes), a generated file,
// and for 1, 2 and 3 `payrun consume` processes (started first, each with its own empty dir)
// the time from the start of `payrun publish` until `payrun accounts --wait` returns; the merged
// accounts are checked against `payrun FILE` each time (and the batch engine is run again just
// before each, since the machine is shared: both ratios are reported). Also: publish alone, Redis CPU per row
// (INFO used_cpu_*), consumer and publisher CPU per row, the takeover of a partition holding
// every stored transaction of the file by a consumer with an empty disk after a SIGKILL, and the
// bytes Redis keeps per stored transaction. Prints a table and writes bench/results/<date>-cluster.json.
//
//   npx tsx bench/cluster.ts [--rows N] [--partitions P] [--consumers 1,2,3]   (npm run bench:cluster builds first)
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(root, 'bin', 'payrun');
const USAGE = new URL('./support/usage.mjs', import.meta.url).href;
const log = (line: string): void => void process.stderr.write(`bench: ${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function parseOptions(argv: string[]): { rows: number; partitions: number; consumers: number[] } {
  const options = { rows: 1_000_000, partitions: 8, consumers: [1, 2, 3] };
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1] ?? '';
    if (argv[i] === '--rows' && Number(value) > 0) options.rows = Number(value);
    else if (argv[i] === '--partitions' && Number(value) > 0) options.partitions = Number(value);
    else if (argv[i] === '--consumers') options.consumers = value.split(',').map(Number);
    else throw new Error(`usage: cluster.ts [--rows N] [--partitions P] [--consumers 1,2,3] (not '${argv[i]} ${value}')`);
  }
  return options;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface Usage {
  maxRssKiB: number;
  userMicros: number;
  systemMicros: number;
}

/** Runs payrun to its end (with the usage preload when `usageFile` is given). */
function payrun(args: string[], usageFile?: string): { stdout: string; stderr: string; seconds: number } {
  const started = performance.now();
  const argv = usageFile === undefined ? [BIN, ...args] : ['--import', USAGE, BIN, ...args];
  const run = spawnSync(process.execPath, argv, { encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, BENCH_USAGE_FILE: usageFile ?? '' } });
  if (run.status !== 0) throw new Error(`payrun ${args.join(' ')} failed (${run.status}): ${run.stderr}`);
  return { stdout: run.stdout, stderr: run.stderr, seconds: (performance.now() - started) / 1000 };
}

function usageOf(file: string): Usage {
  return JSON.parse(readFileSync(file, 'utf8')) as Usage;
}

const cpuMicros = (u: Usage): number => u.userMicros + u.systemMicros;

function redisCli(port: number, ...args: string[]): string {
  return spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout.trim();
}

/** Redis's CPU time so far (µs): INFO cpu used_cpu_user + used_cpu_sys. */
function redisCpu(port: number): number {
  const info = redisCli(port, 'info', 'cpu');
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

function memoryUsage(port: number, key: string): number {
  return Number(redisCli(port, 'memory', 'usage', key, 'samples', '0')) || 0;
}

/** A consumer process with its JSON log in a file. */
function startConsumer(dir: string, url: string, prefix: string, owner: string, extra: string[] = []): { child: ChildProcess; usage: string; log: string } {
  const usage = join(dir, `usage-${prefix}-${owner}`);
  const log = join(dir, `log-${prefix}-${owner}`);
  const disk = join(dir, `disk-${prefix}-${owner}`);
  const args = ['--import', USAGE, BIN, 'consume', '--redis', url, '--prefix', prefix, '--journal', disk, '--owner', owner, ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, BENCH_USAGE_FILE: usage } });
  let text = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
    writeFileSync(log, text);
  });
  return { child, usage, log };
}

async function stop(children: ChildProcess[], signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const exits = children.map((child) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()))));
  for (const child of children) child.kill(signal);
  await Promise.all(exits);
}

function logEvents(file: string): Array<{ event: string; [k: string]: unknown }> {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event: string });
  } catch {
    return [];
  }
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await sleep(20);
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'payrun-bench-cluster-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''], { stdio: 'ignore' });
  const consumers: ChildProcess[] = [];
  try {
    await sleep(300);
    const { rows } = options;
    const file = join(dir, 'tx.csv');
    payrun(['generate', '-n', String(rows), '-c', '5000', '--seed', '42', '-q', file]);
    const loadBefore = loadavg().map((x) => Number(x.toFixed(2)));
    // The batch engine in the same run, best of two (the machine is shared).
    const batchRuns = [payrun(['--workers', '0', file, '-q']), payrun(['--workers', '0', file, '-q'])];
    const expected = batchRuns[0]!.stdout;
    const batchSeconds = Math.min(...batchRuns.map((r) => r.seconds));
    const batchRowsPerSecond = Math.round(rows / batchSeconds);
    log(`payrun --workers 0 FILE: ${batchSeconds.toFixed(2)} s, ${batchRowsPerSecond} rows/s`);

    // Publish alone (no consumer running).
    const publishUsage = join(dir, 'usage-publish');
    const redisBefore = redisCpu(port);
    const alone = payrun(['publish', file, '--redis', url, '--prefix', 'alone', '--partitions', String(options.partitions), '-q'], publishUsage);
    const publishAlone = {
      seconds: alone.seconds,
      rowsPerSecond: Math.round(rows / alone.seconds),
      ofBatch: Number((batchSeconds / alone.seconds).toFixed(3)),
      publisherCpuMicrosPerRow: Number((cpuMicros(usageOf(publishUsage)) / rows).toFixed(2)),
      redisCpuMicrosPerRow: Number(((redisCpu(port) - redisBefore) / rows).toFixed(2)),
    };
    log(`publish alone: ${alone.seconds.toFixed(2)} s, ${publishAlone.rowsPerSecond} rows/s (${publishAlone.ofBatch}x batch)`);

    const results = [];
    for (const n of options.consumers) results.push(await measureConsumers(n, { dir, url, port, file, expected, batchSeconds, rows, partitions: options.partitions, consumers }));

    const takeover = await measureTakeover(dir, url, port, file, expected);
    const machine = { cpuModel: cpus()[0]?.model.trim() ?? 'unknown', cores: availableParallelism(), memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, redis: spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.trim() };
    const loadAfter = loadavg().map((x) => Number(x.toFixed(2)));
    const table = [
      'consumers | publish→accounts s | rows/s | × batch | × batch just before | Redis µs/row | consumers µs/row (each) | publisher µs/row | peak RSS MB each | identical',
      '---|---|---|---|---|---|---|---|---|---',
    ];
    for (const r of results) {
      table.push(
        `${r.consumers} | ${r.seconds.toFixed(2)} | ${r.rowsPerSecond} | ${r.ofBatch} | ${r.ofBatchJustBefore} | ${r.redisCpuMicrosPerRow} | ${r.consumerCpuMicrosPerRow} (${r.eachConsumerCpuMicrosPerRow.join(', ')}) | ${r.publisherCpuMicrosPerRow} | ${r.peakRssMb.join(', ')} | ${r.identical}`,
      );
    }
    process.stdout.write(
      [
        `payrun cluster, ${rows} rows, ${options.partitions} partitions: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${machine.redis}; load before ${loadBefore.join(', ')}, after ${loadAfter.join(', ')}`,
        `batch (payrun --workers 0 FILE): ${batchRowsPerSecond} rows/s; publish alone: ${publishAlone.rowsPerSecond} rows/s (${publishAlone.ofBatch}x batch; publisher ${publishAlone.publisherCpuMicrosPerRow} µs/row, Redis ${publishAlone.redisCpuMicrosPerRow} µs/row)`,
        ...table,
        `takeover by an empty-disk consumer of a partition holding ${takeover.transactions} transactions: rebuilt in ${takeover.loadMs} ms, acquired ${takeover.killToAcquiredMs} ms after the SIGKILL (lease ${takeover.leaseMs} ms); Redis keeps ${takeover.stateBytesPerTx} B per stored transaction (snapshot ${takeover.bytes.snapshot} B, changelog ${takeover.bytes.changes} B, accounts ${takeover.bytes.accounts} B; owned ids ${takeover.bytes.ownedIds} B; stream left ${takeover.bytes.stream} B; events ${takeover.bytes.events} B)`,
        '',
      ].join('\n'),
    );
    mkdirSync(join(root, 'bench', 'results'), { recursive: true });
    const out = join(root, 'bench', 'results', `${new Date().toISOString().slice(0, 10)}-cluster.json`);
    const document = { date: new Date().toISOString(), machine, options, loadAverage: { before: loadBefore, after: loadAfter }, batch: { seconds: batchSeconds, rowsPerSecond: batchRowsPerSecond }, publishAlone, results, takeover };
    writeFileSync(out, `${JSON.stringify(document, null, 2)}\n`);
    log(`wrote ${out}`);
    if (results.some((r) => !r.identical) || !takeover.identical) process.exitCode = 1;
  } finally {
    await stop(consumers, 'SIGKILL');
    redis.kill('SIGTERM');
    await new Promise((resolve) => redis.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Run {
  dir: string;
  url: string;
  port: number;
  file: string;
  /** `payrun FILE`'s accounts. */
  expected: string;
  batchSeconds: number;
  rows: number;
  partitions: number;
  /** Children to kill if the run fails. */
  consumers: ChildProcess[];
}

/** n consumers started first, then publish→`accounts --wait` timed, with every process's CPU a row. */
async function measureConsumers(n: number, run: Run) {
  const { dir, url, port, file, rows } = run;
  const prefix = `bench${n}`;
  const started = Array.from({ length: n }, (_, c) => startConsumer(dir, url, prefix, `c${c}`, ['-q']));
  run.consumers.push(...started.map((s) => s.child));
  await sleep(1500); // started and heartbeating (they wait for the first publish)
  // The batch engine again, just before: the machine is shared, and its load changes between runs.
  const batchNow = payrun(['--workers', '0', file, '-q']).seconds;
  const redisAt = redisCpu(port);
  const t0 = performance.now();
  const publisherUsage = join(dir, `usage-publish-${prefix}`);
  const published = payrun(['publish', file, '--redis', url, '--prefix', prefix, '--partitions', String(run.partitions), '-q'], publisherUsage);
  const accounts = payrun(['accounts', '--redis', url, '--prefix', prefix, '--wait', '--timeout', '3600']);
  const seconds = (performance.now() - t0) / 1000;
  const redisMicros = redisCpu(port) - redisAt;
  await stop(run.consumers.splice(0));
  const usages = started.map((s) => usageOf(s.usage));
  const identical = accounts.stdout === run.expected;
  const result = {
    consumers: n,
    partitions: run.partitions,
    rows,
    seconds: Number(seconds.toFixed(3)),
    rowsPerSecond: Math.round(rows / seconds),
    ofBatch: Number((run.batchSeconds / seconds).toFixed(3)),
    batchSecondsJustBefore: Number(batchNow.toFixed(3)),
    ofBatchJustBefore: Number((batchNow / seconds).toFixed(3)),
    publishSeconds: Number(published.seconds.toFixed(3)),
    publisherCpuMicrosPerRow: Number((cpuMicros(usageOf(publisherUsage)) / rows).toFixed(2)),
    redisCpuMicrosPerRow: Number((redisMicros / rows).toFixed(2)),
    consumerCpuMicrosPerRow: Number((usages.reduce((s, u) => s + cpuMicros(u), 0) / rows).toFixed(2)),
    eachConsumerCpuMicrosPerRow: usages.map((u) => Number((cpuMicros(u) / rows).toFixed(2))),
    peakRssMb: usages.map((u) => Math.round(u.maxRssKiB / 1024)),
    identical,
  };
  log(`${n} consumer(s): publish→accounts --wait ${seconds.toFixed(2)} s, ${result.rowsPerSecond} rows/s (${result.ofBatch}x batch), Redis ${result.redisCpuMicrosPerRow} µs/row, consumers ${result.consumerCpuMicrosPerRow} µs/row, accounts ${identical ? 'identical to' : 'DIFFER from'} payrun FILE`);
  return result;
}

/**
 * One partition holding every stored transaction of the file: consumer a applies it all and is
 * killed with SIGKILL (no hand-over snapshot: the state is the last snapshot plus the changelog);
 * consumer b, with an empty disk, takes it over. Returns its rebuild time and the bytes Redis keeps.
 */
async function measureTakeover(dir: string, url: string, port: number, file: string, expected: string) {
  const prefix = 'takeover';
  const leaseMs = 2000;
  payrun(['publish', file, '--redis', url, '--prefix', prefix, '--partitions', '1', '-q']);
  const a = startConsumer(dir, url, prefix, 'a', ['--lease-ms', String(leaseMs)]);
  payrun(['accounts', '--redis', url, '--prefix', prefix, '--wait', '--timeout', '3600']);
  await stop([a.child], 'SIGKILL');
  const killed = performance.now();
  const b = startConsumer(dir, url, prefix, 'b', ['--lease-ms', String(leaseMs)]);
  await waitFor('the takeover', () => logEvents(b.log).some((e) => e.event === 'partition_acquired'));
  const killToAcquiredMs = Math.round(performance.now() - killed);
  const acquired = logEvents(b.log).find((e) => e.event === 'partition_acquired')!;
  const identical = payrun(['accounts', '--redis', url, '--prefix', prefix]).stdout === expected;
  const key = (what: string): string => `{${prefix}:0}:${what}`;
  // Measured before b's clean stop wrote a new snapshot: what a takeover after a kill reads.
  const bytes = {
    snapshot: memoryUsage(port, key('snapshot')),
    changes: memoryUsage(port, key('changes')),
    accounts: memoryUsage(port, key('accounts')),
    stream: memoryUsage(port, key('tx')),
    events: memoryUsage(port, key('events')),
    ownedIds: memoryUsage(port, `${prefix}:owned:1`),
  };
  await stop([b.child]);
  const transactions = Number(acquired.transactions);
  const result = {
    transactions,
    loadMs: Number(acquired.loadMs),
    killToAcquiredMs,
    leaseMs,
    bytes,
    stateBytesPerTx: Number(((bytes.snapshot + bytes.changes + bytes.accounts) / transactions).toFixed(1)),
    identical,
  };
  log(`takeover: ${transactions} transactions rebuilt in ${result.loadMs} ms (${killToAcquiredMs} ms after the kill, lease ${leaseMs} ms); ${result.stateBytesPerTx} B per stored transaction`);
  return result;
}

await main();
