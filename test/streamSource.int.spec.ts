// `payrun stream --journal D --source NAME` through the real binary (issue 14 item 1): a stream
// stopped (SIGTERM) or killed (SIGKILL) and restarted with the same source, fed the whole file
// again as `tail -n +1 -f` would, never applies or prints a row twice: one event per data row in
// all, and the accounts of the batch run.
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, useBuiltBinary } from './support/builtBinary.js';

const ROWS = 20_000;
const WAIT_MS = 20_000;

type Event = { line: number; result: string };

function payrun(args: string[], input: string | Buffer = ''): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, input, timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

const eventsOf = (stdout: string): Event[] => stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Event);

/** A `payrun stream` child fed by hand. */
class StreamChild {
  readonly child: ChildProcessWithoutNullStreams;
  readonly events: Event[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private partial = '';

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [BIN, 'stream', ...args], { cwd: ROOT });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (text: string) => {
      const lines = (this.partial + text).split('\n');
      this.partial = lines.pop()!;
      for (const line of lines) this.events.push(JSON.parse(line) as Event);
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (text: string) => (this.stderr += text));
    this.child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Writes `text` in pieces, then waits until the event of its last data row has come (the stream is idle). */
  async feed(text: string, lastLine: number): Promise<void> {
    for (let at = 0; at < text.length; at += 8192) this.child.stdin.write(text.slice(at, at + 8192));
    const deadline = Date.now() + WAIT_MS;
    while (this.events.at(-1)?.line !== lastLine) {
      if (Date.now() > deadline) throw new Error(`no event for line ${lastLine}; stderr: ${this.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

const tempDir = useBuiltBinary('payrun-stream-source-');
let text = '';
/** The text's lines (terminators kept), and the 1-based numbers of its data lines. */
let lines: string[] = [];
let dataLines: number[] = [];
let batchAccounts = '';

beforeAll(() => {
  const file = join(tempDir(), 'tx.csv');
  expect(payrun(['generate', '-n', String(ROWS), '-c', '300', '--seed', '5', '-q', file]).status).toBe(0);
  text = readFileSync(file, 'utf8');
  lines = text.split(/(?<=\n)/);
  dataLines = lines.flatMap((line, i) => (i > 0 && line.trim() !== '' ? [i + 1] : []));
  batchAccounts = payrun(['-q', file]).stdout;
}, 60_000);

/** The first `n` lines of the file (a producer that has written that much so far). */
const head = (n: number): string => lines.slice(0, n).join('');

/** Every data line's event exactly once, in order, over the runs' events together. */
function expectEachRowOnce(events: Event[]): void {
  expect(events.map((e) => e.line)).toEqual(dataLines);
}

describe('payrun stream --journal D --source NAME', () => {
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`${signal}, then a restart fed the whole file again: each row applied and printed once; the batch run's accounts`, async () => {
      const dir = join(tempDir(), `j-${signal}`);
      const accounts = join(tempDir(), `accounts-${signal}.csv`);
      const first = new StreamChild(['--journal', dir, '--source', 'tx', '--accounts', accounts]);
      const fed = Math.floor(lines.length / 3);
      await first.feed(head(fed), dataLines.filter((n) => n <= fed).at(-1)!);
      first.child.kill(signal);
      const exit = await first.exited;
      if (signal === 'SIGTERM') {
        expect(exit.code).toBe(143);
        expect(first.stderr).toBe(`payrun: stream stopped by SIGTERM after line ${fed} of stdin; journal '${dir}' holds every row so far; source tx goes on after it\n`);
      } else {
        expect(exit.signal).toBe('SIGKILL');
      }

      const second = payrun(['stream', '--journal', dir, '--source', 'tx', '--accounts', accounts], text);
      expect(second.status, second.stderr).toBe(0);
      expect(second.stderr).toMatch(new RegExp(`^payrun: source tx: skipped ${fed} lines already applied\\npayrun: [\\d,]+ rows read`));
      expect(second.stderr).not.toMatch(/closed the unfinished/); // a killed run's input is resumed, not closed
      expectEachRowOnce([...first.events, ...eventsOf(second.stdout)]);
      expect(readFileSync(accounts, 'utf8')).toBe(batchAccounts);
      const verify = payrun(['journal', 'verify', dir]);
      expect(verify.status, verify.stderr).toBe(0);
      // SIGTERM ended the first input, so the second went on in a new one; a killed run's input was resumed: one input.
      const inputs = verify.stdout.split('\n').filter((line) => /^ {2}input \d+: tx id stream:source:tx /.test(line));
      expect(inputs).toHaveLength(signal === 'SIGTERM' ? 2 : 1);
      expect(inputs.every((line) => line.endsWith(', applied'))).toBe(true);

      // Run once more with everything fed: nothing new, nothing printed.
      const third = payrun(['stream', '--journal', dir, '--source', 'tx'], text);
      expect(third.stdout).toBe('');
      expect(third.stderr).toMatch(new RegExp(`^payrun: source tx: skipped ${lines.length} lines already applied\\n`));
    }, 120_000);
  }

