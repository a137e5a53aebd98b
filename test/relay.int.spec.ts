// `payrun relay` through the real binary against the test payout API (a child process on a free
// loopback port): delivery, retries, Retry-After, timeouts, dropped connections, dead letters,
// secrets kept out of the logs, stdin, --types, --batch, signals, metrics and bad input.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, useBuiltBinary } from './support/builtBinary.js';
import { PayoutServer, type PayoutServerConfig, type ServerRecord } from './support/payoutServer.js';
import { makeEvents } from './support/relayKillRun.js';

interface Run {
  status: number | null;
  stderr: string;
  logs: { event: string; [field: string]: unknown }[];
}

function relay(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  const r = spawnSync(process.execPath, [BIN, 'relay', ...args], { cwd: ROOT, encoding: 'utf8', input: options.input, env: { ...process.env, ...options.env }, timeout: 60_000 });
  const logs = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Run['logs'][number]);
  return { status: r.status, stderr: r.stderr, logs };
}

/** A server for one test: started, used, stopped, its records read. */
async function withServer(tmp: string, name: string, config: PayoutServerConfig, use: (url: string) => Run | Promise<Run>): Promise<{ run: Run; records: ServerRecord[] }> {
  const server = await PayoutServer.start({ ...config, record: join(tmp, `${name}.requests.ndjson`) });
  try {
    const run = await use(server.url);
    await server.stop();
    return { run, records: server.records() };
  } finally {
    await server.stop();
  }
}

const accepted = (records: ServerRecord[]): number[] => records.filter((r) => r.kind === 'accepted').flatMap((r) => r.lines);
const appliedLines = (events: string, type?: string): number[] =>
  readFileSync(events, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { line: number; result: string; type: string })
    .filter((e) => e.result === 'applied' && (type === undefined || e.type === type))
    .map((e) => e.line);

