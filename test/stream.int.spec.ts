// `payrun stream` through the real built binary: a generated file piped through it equals the
// batch run (accounts, rejects, one event per data row in order); a slow never-ending producer
// gets each event as soon as its line is written; --journal carries accounts across stream and
// batch runs; a stream killed with SIGKILL leaves a journal the next stream run takes over.
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, useBuiltBinary } from './support/builtBinary.js';

const RUN_TIMEOUT_MS = 60_000;
const WAIT_MS = 10_000;
const HEADER = 'type,client,tx,amount';
/** Said once by a --journal stream without --source (test/streamSource.int.spec.ts covers --source). */
const NOT_DEDUPLICATED = 'stream without --source: a restart is a new input, so rows fed to it again are applied again (--source NAME resumes a named source after its rows)';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function payrun(args: string[], input: string | Buffer = ''): Run {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, input, timeout: RUN_TIMEOUT_MS, maxBuffer: 512 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout.toString('utf8'), stderr: result.stderr.toString('utf8') };
}

function payrunOk(args: string[], input: string | Buffer = ''): Run {
  const r = payrun(args, input);
  expect(r.status, r.stderr).toBe(0);
  return r;
}

type Event = Record<string, unknown> & { line: number; result: string };

function parseEvents(stdout: string): Event[] {
  expect(stdout === '' || stdout.endsWith('\n')).toBe(true);
  return stdout
    .split('\n')
    .slice(0, -1)
    .map((line) => JSON.parse(line) as Event);
}

/** A `payrun stream` child fed by hand: its events as they arrive, its exit. */
class StreamChild {
  readonly child: ChildProcessWithoutNullStreams;
  readonly events: Event[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private partial = '';
  private waiters: Array<() => void> = [];

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [BIN, 'stream', ...args], { cwd: ROOT });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (text: string) => {
      const lines = (this.partial + text).split('\n');
      this.partial = lines.pop()!;
      for (const line of lines) this.events.push(JSON.parse(line) as Event);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (text: string) => {
      this.stderr += text;
    });
    this.child.stdin.on('error', () => undefined); // a killed child: writes to it may fail
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  write(text: string): void {
    this.child.stdin.write(text);
  }