  it('killed while rows flow: no row applied or printed twice, and the batch run\'s accounts', async () => {
    const dir = join(tempDir(), 'j-flowing');
    const first = new StreamChild(['--journal', dir, '--source', 'tx']);
    // Rows go on being written, a few KiB at a time, when the kill lands.
    let writing = true;
    const writer = (async () => {
      for (let at = 0; writing && at < text.length; at += 2048) {
        first.child.stdin.write(text.slice(at, at + 2048));
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    const deadline = Date.now() + WAIT_MS;
    while (first.events.length < 3000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    first.child.kill('SIGKILL');
    writing = false;
    await writer;
    await first.exited;
    const accounts = join(tempDir(), 'accounts-flowing.csv');
    const second = payrun(['stream', '--journal', dir, '--source', 'tx', '--accounts', accounts], text);
    expect(second.status, second.stderr).toBe(0);
    const said = /^payrun: source tx: skipped (\d+) lines already applied\n/.exec(second.stderr);
    expect(said, `${second.stderr} (the killed run printed ${first.events.length} events)`).not.toBeNull();
    const skipped = Number(said![1]);
    const printed = [...first.events, ...eventsOf(second.stdout)].map((e) => e.line);
    expect(new Set(printed).size).toBe(printed.length);
    // Every row past what the journal held is printed by the restart; the killed run printed only journaled rows.
    expect(first.events.every((e) => e.line <= skipped)).toBe(true);
    expect(eventsOf(second.stdout).map((e) => e.line)).toEqual(dataLines.filter((n) => n > skipped));
    expect(readFileSync(accounts, 'utf8')).toBe(batchAccounts);
  }, 120_000);

  it('a killed source meets another run: closed with a warning naming where it goes on; its next run still skips what it applied', async () => {
    const dir = join(tempDir(), 'j-other');
    const first = new StreamChild(['--journal', dir, '--source', 'tx']);
    const fed = Math.floor(lines.length / 2);
    await first.feed(head(fed), dataLines.filter((n) => n <= fed).at(-1)!);
    first.child.kill('SIGKILL');
    await first.exited;
    const other = payrun(['stream', '--journal', dir, '--source', 'other', '-q'], '');
    expect(other.status).toBe(0);
    const probe = payrun(['stream', '--journal', dir, '--source', 'other'], '');
    expect(probe.stderr).not.toMatch(/closed/);
    const again = payrun(['stream', '--journal', dir, '--source', 'tx'], text);
    expect(again.stderr).toMatch(new RegExp(`^payrun: source tx: skipped ${fed} lines already applied\\n`));
    expectEachRowOnce([...first.events, ...eventsOf(again.stdout)]);
  }, 120_000);

  it('the closing warning, a stream of other bytes, and the usage rules', async () => {
    const dir = join(tempDir(), 'j-misc');
    const first = new StreamChild(['--journal', dir, '--source', 'tx']);
    await first.feed(head(101), dataLines.filter((n) => n <= 101).at(-1)!);
    first.child.kill('SIGKILL');
    await first.exited;
    const closed = payrun(['stream', '--journal', dir], '');
    expect(closed.stderr).toMatch(
      new RegExp(`^payrun: journal '${dir}': closed the unfinished stream input 1 \\(\\d+ rows applied, up to line 101\\), left by a stream run that did not end; its rows stay applied; source tx goes on after line 101\\n`),
    );
    expect(closed.stderr).toContain('payrun: stream without --source: a restart is a new input, so rows fed to it again are applied again (--source NAME resumes a named source after its rows)\n');

    // The same lines but not the same bytes (spaces added to the first data line); small enough to fit a pipe's buffer.
    const changed = payrun(['stream', '--journal', dir, '--source', 'tx'], lines[0]! + lines[1]!.replace('\n', '     \n') + lines.slice(2, 200).join(''));
    expect(changed.status).toBe(1);
    expect(changed.stdout).toBe('');
    expect(changed.stderr).toMatch(new RegExp(`^payrun: source tx: its first 101 lines are \\d+ bytes now, \\d+ bytes in journal '${dir}': not the stream this source fed before; nothing of it was applied\\n$`));

    expect(payrun(['stream', '--source', 'tx'], '').status).toBe(2);
    expect(payrun(['stream', '--journal', dir, '--source', 'a b'], '').status).toBe(2);
  }, 120_000);
});
