/**
 * The benchmark harness (`npm run bench`, see bench/README.md): every config on every workload,
 * `--runs` times each, round robin; a table on stdout, bench/results/<date>-<name>.json and an
 * SVG chart. Exit 1 if any payrun config's accounts differ from `--workers 0` (or any run fails),
 * 2 on a usage error.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Config, type ConfigId, type ConfigResult, configs } from './configs.js';
import { commandLine, firstDifference, measure, median, type Sample } from './measure.js';
import { type Options, parseOptions, UsageError, USAGE } from './options.js';
import { svgChart } from './svgChart.js';
import { formatTable, targetLines } from './table.js';
import { ensureWorkload, formatRows, type Workload } from './workloads.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PEAK_RSS = join(root, 'bench', 'support', 'peak-rss.cjs');
const log = (line: string): void => void process.stderr.write(`bench: ${line}\n`);

interface Machine {
  cpuModel: string;
  cores: number;
  totalMemGiB: number;
  node: string;
  platform: string;
}

function machine(): Machine {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    totalMemGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${arch()} ${release()}`,
  };
}

/** 'Intel(R) Xeon(R) Processor', 2 cores → 'intel-xeon-2c'. */
function shortName(m: Machine): string {
  const words = m.cpuModel
    .replace(/\((R|TM|tm|r)\)/g, '')
    .replace(/@.*$/, '')
    .replace(/\b(CPU|Processor|Core|with|Radeon|Graphics|\d+-Core)\b/gi, ' ')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0)
    .slice(0, 3);
  return `${words.join('-') || 'cpu'}-${m.cores}c`;
}

function localDate(d = new Date()): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The worker count payrun's default resolves to here, if the build exports it (informational). */
async function defaultWorkers(): Promise<number | null> {
  try {
    const mod = (await import(pathToFileURL(join(root, 'dist', 'cli', 'main.js')).href)) as { defaultWorkers?: (cores?: number, inputBytes?: number) => number };
    return typeof mod.defaultWorkers === 'function' ? mod.defaultWorkers(undefined, Number.MAX_SAFE_INTEGER) : null;
  } catch {
    return null;
  }
}

interface WorkloadOutcome {
  results: ConfigResult[];
  /** Failures and payrun mismatches: each makes the exit code 1. */
  problems: string[];
  /** How the naive baseline compared, or null if it did not run. */
  naive: string | null;
}

