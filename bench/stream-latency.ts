// Row → event latency of `payrun stream` at a steady input rate (default 20,000 rows/s for 10 s),
// without and with --journal (--fsync batch). Rows are written to its stdin in small bursts about
// every millisecond, each row's write time recorded; its stdout is read and every event matched to
// its row by line. Prints a table and writes bench/results/<date>-stream-latency.json.
//
//   npx tsx bench/stream-latency.ts [--rate ROWS_PER_S] [--seconds S]     (npm run bench:stream builds first)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(root, 'bin', 'payrun');
const log = (line: string): void => void process.stderr.write(`bench: ${line}\n`);

interface Options {
  rate: number;
  seconds: number;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { rate: 20_000, seconds: 10 };
  for (let i = 0; i < argv.length; i += 2) {
    const value = Number(argv[i + 1]);
    if (argv[i] === '--rate' && value > 0) options.rate = value;
    else if (argv[i] === '--seconds' && value > 0) options.seconds = value;
    else throw new Error(`usage: stream-latency.ts [--rate ROWS_PER_S] [--seconds S] (not '${argv[i]} ${argv[i + 1] ?? ''}')`);
  }
  return options;
}

interface Config {
  name: string;
  args: (dir: string) => string[];
}

const CONFIGS: Config[] = [
  { name: 'no journal', args: () => [] },
  { name: '--journal, --fsync batch', args: (dir) => ['--journal', join(dir, 'journal'), '--fsync', 'batch'] },
];

interface Result {
  config: string;
  args: string[];
  rowsSent: number;
  eventsReceived: number;
  sendSeconds: number;
  /** Rows written per second over the sending time. */
  rowsPerSecond: number;
  /** Events received per second, from the first row written to the last event. */
  eventsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  exitCode: number | null;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

/** One run: payrun stream fed `rows` at `rate` rows/s; each event's latency from its row's write. */
async function measure(config: Config, rows: string[], options: Options, dir: string): Promise<Result> {
  const args = ['stream', '-q', ...config.args(dir)];
  const child = spawn(process.execPath, [BIN, ...args], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  const total = Math.min(rows.length, Math.round(options.rate * options.seconds));
  const sentAt = new Float64Array(total);
  const latency = new Float64Array(total);
  let received = 0;
  let lastEventAt = 0;
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => {
    const now = performance.now();
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      // Events begin {"line":N, and row k of the input is on line k + 2 (the header is line 1).
      const row = Number.parseInt(line.slice(8, line.indexOf(',', 8)), 10) - 2;
      if (!(row >= 0 && row < total) || latency[row] !== 0) throw new Error(`unexpected event: ${line.slice(0, 120)}`);
      latency[row] = Math.max(now - sentAt[row]!, 1e-6);
      received++;
    }
    lastEventAt = now;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));

  child.stdin.write('type,client,tx,amount\n');
  await sleep(300); // payrun has started and read the header
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * options.rate));
    if (due > sent) {
      const now = performance.now();
      for (let i = sent; i < due; i++) sentAt[i] = now;
      child.stdin.write(rows.slice(sent, due).join(''));
      sent = due;
    }
    await sleep(1);
  }
  const sendSeconds = (performance.now() - start) / 1000;
  child.stdin.end();
  const exitCode = await exited;
  const sorted = latency.slice(0, received).sort();
  const mean = sorted.reduce((sum, x) => sum + x, 0) / Math.max(1, received);
  return {
    config: config.name,
    args,
    rowsSent: sent,
    eventsReceived: received,
    sendSeconds: round(sendSeconds),
    rowsPerSecond: Math.round(sent / sendSeconds),
    eventsPerSecond: Math.round(received / ((lastEventAt - start) / 1000)),
    latencyMs: {
      p50: round(percentile(sorted, 0.5)),
      p90: round(percentile(sorted, 0.9)),
      p99: round(percentile(sorted, 0.99)),
      p999: round(percentile(sorted, 0.999)),
      max: round(sorted[sorted.length - 1] ?? 0),
      mean: round(mean),
    },
    exitCode,
  };
}

function localDate(d = new Date()): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: npm run build first (npm run bench:stream does)');
  const dir = mkdtempSync(join(tmpdir(), 'payrun-stream-bench-'));
  try {
    const rowCount = Math.round(options.rate * options.seconds);
    const file = join(dir, 'tx.csv');
    const generate = spawnSync(process.execPath, [BIN, 'generate', '-n', String(rowCount), '-c', '5000', '--seed', '11', '-q', file], { stdio: 'inherit' });
    if (generate.status !== 0) throw new Error('payrun generate failed');
    // The data rows, one line each (blank lines dropped, so row k is on line k + 2 of what is sent).
    const rows = readFileSync(file, 'utf8')
      .split('\n')
      .slice(1)
      .filter((line) => line.trim() !== '')
      .map((line) => `${line}\n`);
    const machine = {
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      cores: availableParallelism(),
      totalMemGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      node: process.version,
      platform: `${process.platform} ${arch()} ${release()}`,
    };
    log(`${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}; ${options.rate} rows/s for ${options.seconds} s, bursts every ~1 ms`);
    const loadBefore = loadavg().map((x) => Math.round(x * 100) / 100);
    const results: Result[] = [];
    for (const config of CONFIGS) {
      log(`running: ${config.name}`);
      const result = await measure(config, rows, options, dir);
      if (result.exitCode !== 0 || result.eventsReceived !== result.rowsSent) {
        throw new Error(`${config.name}: exit ${result.exitCode}, ${result.eventsReceived} events for ${result.rowsSent} rows`);
      }
      results.push(result);
    }

    const loadAfter = loadavg().map((x) => Math.round(x * 100) / 100);
    const table = [
      '| config | rows/s sent | events/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...results.map((r) => {
        const l = r.latencyMs;
        return `| ${r.config} | ${r.rowsPerSecond} | ${r.eventsPerSecond} | ${l.p50.toFixed(2)} | ${l.p90.toFixed(2)} | ${l.p99.toFixed(2)} | ${l.p999.toFixed(2)} | ${l.max.toFixed(2)} |`;
      }),
    ];
    process.stdout.write(`payrun stream row→event latency, ${localDate()}: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}; load average before ${loadBefore.join(', ')}, after ${loadAfter.join(', ')}\n${table.join('\n')}\n`);

    const outDir = join(root, 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    const out = join(outDir, `${localDate()}-stream-latency.json`);
    const report = { date: new Date().toISOString(), machine, options: { ...options, burstMs: 1, rows: rowCount, generate: `payrun generate -n ${rowCount} -c 5000 --seed 11` }, loadAverage: { before: loadBefore, after: loadAfter }, results };
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${out}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
