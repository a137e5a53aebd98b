// The relay's kill test: a generated ledger's events relayed to the test payout API
// (payoutServer.mjs) with injected failures, the relay SIGKILLed at random moments and restarted
// until it finishes. Used by test/relayCrash.int.spec.ts (short) and scripts/relay-soak.ts
// (`npm run test:relay-soak`, 100k events, 20 kills). No vitest imports.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, mulberry32, ROOT } from './crashLoop.js';
import { PayoutServer, type ServerRecord } from './payoutServer.js';

export interface KillScenario {
  dir: string;
  rows: number;
  clients: number;
  seed: number;
  kills: number;
  /** A kill comes this many ms after a start, drawn uniformly. */
  killAfterMs: [number, number];
  rate?: number;
  concurrency: number;
  failRate: number;
  badTxMod: number;
  timeoutS: number;
  secret: string;
  /** Relay the cluster's events from Redis (a consumer group, --drain) instead of a file of `payrun stream`; `events` is `payrun events` of it, for the checks. */
  redis?: { url: string; group: string; events: string };
}

export interface KillReport {
  events: number;
  expected: number;
  bad: number;
  accepted: number;
  duplicates: number;
  requests: number;
  injectedFailures: number;
  kills: number;
  runs: number;
  missing: number[];
  acceptedTwice: number[];
  acceptedBad: number[];
  linesWithSeveralKeys: number[];
  deadLettered: number;
  deadLetterDuplicates: number;
  badMissingFromDeadLetters: number[];
  deadLettersWithoutStatus400: number;
  orderViolations: string[];
  secretInLogs: boolean;
  requestsWithoutAuth: number;
  retryingLines: number;
  /** Requests a second over the run, restart gaps (> 250 ms without a request) left out. */
  measuredRate: number;
  /** The most requests in any 10 s (sliding, by request), a second. */
  peakRate10s: number;
  seconds: number;
}

interface Event {
  line: number;
  result: string;
  client: number;
  tx: number;
}

function relayOnce(args: string[], secret: string, killAfter: number | undefined): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'relay', ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PAYRUN_RELAY_AUTHORIZATION: secret } });
    const err: Buffer[] = [];
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = killAfter === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfter);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** The events file of a generated ledger: `payrun generate`, then `payrun stream`. */
export function makeEvents(dir: string, rows: number, clients: number, seed: number): string {
  const csv = join(dir, 'tx.csv');
  const events = join(dir, 'events.ndjson');
  const g = spawnSync(process.execPath, [BIN, 'generate', '-q', '-n', String(rows), '-c', String(clients), '--seed', String(seed), csv]);
  if (g.status !== 0) throw new Error(`generate failed: ${g.stderr}`);
  const input = openSync(csv, 'r');
  const output = openSync(events, 'w');
  const s = spawnSync(process.execPath, [BIN, 'stream', '-q'], { stdio: [input, output, 'pipe'] });
  closeSync(input);
  closeSync(output);
  if (s.status !== 0) throw new Error(`stream failed: ${s.stderr}`);
  return events;
}

export async function runKillScenario(s: KillScenario): Promise<KillReport> {
  const started = performance.now();
  const eventsPath = s.redis?.events ?? makeEvents(s.dir, s.rows, s.clients, s.seed);
  const record = join(s.dir, 'requests.ndjson');
  const server = await PayoutServer.start({ failRate: s.failRate, kinds: [429, 503, 500, 'slow', 'drop', 'drop-early'], slowMs: s.timeoutS * 1000 + 300, badTxMod: s.badTxMod, record });
  const state = join(s.dir, 'state');
  const deadLetterPath = s.redis === undefined ? join(state, 'dead-letters.ndjson') : join(s.dir, 'dead-letters.ndjson');
  const from = s.redis === undefined ? ['--from', eventsPath, '--state', state] : ['--from', s.redis.url, '--group', s.redis.group, '--dead-letter', deadLetterPath, '--drain'];
  const args = [...from, '--to', server.url, '--concurrency', String(s.concurrency), '--timeout', String(s.timeoutS), '--max-attempts', '30'];
  if (s.rate !== undefined) args.push('--rate', `${s.rate}/s`);
  const random = mulberry32(s.seed);
  let kills = 0;
  let runs = 0;
  let logs = '';
  try {
    for (;;) {
      runs += 1;
      const killAfter = kills < s.kills ? s.killAfterMs[0] + random() * (s.killAfterMs[1] - s.killAfterMs[0]) : undefined;
      const run = await relayOnce(args, s.secret, killAfter);
      logs += run.stderr;
      if (run.signal === 'SIGKILL') kills += 1;
      else if (run.code === 0) break;
      else throw new Error(`relay run ${runs} ended with ${run.code ?? run.signal}: ${run.stderr.slice(-2000)}`);
    }
  } finally {
    await server.stop();
  }
  const events = readFileSync(eventsPath, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Event);
  return analyse(s, events, server.records(), deadLetterPath, logs, { kills, runs, seconds: (performance.now() - started) / 1000 });
}