async function benchWorkload(workload: Workload, opts: Options, all: Config[], scratch: string): Promise<WorkloadOutcome> {
  const size = formatRows(workload.rows);
  const skipNaive = workload.rows > opts.naiveMaxRows;
  const applies = (c: Config): boolean => c.maxRows === undefined || workload.rows <= c.maxRows;
  const active = all.filter((c) => (c.kind !== 'naive' || !skipNaive) && applies(c));
  // A tiny workload is all start-up, which varies more from run to run: more runs for its median.
  const runs = workload.rows <= SMALL_WORKLOAD_ROWS ? Math.max(opts.runs, SMALL_WORKLOAD_RUNS) : opts.runs;
  // Untimed warm-up: the file in the page cache, so the first timed config is not penalised.
  spawnSync(process.execPath, [join(root, 'bench', 'baselines', 'byte-scan.mjs'), workload.file], { stdio: 'ignore' });

  const samples = new Map<ConfigId, Sample[]>(active.map((c) => [c.id, []]));
  for (let run = 0; run < runs; run++) {
    for (const config of active) {
      const s = await measure(config.command(workload.file), PEAK_RSS, scratch, `${workload.rows}-${config.id}-${run}`);
      samples.get(config.id)?.push(s);
      const rss = s.rssKiB === null ? '? MB' : `${((s.rssKiB * 1024) / 1e6).toFixed(0)} MB`;
      log(`${size} run ${run + 1}/${runs}  ${config.label.padEnd(20)} ${s.wallS.toFixed(3).padStart(8)} s  ${rss.padStart(7)}${s.exitCode === 0 ? '' : `  EXIT ${s.exitCode}`}`);
      if (s.exitCode !== 0 && s.stderr !== '') process.stderr.write(s.stderr.replace(/^/gm, '    '));
    }
  }

  const problems: string[] = [];
  let naive: string | null = null;
  const ok = (id: ConfigId): Sample[] => (samples.get(id) ?? []).filter((s) => s.exitCode === 0);
  const medianOf = (id: ConfigId): number | null => (ok(id).length === 0 ? null : median(ok(id).map((s) => s.wallS)));
  const floorS = medianOf('floor');
  const naiveS = medianOf('naive');
  const reference = ok('workers-0')[0];

  const results = all.filter(applies).map((config): ConfigResult => {
    const list = samples.get(config.id);
    const base = { rows: workload.rows, config: config.id, label: config.label, short: config.short };
    if (list === undefined) {
      const why = opts.naiveMaxRows === 0 ? 'disabled (--no-naive)' : `naive runs only on workloads <= ${formatRows(opts.naiveMaxRows)} rows`;
      return { ...base, command: null, skipped: why, runs: [], medianS: null, rowsPerS: null, mbPerS: null, rssMedianMB: null, rssMaxMB: null, xFloor: null, xFasterThanNaive: null, accounts: 'skipped', accountsSha256: null, note: null };
    }
    const medianS = medianOf(config.id);
    const rss = list.map((s) => s.rssKiB).filter((v): v is number => v !== null).map((kib) => (kib * 1024) / 1e6);
    let accounts: ConfigResult['accounts'] = 'n/a';
    let note: string | null = null;
    const failed = list.find((s) => s.exitCode !== 0);
    if (failed !== undefined) {
      accounts = 'failed';
      problems.push(`${size} ${config.label}: exit ${failed.exitCode}`);
      if (config.kind === 'naive') naive = `failed on ${size}`;
    } else if (config.kind === 'start') {
      note = 'n/a (Node start-up alone)';
    } else if (config.kind === 'floor') {
      const newlines = Number(readFileSync(list[0]?.stdoutFile ?? '', 'utf8').trim());
      note = newlines === workload.rows + 1 ? 'n/a' : `n/a (${newlines} newlines, expected ${workload.rows + 1})`;
    } else if (reference !== undefined) {
      const differing = list.find((s) => s.sha256 !== reference.sha256);
      accounts = differing === undefined ? (config.id === 'workers-0' ? 'reference' : 'identical') : 'differs';
      if (differing !== undefined) {
        const where = `${size} ${config.label} differs from --workers 0 at ${firstDifference(reference.stdoutFile, differing.stdoutFile)}`;
        if (config.kind === 'naive') naive = where;
        else problems.push(where);
      } else if (config.kind === 'naive') {
        naive = 'identical';
      }
    }
    return {
      ...base,
      command: commandLine(config.command(relative(root, workload.file).startsWith('..') ? workload.file : relative(root, workload.file))),
      skipped: null,
      runs: list.map((s) => ({ wallS: round(s.wallS, 4), rssKiB: s.rssKiB, exitCode: s.exitCode })),
      medianS: medianS === null ? null : round(medianS, 4),
      rowsPerS: medianS === null ? null : Math.round(workload.rows / medianS),
      mbPerS: medianS === null ? null : round(workload.bytes / 1e6 / medianS, 1),
      rssMedianMB: rss.length === 0 ? null : round(median(rss), 1),
      rssMaxMB: rss.length === 0 ? null : round(Math.max(...rss), 1),
      xFloor: medianS === null || floorS === null ? null : round(medianS / floorS, 3),
      xFasterThanNaive: medianS === null || naiveS === null || config.kind === 'start' ? null : round(naiveS / medianS, 2),
      accounts,
      accountsSha256: config.kind === 'floor' || config.kind === 'start' ? null : (list[0]?.sha256 ?? null),
      note,
    };
  });
  return { results, problems, naive };
}

const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;
/** Workloads up to this many rows get at least SMALL_WORKLOAD_RUNS runs of each config. */
const SMALL_WORKLOAD_ROWS = 100_000;
const SMALL_WORKLOAD_RUNS = 7;