  /** Resolves once `count` events have arrived; fails after WAIT_MS. */
  async waitFor(count: number): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (this.events.length < count) {
      if (Date.now() > deadline) throw new Error(`waited ${WAIT_MS} ms for ${count} events, got ${this.events.length}; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async end(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.stdin.end();
    return this.exited;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A well-formed-looking field: trimmed of spaces, tabs and its quotes. */
function field(text: string | undefined): string {
  return (text ?? '').trim().replace(/^"|"$/g, '').trim();
}

const tempDir = useBuiltBinary('payrun-stream-');
let file = '';
let text = '';
/** The input's physical lines (without terminators) and the 1-based line numbers of its data rows. */
let lines: string[] = [];
let dataLines: number[] = [];
let batchAccounts = '';
let batchRejects = '';

const tmp = (name: string): string => join(tempDir(), name);

/** The input as a CSV of its data rows from..to (0-based, end exclusive), header first. */
function rowsCsv(from: number, to: number): string {
  return [HEADER, ...dataLines.slice(from, to).map((n) => lines[n - 1]!)].join('\n') + '\n';
}

beforeAll(() => {
  file = tmp('f.csv');
  payrunOk(['generate', '-n', '100000', '-c', '1000', '--seed', '3', '-q', file]);
  text = readFileSync(file, 'utf8');
  lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines = lines.map((line) => line.replace(/\r$/, ''));
  const headerAt = lines.findIndex((line) => line.trim() !== '');
  dataLines = [];
  lines.forEach((line, i) => {
    if (i > headerAt && line.trim() !== '') dataLines.push(i + 1);
  });
  expect(dataLines.length).toBe(100_000);
  const rejects = tmp('batch-rejects.csv');
  batchAccounts = payrunOk([file, '-q', '--rejects', rejects]).stdout;
  batchRejects = readFileSync(rejects, 'utf8');
}, RUN_TIMEOUT_MS);

describe('payrun stream on a generated file', () => {
  it('--accounts equals the batch run; one event per data row, in order, matching the rows and the batch rejects', () => {
    const accounts = tmp('stream-accounts.csv');
    const r = payrunOk(['stream', '--accounts', accounts], text);
    expect(readFileSync(accounts, 'utf8')).toBe(batchAccounts);
    expect(r.stderr).toMatch(/^payrun: 100,000 rows read, [\d,]+ applied, [\d,]+ rejected\n/);

    const events = parseEvents(r.stdout);
    expect(events.length).toBe(dataLines.length);
    expect(events.map((e) => e.line)).toEqual(dataLines);
    const rejected: string[] = [];
    const last = new Map<number, Event>();
    for (const event of events) {
      const row = lines[event.line - 1]!;
      if (event.result === 'rejected') rejected.push(`${event.line},${String(event.reason)}`);
      else expect(event.result).toBe('applied');
      if (event.type === undefined) {
        // Not well-formed: the row's text, no account.
        expect(event.row).toBe(row);
        expect(event.client).toBeUndefined();
        continue;
      }
      const fields = row.split(',');
      expect(event.type).toBe(field(fields[0]).toLowerCase());
      expect(event.client).toBe(Number(field(fields[1])));
      expect(event.tx).toBe(Number(field(fields[2])));
      last.set(event.client as number, event);
    }
    const batchRejected = batchRejects.trimEnd().split('\n').slice(1).map((line) => line.split(',').slice(0, 2).join(','));
    expect(rejected).toEqual(batchRejected);
    // Each client's last event carries its final balances.
    for (const row of batchAccounts.trimEnd().split('\n').slice(1)) {
      const [client, available, held, total, locked] = row.split(',');
      const event = last.get(Number(client));
      expect(event, `client ${client}`).toBeDefined();
      expect([event!.available, event!.held, event!.total, String(event!.locked)]).toEqual([available, held, total, locked]);
    }
  });

  it('a bad header is fatal: exit 1, one line, no events', () => {
    const accounts = tmp('bad-header.csv');
    const r = payrun(['stream', '--accounts', accounts], '\ntype,client,amount,tx\ndeposit,1,1,1\n');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("payrun: bad header, expected 'type,client,tx,amount' (stdin:2), found 'type,client,amount,tx'\n");
    expect(r.stdout).toBe('');
    expect(existsSync(accounts)).toBe(false);
  });

  it('an empty input is no rows: exit 0, no events, the accounts header only', () => {
    const accounts = tmp('empty.csv');
    const r = payrunOk(['stream', '-q', '--accounts', accounts], '');
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('');
    expect(readFileSync(accounts, 'utf8')).toBe('client,available,held,total,locked\n');
  });

  it('a closed stdout ends quietly with exit 0, and --accounts holds what was applied', async () => {
    const journal = tmp('epipe-journal');
    const accounts = tmp('epipe-accounts.csv');
    const child = spawn(process.execPath, [BIN, 'stream', '--journal', journal, '--accounts', accounts], { cwd: ROOT });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.on('error', () => undefined);
    child.stdout.once('data', () => child.stdout.destroy());
    child.stdin.end(text);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(stderr).toBe(`payrun: ${NOT_DEDUPLICATED}\n`); // a journal and no --source
    // The rows it applied are journaled and in the accounts file alike.
    expect(readFileSync(accounts, 'utf8')).toBe(payrunOk(['journal', 'replay', journal]).stdout);
    payrunOk(['journal', 'verify', journal]);
  });
});

describe('a slow, never-ending producer', () => {
  it('gets the events of each line as soon as it is written, not at EOF', async () => {
    const accounts = tmp('slow-accounts.csv');
    const s = new StreamChild(['--accounts', accounts]);
    s.write(`\uFEFF${HEADER}\r\ndeposit,1,1,10\r\n`);
    await s.waitFor(1);
    expect(s.events[0]).toMatchObject({ line: 2, result: 'applied', client: 1, available: '10.0000' });

    s.write('withdrawal,1,2,3\n\ndeposit,2,3,1.5\n');
    await s.waitFor(3);
    expect(s.events.slice(1)).toMatchObject([
      { line: 3, result: 'applied', type: 'withdrawal', available: '7.0000' },
      { line: 5, result: 'applied', client: 2, available: '1.5000' },
    ]);

    // Half a line is not a row yet; its end makes it one.
    s.write('dispute,1,');
    await sleep(300);
    expect(s.events.length).toBe(3);
    s.write('1\nbogus,1,9,1\n');
    await s.waitFor(5);
    expect(s.events.slice(3)).toMatchObject([
      { line: 6, result: 'applied', type: 'dispute', available: '-3.0000', held: '10.0000', total: '7.0000' },
      { line: 7, result: 'rejected', reason: 'UNKNOWN_TYPE', row: 'bogus,1,9,1' },
    ]);

    // The accounts file follows while the stream is still open (rewritten at most every ~200 ms).
    const expected = 'client,available,held,total,locked\n1,-3.0000,10.0000,7.0000,false\n2,1.5000,0.0000,1.5000,false\n';
    const deadline = Date.now() + WAIT_MS;
    while (!(existsSync(accounts) && readFileSync(accounts, 'utf8') === expected) && Date.now() < deadline) await sleep(50);
    expect(readFileSync(accounts, 'utf8')).toBe(expected);

    const { code } = await s.end();
    expect(code).toBe(0);
    expect(s.events.length).toBe(5);
    expect(s.stderr).toMatch(/^payrun: 5 rows read, 4 applied, 1 rejected\n {2}rejected by reason: UNKNOWN_TYPE 1\n/);
  });

  it('without --journal, SIGINT ends it like EOF: the summary, exit 130', async () => {
    const accounts = tmp('sigint-accounts.csv');
    const s = new StreamChild(['--accounts', accounts]);
    s.write(`${HEADER}\ndeposit,5,1,2\n`);
    await s.waitFor(1);
    s.child.kill('SIGINT');
    const { code } = await s.exited;
    expect(code).toBe(130);
    expect(s.stderr).toMatch(/^payrun: 1 row read, 1 applied, 0 rejected\n/);
    expect(readFileSync(accounts, 'utf8')).toBe('client,available,held,total,locked\n5,2.0000,0.0000,2.0000,false\n');
  });
});

describe('payrun stream --journal', () => {
  it('half the rows in one stream run, the other half in a second: the batch run\'s accounts', () => {
    const journal = tmp('halves');
    const accounts = tmp('halves-accounts.csv');
    const half = dataLines.length / 2;
    const first = parseEvents(payrunOk(['stream', '-q', '--journal', journal, '--accounts', accounts], rowsCsv(0, half)).stdout);
    expect(first.length).toBe(half);
    const second = payrunOk(['stream', '--journal', journal, '--accounts', accounts], rowsCsv(half, dataLines.length));
    expect(parseEvents(second.stdout).length).toBe(half);
    expect(second.stderr).not.toMatch(/closed the unfinished/);
    expect(readFileSync(accounts, 'utf8')).toBe(batchAccounts);
    const verify = payrunOk(['journal', 'verify', journal]);
    // A stream input's id is printed in full (a file's SHA-256 is cut to 12 hex digits).
    expect(verify.stdout).toMatch(/\n {2}input 1: stdin id stream:stdin:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z:\d+ 50000 rows \(\d+ rejected\), applied\n/);
    expect(verify.stdout).toMatch(/\n {2}input 2: stdin id stream:stdin:[^\n ]+:\d+ 50000 rows \(\d+ rejected\), applied\n/);
    expect(payrunOk(['journal', 'replay', journal]).stdout).toBe(batchAccounts);
  });

  it('carries accounts over between batch and stream runs on one journal', () => {
    const third = Math.floor(dataLines.length / 3);
    const journal = tmp('mixed');
    const day1 = tmp('day1.csv');
    const day3 = tmp('day3.csv');
    writeFileSync(day1, rowsCsv(0, third));
    writeFileSync(day3, rowsCsv(2 * third, dataLines.length));
    payrunOk(['--journal', journal, '-q', day1]);
    const accounts = tmp('mixed-accounts.csv');
    payrunOk(['stream', '-q', '--journal', journal, '--fsync', 'always', '--accounts', accounts], rowsCsv(third, 2 * third));
    const end = payrunOk(['--journal', journal, '-q', day3]);
    expect(end.stdout).toBe(batchAccounts);
    payrunOk(['journal', 'verify', journal]);
  });

  it('SIGTERM: the current group finished, snapshot, exit 143 with one line; the next run needs nothing closed', async () => {
    const journal = tmp('sigterm');
    const s = new StreamChild(['--journal', journal]);
    s.write(`${HEADER}\ndeposit,9,1,4\ndeposit,9,2,1\n`);
    await s.waitFor(2);
    s.child.kill('SIGTERM');
    const { code } = await s.exited;
    expect(code).toBe(143);
    expect(s.stderr).toBe(`payrun: ${NOT_DEDUPLICATED}\npayrun: stream stopped by SIGTERM after line 3 of stdin; journal '${journal}' holds every row so far\n`);
    expect(readdirSync(journal).filter((name) => name.startsWith('snapshot-'))).toHaveLength(1);
    const next = payrunOk(['stream', '--journal', journal, '--accounts', tmp('sigterm-accounts.csv')], `${HEADER}\nwithdrawal,9,3,5\n`);
    expect(next.stderr).not.toMatch(/closed the unfinished/);
    expect(parseEvents(next.stdout)).toMatchObject([{ line: 2, result: 'applied', available: '0.0000' }]);
    expect(payrunOk(['journal', 'verify', journal]).stdout).toMatch(/\nok\n$/);
  });

  it('kill -9 while rows flow: the next stream run closes the old input and goes on; the accounts equal the batch run', async () => {
    const journal = tmp('killed');
    const s = new StreamChild(['--journal', journal]);
    // Rows flow in pieces; the kill lands while more are still being written.
    const input = rowsCsv(0, dataLines.length);
    let written = 0;
    const writer = (async () => {
      while (written < input.length && s.child.exitCode === null && s.child.signalCode === null) {
        const next = Math.min(input.length, written + 4096 + Math.floor(Math.random() * 4096));
        s.write(input.slice(written, next));
        written = next;
        await sleep(1);
      }
    })();
    await s.waitFor(5_000);
    s.child.kill('SIGKILL');
    const { signal } = await s.exited;
    await writer;
    expect(signal).toBe('SIGKILL');
    const acknowledged = s.events.length;
    expect(acknowledged).toBeLessThan(dataLines.length);

    // The journal holds at least every acknowledged row; the next run says up to which line.
    const accounts = tmp('killed-accounts.csv');
    const probe = payrunOk(['stream', '--journal', journal, '--accounts', accounts], '');
    const closed = /closed the unfinished stream input 1 \((\d+) rows applied, up to line (\d+)\)/.exec(probe.stderr);
    expect(closed, probe.stderr).not.toBeNull();
    const rows = Number(closed![1]);
    const upTo = Number(closed![2]);
    expect(rows).toBeGreaterThanOrEqual(acknowledged);
    // rowsCsv(0, n) has the header on line 1 and row k on line k + 1.
    expect(upTo).toBe(rows + 1);

    const rest = payrunOk(['stream', '--journal', journal, '--accounts', accounts], rowsCsv(rows, dataLines.length));
    expect(rest.stderr).not.toMatch(/closed the unfinished/);
    expect(parseEvents(rest.stdout).length).toBe(dataLines.length - rows);
    expect(readFileSync(accounts, 'utf8')).toBe(batchAccounts);
    payrunOk(['journal', 'verify', journal]);
  });

  it('kill -9 while rows flow, then a file run on the journal: it closes the stream input with one warning and goes on from its rows', async () => {
    const journal = tmp('killed-then-file');
    const s = new StreamChild(['--journal', journal]);
    const input = rowsCsv(0, dataLines.length);
    let written = 0;
    const writer = (async () => {
      while (written < input.length && s.child.exitCode === null && s.child.signalCode === null) {
        const next = Math.min(input.length, written + 4096 + Math.floor(Math.random() * 4096));
        s.write(input.slice(written, next));
        written = next;
        await sleep(1);
      }
    })();
    await s.waitFor(3_000);
    s.child.kill('SIGKILL');
    const { signal } = await s.exited;
    await writer;
    expect(signal).toBe('SIGKILL');
    const acknowledged = s.events.length;
    expect(acknowledged).toBeLessThan(dataLines.length);
    const before = payrunOk(['journal', 'verify', journal]).stdout;
    expect(before).toMatch(/\n {2}input 1: stdin id stream:stdin:\S+ \d+ rows \(\d+ rejected\), unfinished at line \d+\n/);
    const journaled = Number(/input 1: stdin id \S+ (\d+) rows/.exec(before)![1]);
    expect(journaled).toBeGreaterThanOrEqual(acknowledged);

    // The rest of the rows, as a file: the stream's rows then the file's make the whole input.
    const rest = tmp('killed-then-file-rest.csv');
    writeFileSync(rest, rowsCsv(journaled, dataLines.length));
    const r = payrunOk(['--journal', journal, rest]);
    const warnings = r.stderr.split('\n').filter((line) => line.includes('unfinished'));
    expect(warnings).toEqual([
      `payrun: journal '${journal}': closed the unfinished stream input 1 (${journaled} rows applied, up to line ${journaled + 1}), left by a stream run that did not end; its rows stay applied`,
    ]);
    expect(r.stderr).toMatch(new RegExp(`\\npayrun: ${(dataLines.length - journaled).toLocaleString('en-US')} rows read, `));
    expect(r.stdout).toBe(batchAccounts);

    const after = payrunOk(['journal', 'verify', journal]).stdout;
    expect(after).toMatch(new RegExp(`\\n {2}input 1: stdin id stream:stdin:\\S+ ${journaled} rows \\(\\d+ rejected\\), applied\\n {2}input 2: [^\\n]*killed-then-file-rest\\.csv sha256 [0-9a-f]{12} ${dataLines.length - journaled} rows \\(\\d+ rejected\\), applied\\nok\\n$`));
    expect(payrunOk(['journal', 'replay', journal]).stdout).toBe(batchAccounts);
    // Closed once: the same file again is a no-op, with no warning.
    const again = payrunOk(['--journal', journal, rest]);
    expect(again.stderr).not.toMatch(/unfinished|closed/);
    expect(again.stderr).toMatch(/already applied/);
    expect(again.stdout).toBe(batchAccounts);
  });

  it('an unfinished file run on the journal is refused, with one line', async () => {
    const journal = tmp('unfinished-file');
    const big = tmp('big.csv');
    payrunOk(['generate', '-n', '3000000', '-c', '1000', '--seed', '5', '-q', big]);
    // A batch run stopped by SIGINT leaves its file unfinished (resumable).
    const child = spawn(process.execPath, [BIN, '--journal', journal, '-q', '--snapshot-every', '100000000', '-o', tmp('big-out.csv'), big], { cwd: ROOT });
    child.stderr.resume();
    const log = join(journal, 'journal.log');
    const deadline = Date.now() + WAIT_MS;
    // Stop it once its first batch is journaled (the journal holds more than its start records).
    while (!(existsSync(log) && readFileSync(log).length > 4096) && Date.now() < deadline) await sleep(5);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, 'the batch run was stopped mid-file').toBe(130);
    const r = payrun(['stream', '--journal', journal], `${HEADER}\ndeposit,1,1,1\n`);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^payrun: journal '[^']+' has an unfinished run of '[^']*big\.csv' \(sha256 [0-9a-f]{12}, \d+ rows applied, up to line \d+\); run that file again to finish it before streaming \(or undo its rows with 'payrun journal abandon [^']+'\)\n$/);
    expect(r.stdout).toBe('');
  });
});
