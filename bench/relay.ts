// Delivered events/s of `payrun relay` at --concurrency 1, 8 and 64 (and 64 with --batch 10)
// against the local test payout API (test/support/payoutServer.mjs) answering every request in
// 5 ms, no failures, no --rate. Each config relays the first N applied events of one generated
// ledger to a fresh --state and a fresh server; events/s is the relay's own summary (from its
// start to its last acknowledgement, fsyncs of the delivered log included); wall time includes
// Node's start-up; relay CPU a request is the summary's cpu_seconds (the run's own user + system
// CPU, start-up left out) over its requests. Median of --runs (3). Prints a table and writes bench/results/<date>-relay.json.
//
//   npx tsx bench/relay.ts [--runs N] [--latency MS]     (npm run bench:relay builds first)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeEvents } from '../test/support/relayKillRun.js';
import { PayoutServer } from '../test/support/payoutServer.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(root, 'bin', 'payrun');
const log = (line: string): void => void process.stderr.write(`bench: ${line}\n`);

const argv = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = argv.indexOf(name);
  return i < 0 ? fallback : Number(argv[i + 1]);
};
const runs = flag('--runs', 3);
const latencyMs = flag('--latency', 5);

/** Events per config: enough for a few seconds at the expected speed. */
const CONFIGS = [
  { name: '--concurrency 1', args: ['--concurrency', '1'], events: 1500 },
  { name: '--concurrency 8', args: ['--concurrency', '8'], events: 10_000 },
  { name: '--concurrency 64', args: ['--concurrency', '64'], events: 30_000 },
  { name: '--concurrency 64 --batch 10', args: ['--concurrency', '64', '--batch', '10'], events: 30_000 },
];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = mkdtempSync(join(tmpdir(), 'payrun-bench-relay-'));
try {
  log('generating 32,000 rows over 5,000 clients (seed 11) and their events...');
  const all = readFileSync(makeEvents(dir, 32_000, 5000, 11), 'utf8').split('\n').filter((l) => l.includes('"applied"'));
  const loadBefore = loadavg();
  const results = [];
  for (const config of CONFIGS) {
    const events = join(dir, `events-${config.events}.ndjson`);
    writeFileSync(events, `${all.slice(0, config.events).join('\n')}\n`);
    const perRun: { eventsPerSecond: number; wallSeconds: number; cpuMicrosecondsPerRequest: number }[] = [];
    for (let run = 0; run < runs; run += 1) {
      const server = await PayoutServer.start({ latencyMs });
      const state = join(dir, `state-${results.length}-${run}`);
      const started = performance.now();
      const r = spawnSync(process.execPath, [BIN, 'relay', '--from', events, '--to', server.url, '--state', state, ...config.args], { encoding: 'utf8' });
      const wallSeconds = (performance.now() - started) / 1000;
      await server.stop();
      rmSync(state, { recursive: true, force: true });
      const summary = r.stderr.split('\n').find((l) => l.includes('"event":"summary"'));
      if (r.status !== 0 || summary === undefined) throw new Error(`${config.name}: exit ${r.status}: ${r.stderr.slice(-500)}`);
      const s = JSON.parse(summary) as { events_delivered: number; events_per_second: number; requests: number; cpu_seconds: number };
      if (s.events_delivered !== config.events) throw new Error(`${config.name}: delivered ${s.events_delivered} of ${config.events}`);
      const cpuMicrosecondsPerRequest = Math.round((s.cpu_seconds * 1e6) / s.requests);
      perRun.push({ eventsPerSecond: s.events_per_second, wallSeconds: Math.round(wallSeconds * 1000) / 1000, cpuMicrosecondsPerRequest });
      log(`${config.name}: run ${run + 1}: ${s.events_per_second} events/s, ${wallSeconds.toFixed(2)} s wall, ${cpuMicrosecondsPerRequest} us relay CPU a request`);
    }
    results.push({
      config: config.name,
      events: config.events,
      medianEventsPerSecond: median(perRun.map((p) => p.eventsPerSecond)),
      medianWallSeconds: median(perRun.map((p) => p.wallSeconds)),
      medianCpuMicrosecondsPerRequest: median(perRun.map((p) => p.cpuMicrosecondsPerRequest)),
      runs: perRun,
    });
  }
  const report = {
    date: new Date().toISOString(),
    machine: { cpuModel: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), totalMemGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10, node: process.version, platform: `${process.platform} ${arch()} ${release()}` },
    options: { latencyMs, runs, server: 'test/support/payoutServer.mjs (child process, node:http, dedupe by key)', generate: 'payrun generate -n 32000 -c 5000 --seed 11 | payrun stream' },
    loadAverage: { before: loadBefore, after: loadavg() },
    results,
  };
  console.log(`| relay, server answering in ${latencyMs} ms | events | events/s (median of ${runs}) | wall s | relay CPU µs a request |`);
  console.log('|---|---:|---:|---:|---:|');
  for (const r of results) console.log(`| \`${r.config}\` | ${r.events.toLocaleString('en-US')} | ${r.medianEventsPerSecond.toLocaleString('en-US')} | ${r.medianWallSeconds} | ${r.medianCpuMicrosecondsPerRequest} |`);
  const out = join(root, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const file = join(out, `${report.date.slice(0, 10)}-relay.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${file}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