async function main(): Promise<number> {
  let opts: Options | null;
  try {
    opts = parseOptions(process.argv.slice(2), root);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`bench: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (opts === null) return 0;
  const payrunBin = join(root, 'bin', 'payrun');
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
    process.stderr.write('bench: dist/ is not built; run `npm run build` first (npm run bench does)\n');
    return 1;
  }

  const m = machine();
  const date = new Date();
  const loadBefore = loadavg().map((l) => round(l, 2));
  const name = opts.name ?? `${shortName(m)}${opts.quick ? '-quick' : ''}`;
  const all = configs(root).filter((c) => opts.configs === null || opts.configs.includes(c.id));
  const workers = await defaultWorkers();
  log(`${m.cpuModel}, ${m.cores} cores, ${m.totalMemGiB} GiB, Node ${m.node}; sizes ${opts.sizes.map(formatRows).join(', ')}; ${opts.runs} run(s) each`);

  const workloads = opts.sizes.map((rows) => ensureWorkload(rows, opts.dataDir, payrunBin, opts.regenerate));
  const scratch = mkdtempSync(join(tmpdir(), 'payrun-bench-'));
  const results: ConfigResult[] = [];
  const problems: string[] = [];
  const naive: string[] = [];
  for (const workload of workloads) {
    const outcome = await benchWorkload(workload, opts, all, scratch);
    results.push(...outcome.results);
    problems.push(...outcome.problems);
    if (outcome.naive !== null) naive.push(outcome.naive === 'identical' ? `${formatRows(workload.rows)}: identical` : outcome.naive);
  }

  const loadAfter = loadavg().map((l) => round(l, 2));
  const runsText = opts.runs === 1 ? '1 run' : `median of ${opts.runs} runs`;
  const out: string[] = [];
  out.push(`payrun benchmark, ${localDate(date)}: ${m.cpuModel}, ${m.cores} cores, ${m.totalMemGiB} GiB RAM, Node ${m.node}, ${m.platform}`);
  out.push(`${runsText} per config; payrun default --workers here: ${workers ?? 'unknown'} (0 for a file under 4 MiB); MB = 10^6 bytes; RSS = peak of the whole process`);
  out.push(`load average (1, 5, 15 min) before: ${loadBefore.join(', ')}; after: ${loadAfter.join(', ')} (other work on the machine skews timings)`);
  out.push(`workloads: ${workloads.map((w) => `${formatRows(w.rows)} rows = ${(w.bytes / 1e6).toFixed(1)} MB`).join(', ')} (payrun generate -c ${workloads[0]?.clients ?? ''} --seed ${workloads[0]?.seed ?? ''})`);
  out.push('');
  out.push(formatTable(results));
  out.push('');
  const naiveAll = naive.length > 0 && naive.every((n) => n.endsWith(': identical'));
  const naiveSkipped = workloads.filter((w) => w.rows > opts.naiveMaxRows).map((w) => formatRows(w.rows));
  const skippedText = naiveSkipped.length > 0 ? ` (naive not run on ${naiveSkipped.join(', ')})` : '';
  if (problems.length > 0) {
    out.push(`accounts: MISMATCH OR FAILURE:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    out.push(`  outputs kept in ${scratch}`);
  } else if (naiveAll) {
    out.push(`accounts: identical across all configs (payrun --workers 0, 1, 2, default and the naive baseline) on every workload${skippedText}`);
  } else {
    out.push(`accounts: all payrun configs identical to --workers 0 on every workload; naive baseline: ${naive.length === 0 ? 'not run' : naive.join('; ')}${skippedText}`);
  }
  out.push('');
  out.push('targets (informational; the exit code depends only on the accounts):');
  out.push(...targetLines(results, opts.sizes).map((l) => `  ${l}`));

  mkdirSync(opts.outDir, { recursive: true });
  const stem = `${localDate(date)}-${name}`;
  const jsonFile = join(opts.outDir, `${stem}.json`);
  const report = {
    date: date.toISOString(),
    machine: m,
    options: { quick: opts.quick, runs: opts.runs, sizes: opts.sizes, naiveMaxRows: opts.naiveMaxRows, configs: opts.configs },
    payrunDefaultWorkers: workers,
    loadAverage: { before: loadBefore, after: loadAfter },
    units: { time: 's', rss: 'MB = 10^6 bytes, from getrusage maxrss (KiB in runs[])', throughput: 'data rows/s and 10^6 bytes/s of input' },
    workloads: workloads.map((w) => ({ rows: w.rows, clients: w.clients, seed: w.seed, bytes: w.bytes, file: relative(root, w.file).startsWith('..') ? w.file : relative(root, w.file) })),
    results,
    accounts: { payrunIdentical: problems.length === 0, naive: naive.length === 0 ? 'not run' : naiveAll ? 'identical' : naive.join('; ') },
    targets: targetLines(results, opts.sizes),
  };
  writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  const svg = svgChart({
    title: `payrun benchmark, ${localDate(date)}`,
    subtitle: `${m.cpuModel}, ${m.cores} cores, Node ${m.node}; ${runsText}; workloads from payrun generate (-c 5000 --seed 42)`,
    configs: all.filter((c) => c.kind !== 'start').map((c) => ({ id: c.id, short: c.short })),
    workloads: opts.sizes,
    results,
  });
  const svgFile = join(opts.outDir, 'latest.svg');
  writeFileSync(join(opts.outDir, `${stem}.svg`), svg);
  copyFileSync(join(opts.outDir, `${stem}.svg`), svgFile);
  out.push('');
  out.push(`results: ${jsonFile}`);
  out.push(`chart:   ${svgFile} (and ${stem}.svg)`);
  process.stdout.write(`${out.join('\n')}\n`);

  if (problems.length === 0) rmSync(scratch, { recursive: true, force: true });
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