function analyse(s: KillScenario, events: Event[], records: ServerRecord[], deadLetterPath: string, logs: string, run: { kills: number; runs: number; seconds: number }): KillReport {
  const applied = events.filter((e) => e.result === 'applied');
  const bad = new Set(applied.filter((e) => e.tx % s.badTxMod === 0).map((e) => e.line));
  const good = applied.filter((e) => !bad.has(e.line));
  const acceptedCount = new Map<number, number>();
  const keysOfLine = new Map<number, Set<string>>();
  const lastLineOfClient = new Map<number, number>();
  const orderViolations: string[] = [];
  for (const r of records) {
    for (const line of r.lines ?? []) keysOfLine.set(line, (keysOfLine.get(line) ?? new Set()).add(r.key));
    if (r.kind !== 'accepted') continue;
    r.lines.forEach((line, i) => {
      acceptedCount.set(line, (acceptedCount.get(line) ?? 0) + 1);
      const client = r.clients[i]!;
      if ((lastLineOfClient.get(client) ?? 0) > line) orderViolations.push(`client ${client}: line ${line} after ${lastLineOfClient.get(client)}`);
      lastLineOfClient.set(client, line);
    });
  }
  const deadLetters = existsSync(deadLetterPath) ? readFileSync(deadLetterPath, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { key: string; status?: number; events: Event[] }) : [];
  const deadKeys = new Set(deadLetters.map((d) => d.key));
  const deadLines = new Set(deadLetters.flatMap((d) => d.events.map((e) => e.line)));
  // One time per request: a request accepted and then answered slowly or dropped has a second record ('slow', 'drop') that is not a request.
  const times = records.filter((r) => r.kind !== 'slow' && r.kind !== 'drop').map((r) => r.t).sort((a, b) => a - b);
  let active = 0;
  for (let i = 1; i < times.length; i += 1) if (times[i]! - times[i - 1]! <= 250) active += times[i]! - times[i - 1]!;
  let peak = 0;
  for (let i = 0, j = 0; i < times.length; i += 1) {
    while (times[j]! <= times[i]! - 10_000) j += 1;
    peak = Math.max(peak, i - j + 1);
  }
  return {
    events: events.length,
    expected: good.length,
    bad: bad.size,
    accepted: [...acceptedCount.values()].reduce((a, b) => a + b, 0),
    duplicates: records.filter((r) => r.kind === 'duplicate').length,
    requests: records.length,
    injectedFailures: records.filter((r) => ['429', '503', '500', 'slow', 'drop', 'drop-early'].includes(r.kind)).length,
    kills: run.kills,
    runs: run.runs,
    missing: good.filter((e) => !acceptedCount.has(e.line)).map((e) => e.line),
    acceptedTwice: [...acceptedCount].filter(([, n]) => n > 1).map(([line]) => line),
    acceptedBad: [...bad].filter((line) => acceptedCount.has(line)),
    linesWithSeveralKeys: [...keysOfLine].filter(([, keys]) => keys.size > 1).map(([line]) => line),
    deadLettered: deadKeys.size,
    deadLetterDuplicates: deadLetters.length - deadKeys.size,
    badMissingFromDeadLetters: [...bad].filter((line) => !deadLines.has(line)),
    deadLettersWithoutStatus400: deadLetters.filter((d) => d.status !== 400).length,
    orderViolations,
    secretInLogs: logs.includes(s.secret),
    requestsWithoutAuth: records.filter((r) => r.auth !== s.secret).length,
    retryingLines: logs.split('\n').filter((l) => l.includes('"event":"retrying"')).length,
    measuredRate: active > 0 ? Math.round(((times.length - 1) / active) * 1000 * 10) / 10 : 0,
    peakRate10s: peak / 10,
    seconds: Math.round(run.seconds * 10) / 10,
  };
}
