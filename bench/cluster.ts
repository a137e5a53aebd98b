// Cluster throughput on this machine: a real redis-server (started here, on a free port, in a temp
// dir, appendonly yes), a generated file published to P partitions, then 1, 2 and 3 `payrun consume`
// processes started together; rows/s is rows / (time from their start until `payrun accounts --wait`
// sees every partition committed). The merged accounts are checked against `payrun FILE` each time.
// Prints a table and writes bench/results/<date>-cluster.json.
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
const RSS = new URL('./support/peak-rss.mjs', import.meta.url).href;
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

function payrun(args: string[]): { stdout: string; stderr: string; seconds: number } {
  const started = performance.now();
  const run = spawnSync(BIN, args, { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (run.status !== 0) throw new Error(`payrun ${args.join(' ')} failed (${run.status}): ${run.stderr}`);
  return { stdout: run.stdout, stderr: run.stderr, seconds: (performance.now() - started) / 1000 };
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
    const file = join(dir, 'tx.csv');
    payrun(['generate', '-n', String(options.rows), '-c', '5000', '--seed', '42', '-q', file]);
    const expected = payrun([file, '-q']);
    const loadBefore = loadavg().map((x) => Number(x.toFixed(2)));
    const results = [];
    for (const n of options.consumers) {
      const prefix = `bench${n}`;
      const published = payrun(['publish', file, '--redis', url, '--prefix', prefix, '--partitions', String(options.partitions), '-q']);
      log(`published ${options.rows} rows to ${options.partitions} partitions in ${published.seconds.toFixed(2)} s`);
      const started = performance.now();
      const rssFiles: string[] = [];
      for (let c = 0; c < n; c++) {
        const rssFile = join(dir, `rss-${prefix}-${c}`);
        rssFiles.push(rssFile);
        const args = ['--import', RSS, BIN, 'consume', '--redis', url, '--prefix', prefix, '--journal', join(dir, `journal-${prefix}`), '--owner', `c${c}`, '-q'];
        consumers.push(spawn(process.execPath, args, { stdio: 'ignore', env: { ...process.env, BENCH_RSS_FILE: rssFile } }));
      }
      const accounts = payrun(['accounts', '--redis', url, '--prefix', prefix, '--wait', '--timeout', '3600']);
      const seconds = (performance.now() - started) / 1000;
      const running = consumers.splice(0);
      const exits = running.map((child) => new Promise<void>((resolve) => child.once('exit', () => resolve())));
      for (const child of running) child.kill('SIGTERM');
      await Promise.all(exits);
      const peakRssMb = rssFiles.map((f) => Math.round(Number(readFileSync(f, 'utf8')) / 1024));
      const identical = accounts.stdout === expected.stdout;
      results.push({ consumers: n, partitions: options.partitions, rows: options.rows, publishSeconds: published.seconds, publishRowsPerSecond: Math.round(options.rows / published.seconds), consumeSeconds: seconds, rowsPerSecond: Math.round(options.rows / seconds), peakRssMb, identical });
      log(`${n} consumer(s): ${seconds.toFixed(2)} s, ${Math.round(options.rows / seconds)} rows/s, peak RSS ${peakRssMb.join('/')} MB, accounts ${identical ? 'identical to' : 'DIFFER from'} payrun FILE`);
    }
    const machine = { cpuModel: cpus()[0]?.model.trim() ?? 'unknown', cores: availableParallelism(), memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, redis: spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.trim() };
    const loadAfter = loadavg().map((x) => Number(x.toFixed(2)));
    const table = ['consumers | publish rows/s | consume s | rows/s | peak RSS MB each | identical', '---|---|---|---|---|---'];
    for (const r of results) table.push(`${r.consumers} | ${r.publishRowsPerSecond} | ${r.consumeSeconds.toFixed(2)} | ${r.rowsPerSecond} | ${r.peakRssMb.join(', ')} | ${r.identical}`);
    process.stdout.write(`payrun cluster, ${options.rows} rows, ${options.partitions} partitions: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${machine.redis}; load before ${loadBefore.join(', ')}, after ${loadAfter.join(', ')}\n${table.join('\n')}\n`);
    mkdirSync(join(root, 'bench', 'results'), { recursive: true });
    const out = join(root, 'bench', 'results', `${new Date().toISOString().slice(0, 10)}-cluster.json`);
    writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), machine, options, loadAverage: { before: loadBefore, after: loadAfter }, results }, null, 2)}\n`);
    log(`wrote ${out}`);
    if (results.some((r) => !r.identical)) process.exitCode = 1;
  } finally {
    for (const child of consumers) child.kill('SIGKILL');
    redis.kill('SIGTERM');
    await new Promise((resolve) => redis.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