describe('payrun relay', () => {
  const tmp = useBuiltBinary('payrun-relay-');
  let events = '';
  const file = (): string => (events ||= makeEvents(tmp(), 240, 60, 5));
  const common = (url: string, state: string): string[] => ['--from', file(), '--to', url, '--state', join(tmp(), state)];

  it('delivers every applied event once, with a stable key, and a second run sends nothing', async () => {
    const { run, records } = await withServer(tmp(), 'plain', {}, (url) => relay(common(url, 'plain')));
    expect(run.status, run.stderr).toBe(0);
    expect(accepted(records).sort((a, b) => a - b)).toEqual(appliedLines(file()));
    expect(records.every((r) => /^[0-9a-f]{16}:\d+$/.test(r.key))).toBe(true);
    expect(run.stderr.trim().split('\n').every((l) => l.startsWith('{'))).toBe(true);
    const summary = run.logs.find((l) => l.event === 'summary')!;
    expect(summary).toMatchObject({ events_delivered: appliedLines(file()).length, dead_letters: 0, retries: 0 });
    const again = await withServer(tmp(), 'plain-again', {}, (url) => relay(common(url, 'plain')));
    expect(again.run.logs.find((l) => l.event === 'summary')).toMatchObject({ events_delivered: 0, events_skipped_done_before: appliedLines(file()).length, requests: 0 });
  });

  it('retries 503 and 500 with backoff, and a timeout or a dropped connection; never accepts one twice', async () => {
    const { run, records } = await withServer(tmp(), 'faults', { failFirst: 1, kinds: [503, 'slow', 500, 'drop', 'drop-early'], retryAfter: '', slowMs: 1500 }, (url) =>
      relay([...common(url, 'faults'), '--timeout', '0.3', '--concurrency', '16']),
    );
    expect(run.status, run.stderr).toBe(0);
    const lines = accepted(records);
    expect(new Set(lines).size).toBe(lines.length);
    expect(lines.sort((a, b) => a - b)).toEqual(appliedLines(file()));
    const retrying = run.logs.filter((l) => l.event === 'retrying');
    expect(retrying.length).toBeGreaterThanOrEqual(appliedLines(file()).length);
    expect(retrying.every((l) => typeof l.wait_ms === 'number')).toBe(true);
    expect(retrying.some((l) => l.error === 'timeout after 300 ms')).toBe(true);
    expect(retrying.some((l) => l.status === 503)).toBe(true);
    expect(records.some((r) => r.kind === 'duplicate')).toBe(true);
  });

  it('429 with Retry-After: waits what the server asks, logs rate_limited', async () => {
    const few = join(tmp(), 'few.ndjson');
    writeFileSync(few, `${readFileSync(file(), 'utf8').split('\n').filter((l) => l.includes('"applied"')).slice(0, 2).join('\n')}\n`);
    const { run, records } = await withServer(tmp(), 'retry-after', { failFirst: 1, kinds: [429], retryAfter: '1' }, (url) =>
      relay(['--from', few, '--to', url, '--state', join(tmp(), 'retry-after'), '--concurrency', '1']),
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.logs.filter((l) => l.event === 'rate_limited').map((l) => l.retry_after_ms)).toEqual([1000, 1000]);
    for (const key of new Set(records.map((r) => r.key))) {
      const [refused, ok] = records.filter((r) => r.key === key);
      expect(refused!.kind).toBe('429');
      expect(ok!.t - refused!.t).toBeGreaterThanOrEqual(950);
    }
  });

  it('a 400 and used-up attempts go to the dead-letter file with the last status and body; the relay goes on', async () => {
    const deadLetter = join(tmp(), 'dead.ndjson');
    const { run, records } = await withServer(tmp(), 'dead', { badTxMod: 7 }, (url) => relay([...common(url, 'dead'), '--dead-letter', deadLetter]));
    expect(run.status, run.stderr).toBe(0);
    const dead = readFileSync(deadLetter, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; status: number; body: string; reason: string; events: { tx: number }[] });
    expect(dead.length).toBeGreaterThan(0);
    expect(dead.every((d) => d.status === 400 && d.reason === 'permanent' && d.body.includes('invalid beneficiary') && d.events[0]!.tx % 7 === 0)).toBe(true);
    expect(accepted(records).length + dead.length).toBe(appliedLines(file()).length);
    expect(run.logs.filter((l) => l.event === 'dead_letter').length).toBe(dead.length);

    const exhausted = await withServer(tmp(), 'exhausted', { failFirst: 5, kinds: [500] }, (url) => relay([...common(url, 'exhausted'), '--max-attempts', '2', '--types', 'withdrawal']));
    expect(exhausted.run.status, exhausted.run.stderr).toBe(0);
    const lines = readFileSync(join(tmp(), 'exhausted', 'dead-letters.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { status: number; reason: string; attempts: number });
    expect(lines.length).toBe(appliedLines(file(), 'withdrawal').length);
    expect(lines.every((d) => d.status === 500 && d.reason === 'attempts' && d.attempts === 2)).toBe(true);
  });

  it('sends --header and PAYRUN_RELAY_AUTHORIZATION, and never logs their values', async () => {
    const secret = 'Bearer tok-9d1e77c0';
    const { run, records } = await withServer(tmp(), 'secret', { failFirst: 1, kinds: [503, 400] }, (url) =>
      relay([...common(url, 'secret'), '--header', 'X-Team: payouts-7c1', '--types', 'withdrawal'], { env: { PAYRUN_RELAY_AUTHORIZATION: secret } }),
    );
    expect(run.status, run.stderr).toBe(0);
    expect(records.every((r) => r.auth === secret)).toBe(true);
    expect(run.stderr).not.toContain('tok-9d1e77c0');
    expect(run.stderr).not.toContain('payouts-7c1');
    const dead = readFileSync(join(tmp(), 'secret', 'dead-letters.ndjson'), 'utf8');
    expect(dead).not.toContain('tok-9d1e77c0');
    const twice = relay(['--from', file(), '--to', 'http://127.0.0.1:9/x', '--state', join(tmp(), 'twice'), '--header', `Authorization: ${secret}`], { env: { PAYRUN_RELAY_AUTHORIZATION: secret } });
    expect(twice.status).toBe(2);
    expect(twice.stderr).toBe("payrun: Authorization is given twice: by --header and by PAYRUN_RELAY_AUTHORIZATION (see 'payrun relay --help')\n");
    const bad = relay(['--from', file(), '--to', 'http://127.0.0.1:9/x', '--state', join(tmp(), 'twice'), '--header', 'Bearer tok-9d1e77c0']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).not.toContain('tok-9d1e77c0');
  });

  it("reads standard input ('-'); --types and --batch: arrays of up to N events, keyed by their first and last line", async () => {
    const withdrawals = appliedLines(file(), 'withdrawal');
    const { run, records } = await withServer(tmp(), 'stdin', {}, (url) =>
      relay(['--from', '-', '--to', url, '--state', join(tmp(), 'stdin'), '--types', 'withdrawal', '--batch', '4'], { input: readFileSync(file(), 'utf8') }),
    );
    expect(run.status, run.stderr).toBe(0);
    expect(accepted(records).sort((a, b) => a - b)).toEqual(withdrawals);
    // The key names lines of the relay's input (here one above the CSV lines the events carry: the CSV has a header).
    expect(records.every((r) => r.lines.length <= 4 && r.key.endsWith(`:${r.lines[0]! - 1}-${r.lines.at(-1)! - 1}`))).toBe(true);
    expect(records.filter((r) => r.lines.length === 4).length).toBe(Math.floor(withdrawals.length / 4));
  });

  it('SIGTERM and SIGINT: the requests in flight finish, one line, exit 143 / 130; the next run sends the rest once', async () => {
    for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
      const state = join(tmp(), `signal-${signal}`);
      const { records } = await withServer(tmp(), `signal-${signal}`, { latencyMs: 40 }, async (url) => {
        const child = spawn(process.execPath, [BIN, 'relay', ...common(url, `signal-${signal}`), '--concurrency', '2'], { cwd: ROOT });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        // Once it runs (Node's start-up on a busy machine can take a second), and mid-way.
        for (let i = 0; i < 100 && !stderr.includes('"event":"started"'); i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
        await new Promise((resolve) => setTimeout(resolve, 500));
        child.kill(signal);
        const exit = await new Promise<number | null>((resolve) => child.on('close', resolve));
        expect(exit, stderr).toBe(code);
        const plain = stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'));
        expect(plain).toEqual([expect.stringMatching(new RegExp(`^payrun: relay stopped by ${signal}; \\d+ events delivered this run, the requests in flight finished; --state '.*' holds the position: run the same command to resume$`))]);
        const rest = relay(['--from', file(), '--to', url, '--state', state, '--concurrency', '16']);
        expect(rest.status, rest.stderr).toBe(0);
        return rest;
      });
      const lines = accepted(records);
      expect(lines.sort((a, b) => a - b)).toEqual(appliedLines(file()));
    }
  });

  it('SIGTERM while standard input is silent: exit 143', async () => {
    const child = spawn(process.execPath, [BIN, 'relay', '--from', '-', '--to', 'http://127.0.0.1:9/x', '--state', join(tmp(), 'silent')], { cwd: ROOT, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise((resolve) => setTimeout(resolve, 2500)); // started and waiting for its first line (stdin stays open)
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(143);
    expect(stderr).toMatch(/payrun: (relay )?stopped by SIGTERM/);
  });

  it('--metrics-port serves Prometheus text while it runs', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    await withServer(tmp(), 'metrics', { latencyMs: 30 }, async (url) => {
      const child = spawn(process.execPath, [BIN, 'relay', ...common(url, 'metrics'), '--concurrency', '1', '--metrics-port', String(port)], { cwd: ROOT });
      let text = '';
      for (let i = 0; i < 100 && !/^payrun_relay_requests_total\{status="200"\} [1-9]/m.test(text); i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
      }
      child.kill('SIGTERM');
      await new Promise((resolve) => child.on('close', resolve));
      expect(text).toMatch(/^# HELP payrun_relay_events_delivered_total/m);
      expect(text).toMatch(/^payrun_relay_requests_total\{status="200"\} \d+$/m);
      expect(text).toMatch(/^payrun_relay_low_water_line \d+$/m);
      return { status: 0, stderr: '', logs: [] };
    });
  });

  it('--rate: loosely, never much more requests in two seconds than the rate and its burst allow', async () => {
    const { run, records } = await withServer(tmp(), 'rate', {}, (url) => relay([...common(url, 'rate'), '--rate', '100/s', '--concurrency', '16']));
    expect(run.status, run.stderr).toBe(0);
    // Server-side times: a busy machine can bunch arrivals, so the bound has slack (the soak checks 5%).
    const times = records.map((r) => r.t).sort((a, b) => a - b);
    let most = 0;
    for (let i = 0, j = 0; i < times.length; i += 1) {
      while (times[j]! < times[i]! - 2000) j += 1;
      most = Math.max(most, i - j + 1);
    }
    expect(most).toBeLessThanOrEqual(200 + 10 + 20);
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(((times.length - 10) / 100) * 1000 * 0.9);
  });

  it('bad input and bad options: one line, exit 1 or 2', async () => {
    const url = 'http://127.0.0.1:9/payouts';
    const usage = (args: string[], message: string): void => {
      const r = relay(args);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toBe(`payrun: ${message} (see 'payrun relay --help')\n`);
    };
    usage(['--from', file(), '--to', 'ftp://x/y', '--state', join(tmp(), 'x')], '--to must be an http:// or https:// URL');
    usage(['--from', file(), '--to', url, '--state', join(tmp(), 'x'), '--rate', 'fast'], '--rate must be N/s with N above 0 and at most 1000000 (e.g. 50/s)');
    usage(['--from', file(), '--to', url, '--state', join(tmp(), 'x'), '--types', 'refund'], "--types takes deposit, withdrawal, dispute, resolve, chargeback (comma-separated); not 'refund'");
    usage(['--to', url, '--state', join(tmp(), 'x')], 'give --from FILE|-|redis://host:port[/db], or --redis-cluster URL[,URL...]');
    usage(['--from', file(), '--to', url], '--state DIR is needed with a file or standard input source: it holds the position');

    const missing = relay(['--from', join(tmp(), 'none.ndjson'), '--to', url, '--state', join(tmp(), 'x')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^payrun: cannot read '.*none\.ndjson': no such file or directory\n$/);

    const broken = join(tmp(), 'broken.ndjson');
    writeFileSync(broken, `${readFileSync(file(), 'utf8').split('\n').slice(0, 2).join('\n')}\ntype,client,tx,amount\n`);
    const bad = await withServer(tmp(), 'broken', {}, (u) => relay(['--from', broken, '--to', u, '--state', join(tmp(), 'broken')]));
    expect(bad.run.status).toBe(1);
    expect(bad.run.stderr.split('\n').filter((l) => !l.startsWith('{'))).toEqual([`payrun: not an event of payrun stream (not JSON) (${broken}:3)`, '']);

    const shifted = join(tmp(), 'shifted.ndjson');
    writeFileSync(shifted, readFileSync(file(), 'utf8').split('\n').slice(1).join('\n'));
    const other = relay(['--from', shifted, '--to', url, '--state', join(tmp(), 'broken')]);
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/^payrun: --state '.*broken' belongs to another input \(source id [0-9a-f]{16}, this input's is [0-9a-f]{16}\); use another --state directory\n$/);
  });
});
