// The command line through the real built binary: spawned as a child process, real temp files.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, useBuiltBinary } from './support/builtBinary.js';

const RUN_TIMEOUT_MS = 30_000;
const HEADER = 'client,available,held,total,locked\n';
const REJECTS_HEADER = 'line,reason,row\n';
const REASON_CODES = [
  'MALFORMED_ROW',
  'UNKNOWN_TYPE',
  'BAD_CLIENT',
  'BAD_TX',
  'BAD_AMOUNT',
  'DUPLICATE_TX',
  'OVERFLOW',
  'ACCOUNT_LOCKED',
  'INSUFFICIENT_FUNDS',
  'UNKNOWN_TX',
  'NOT_DISPUTABLE',
  'CHARGED_BACK',
  'ALREADY_DISPUTED',
  'NOT_DISPUTED',
];

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/payrun ...args` to completion (with a timeout). */
function payrun(args: string[], options: { input?: string | Buffer; cwd?: string } = {}): Run {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    input: options.input ?? '',
    timeout: RUN_TIMEOUT_MS,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout.toString('utf8'), stderr: result.stderr.toString('utf8') };
}

/** stderr is exactly one line `payrun: ...` and carries no stack trace. */
function expectOneErrorLine(stderr: string): string {
  expect(stderr).toMatch(/^payrun: [^\n]+\n$/);
  expect(stderr).not.toMatch(/\n\s+at |Error:|node:internal/);
  return stderr.trimEnd();
}

const tempDir = useBuiltBinary('payrun-cli-');
let seq = 0;

/** A fresh file in the test's temp directory. */
function tempFile(name: string, content?: string | Buffer): string {
  const path = join(tempDir(), `${seq++}-${name}`);
  if (content !== undefined) writeFileSync(path, content);
  return path;
}

function csv(...rows: string[]): string {
  return ['type,client,tx,amount', ...rows].join('\n') + '\n';
}


describe('help and version', () => {
  it('--help exits 0 and mentions generate and --workers', () => {
    const r = payrun(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('generate');
    expect(r.stdout).toContain('--workers');
  });

  it('--version prints the package.json version', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = payrun(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });
});

describe('usage errors exit 2 with one line', () => {
  it('no arguments', () => {
    const r = payrun([]);
    expect(r.status).toBe(2);
    expectOneErrorLine(r.stderr);
    expect(r.stdout).toBe('');
  });

  it('an unknown option', () => {
    const file = tempFile('ok.csv', csv('deposit,1,1,1'));
    const r = payrun(['--bogus', file]);
    expect(r.status).toBe(2);
    expect(expectOneErrorLine(r.stderr)).toContain('--bogus');
    expect(r.stdout).toBe('');
  });

  it.each([['abc'], ['-1'], ['1.5']])('--workers %s', (value) => {
    const file = tempFile('ok.csv', csv('deposit,1,1,1'));
    const r = payrun(['--workers', value, file]);
    expect(r.status).toBe(2);
    expectOneErrorLine(r.stderr);
    expect(r.stdout).toBe('');
  });
});

describe('fatal input and I/O errors exit 1 with one line', () => {
  it('a missing file names the file', () => {
    const missing = join(tempDir(), 'no-such-file.csv');
    const r = payrun([missing]);
    expect(r.status).toBe(1);
    expect(expectOneErrorLine(r.stderr)).toContain('no-such-file.csv');
    expect(r.stdout).toBe('');
  });

  it('a directory as input', () => {
    const dir = join(tempDir(), `dir-${seq++}`);
    mkdirSync(dir);
    const r = payrun([dir]);
    expect(r.status).toBe(1);
    expectOneErrorLine(r.stderr);
    expect(r.stdout).toBe('');
  });

  it('a bad header on line 1', () => {
    const file = tempFile('bad-header.csv', 'kind,client,tx,amount\ndeposit,1,1,1\n');
    const r = payrun([file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`payrun: bad header, expected 'type,client,tx,amount' (${file}:1), found 'kind,client,tx,amount'\n`);
    expect(r.stdout).toBe('');
  });

  it('a bad header after blank lines names its physical line', () => {
    const file = tempFile('bad-header-late.csv', '\n  \n\t\r\ntype,client,tx\ndeposit,1,1,1\n');
    const r = payrun([file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`payrun: bad header, expected 'type,client,tx,amount' (${file}:4), found 'type,client,tx'\n`);
    expect(r.stdout).toBe('');
  });

  it('a bad header on standard input', () => {
    const r = payrun(['-'], { input: '\n\nfoo,bar\n' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^payrun: bad header, expected 'type,client,tx,amount' \(.+:3\), found 'foo,bar'\n$/);
  });

  it('a header with the columns in another order is fatal', () => {
    const file = tempFile('bad-order.csv', 'client,type,tx,amount\n');
    const r = payrun([file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`payrun: bad header, expected 'type,client,tx,amount' (${file}:1), found 'client,type,tx,amount'\n`);
  });

  it('an unwritable -o path (missing directory)', () => {
    const file = tempFile('ok.csv', csv('deposit,1,1,1'));
    const out = join(tempDir(), 'missing-dir', 'out.csv');
    const r = payrun(['--quiet', '-o', out, file]);
    expect(r.status).toBe(1);
    expectOneErrorLine(r.stderr);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });

  it('-o naming an existing directory', () => {
    const file = tempFile('ok.csv', csv('deposit,1,1,1'));
    const dir = join(tempDir(), `out-dir-${seq++}`);
    mkdirSync(dir);
    const r = payrun(['--quiet', '-o', dir, file]);
    expect(r.status).toBe(1);
    expectOneErrorLine(r.stderr);
    expect(r.stdout).toBe('');
    expect(readdirSync(dir)).toEqual([]);
  });

  // SPEC 1: a fatal error is "one clear line ... naming the file": the -o path as the user gave it,
  // not the internal temp file beside it.
  it.each([
    ['in a missing directory', () => join(tempDir(), 'missing-dir-2', 'accounts.csv')],
    ['that is a directory', () => {
      const dir = join(tempDir(), `out-dir-${seq++}`);
      mkdirSync(dir);
      return dir;
    }],
  ])('an unwritable -o path %s is named as given', (_name, makePath) => {
    const out = makePath();
    const r = payrun(['--quiet', '-o', out, tempFile('ok.csv', csv('deposit,1,1,1'))]);
    expect(r.status).toBe(1);
    expect(expectOneErrorLine(r.stderr)).toContain(`'${out}'`);
  });

  it('an unwritable --rejects path names the file', () => {
    const file = tempFile('ok.csv', csv('deposit,1,1,1'));
    const rejects = join(tempDir(), 'missing-dir', 'rejects.csv');
    const r = payrun(['--quiet', '--rejects', rejects, file]);
    expect(r.status).toBe(1);
    expect(expectOneErrorLine(r.stderr)).toContain(rejects);
    expect(r.stdout).toBe('');
  });

  it('a fatal input error writes no -o file', () => {
    const dir = join(tempDir(), `out-${seq++}`);
    mkdirSync(dir);
    const out = join(dir, 'accounts.csv');
    const r = payrun(['--quiet', '-o', out, tempFile('bad.csv', 'nope\n')]);
    expect(r.status).toBe(1);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('input sources and outputs', () => {
  it('an empty file prints only the header', () => {
    const file = tempFile('empty.csv', '');
    const r = payrun(['--quiet', file]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(HEADER);
    expect(r.stderr).toBe('');
  });

  it("'-' reads standard input", () => {
    const r = payrun(['--quiet', '-'], { input: csv('deposit,2,1,2.5', 'deposit,1,2,1', 'withdrawal,2,3,0.5') });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${HEADER}1,1.0000,0.0000,1.0000,false\n2,2.0000,0.0000,2.0000,false\n`);
  });

  it('-o writes the file atomically: stdout empty, no temp files left', () => {
    const dir = join(tempDir(), `out-${seq++}`);
    mkdirSync(dir);
    const file = tempFile('in.csv', csv('deposit,1,1,1.5'));
    const out = join(dir, 'accounts.csv');
    const r = payrun(['--quiet', '-o', out, file]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(readFileSync(out, 'utf8')).toBe(`${HEADER}1,1.5000,0.0000,1.5000,false\n`);
    expect(readdirSync(dir)).toEqual(['accounts.csv']);
  });

  it('-o replaces an existing file', () => {
    const dir = join(tempDir(), `out-${seq++}`);
    mkdirSync(dir);
    const out = join(dir, 'accounts.csv');
    writeFileSync(out, 'old content that is longer than the new one\n'.repeat(10));
    const file = tempFile('in.csv', csv('deposit,3,1,2'));
    const r = payrun(['--quiet', '--output', out, file]);
    expect(r.status).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(`${HEADER}3,2.0000,0.0000,2.0000,false\n`);
    expect(readdirSync(dir)).toEqual(['accounts.csv']);
  });

  it('--rejects writes every rejected row in file order', () => {
    const file = tempFile(
      'in.csv',
      'type,client,tx,amount\ndeposit,1,1,1\n\nwithdrawal,1,2,5\ndeposit,1,3,"1,5"\nfoo\ndispute,1,9\n',
    );
    const rejects = tempFile('rejects.csv');
    const r = payrun(['--quiet', '--rejects', rejects, file]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${HEADER}1,1.0000,0.0000,1.0000,false\n`);
    expect(readFileSync(rejects, 'utf8')).toBe(
      REJECTS_HEADER +
        '4,INSUFFICIENT_FUNDS,"withdrawal,1,2,5"\n' +
        '5,BAD_AMOUNT,"deposit,1,3,""1,5"""\n' +
        '6,MALFORMED_ROW,foo\n' +
        '7,UNKNOWN_TX,"dispute,1,9"\n',
    );
  });

  it('--rejects with no rejected rows holds only the header', () => {
    const file = tempFile('in.csv', csv('deposit,1,1,1'));
    const rejects = tempFile('rejects.csv');
    const r = payrun(['--quiet', '--rejects', rejects, file]);
    expect(r.status).toBe(0);
    expect(readFileSync(rejects, 'utf8')).toBe(REJECTS_HEADER);
  });
});

describe('--strict', () => {
  it.each([[0], [2]])('the first rejected row is fatal (--workers %i)', (workers) => {
    const file = tempFile('strict.csv', csv('deposit,1,1,1', '', 'withdrawal,1,2,5', 'deposit,1,3,x', 'deposit,2,4,1'));
    const rejects = tempFile('rejects.csv');
    const r = payrun(['--strict', '--workers', String(workers), '--rejects', rejects, file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    const line = expectOneErrorLine(r.stderr);
    expect(line).toContain('INSUFFICIENT_FUNDS');
    expect(line).toMatch(/:4\)?$/);
    expect(line).toContain(file);
    expect(readFileSync(rejects, 'utf8')).toBe(`${REJECTS_HEADER}4,INSUFFICIENT_FUNDS,"withdrawal,1,2,5"\n`);
  });

  it('writes no -o file', () => {
    const dir = join(tempDir(), `out-${seq++}`);
    mkdirSync(dir);
    const out = join(dir, 'accounts.csv');
    const r = payrun(['--strict', '--quiet', '-o', out, tempFile('s.csv', csv('deposit,1,1,1', 'withdrawal,1,2,2'))]);
    expect(r.status).toBe(1);
    expectOneErrorLine(r.stderr);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('with a row-shape reject names that reason', () => {
    const file = tempFile('strict.csv', csv('deposit,1,1,1', 'deposit,1,2,1.23456'));
    const r = payrun(['--strict', '--quiet', file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    const line = expectOneErrorLine(r.stderr);
    expect(line).toContain('BAD_AMOUNT');
    expect(line).toMatch(/:3\)?$/);
  });

  it('exits 0 on clean input', () => {
    const file = tempFile('clean.csv', csv('deposit,1,1,1', 'withdrawal,1,2,0.5'));
    const r = payrun(['--strict', '--quiet', file]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${HEADER}1,0.5000,0.0000,0.5000,false\n`);
    expect(r.stderr).toBe('');
  });
});

describe('stderr summary', () => {
  const input = csv('deposit,1,1,1', 'withdrawal,1,2,5', 'bogus,1,3,1');

  it('--quiet leaves stderr empty', () => {
    const r = payrun(['--quiet', tempFile('in.csv', input)]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('without --quiet the summary goes to stderr, never to stdout', () => {
    const r = payrun([tempFile('in.csv', input)]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${HEADER}1,1.0000,0.0000,1.0000,false\n`);
    expect(r.stderr).toMatch(/\b3 rows read\b/);
    expect(r.stderr).toMatch(/\b1 applied\b/);
    expect(r.stderr).toMatch(/\b2 rejected\b/);
    expect(r.stderr).toContain('INSUFFICIENT_FUNDS');
    expect(r.stderr).toContain('UNKNOWN_TYPE');
    expect(r.stderr).toContain('rows/s');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('odd bytes are rejected rows, never a crash', () => {
  it.each([
    ['invalid UTF-8 in the type', Buffer.from('dep\xffsit,1,5,1', 'latin1')],
    ['invalid UTF-8 in the client', Buffer.from('deposit,\xc3,1,1', 'latin1')],
    ['invalid UTF-8 in the amount', Buffer.from('deposit,1,2,1\xfe', 'latin1')],
    ['a NUL byte in the type', Buffer.from('depo\0sit,1,3,1', 'latin1')],
    ['a NUL byte in the amount', Buffer.from('deposit,1,4,1\x000', 'latin1')],
  ])('%s', (_name, row) => {
    const content = Buffer.concat([Buffer.from('type,client,tx,amount\ndeposit,9,100,1\n'), row, Buffer.from('\n')]);
    const file = tempFile('odd.csv', content);
    const rejects = tempFile('rejects.csv');
    for (const workers of ['0', '2']) {
      const r = payrun(['--quiet', '--workers', workers, '--rejects', rejects, file]);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`${HEADER}9,1.0000,0.0000,1.0000,false\n`);
      const lines = readFileSync(rejects).toString('latin1').split('\n');
      expect(lines[0]).toBe('line,reason,row');
      expect(lines).toHaveLength(3); // header, one row, final empty string
      const [line, reason] = lines[1]!.split(',');
      expect(line).toBe('3');
      expect(REASON_CODES).toContain(reason);
      // the original bytes come back verbatim (inside quotes: every one of these rows holds commas)
      const raw = readFileSync(rejects);
      expect(raw.includes(row)).toBe(true);
    }
  });
});

describe('closed stdout', () => {
  it('ends quietly with exit 0 when the reader goes away early (EPIPE)', async () => {
    const rows = ['type,client,tx,amount'];
    for (let c = 0; c < 20_000; c++) rows.push(`deposit,${c},${c},1.5`);
    const file = tempFile('many-clients.csv', rows.join('\n') + '\n');

    const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; got: number }>(
      (resolve, reject) => {
        const child = spawn(process.execPath, [BIN, '--quiet', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error('payrun did not exit after its stdout was closed'));
        }, RUN_TIMEOUT_MS);
        let stderr = '';
        let got = 0;
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
        child.stdout.once('data', (chunk: Buffer) => {
          got = chunk.length;
          child.stdout.destroy(); // like `| head -n 1`
        });
        child.on('error', reject);
        child.on('close', (code, signal) => {
          clearTimeout(timer);
          resolve({ code, signal, stderr, got });
        });
      },
    );
    expect(result.got).toBeGreaterThan(0);
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('ends quietly in a shell pipeline into head', () => {
    const rows = ['type,client,tx,amount'];
    for (let c = 0; c < 20_000; c++) rows.push(`deposit,${c},${c},2`);
    const file = tempFile('many-clients.csv', rows.join('\n') + '\n');
    const errFile = tempFile('stderr.txt');
    // run payrun | head -n 1, capturing payrun's own exit code and stderr
    const piped = spawnSync(
      'sh',
      ['-c', '{ "$0" "$1" "$2" 2>"$3"; echo $? >"$3.rc"; } | head -n 1', process.execPath, BIN, file, errFile],
      { cwd: ROOT, timeout: RUN_TIMEOUT_MS },
    );
    expect(piped.error).toBeUndefined();
    expect(piped.stdout.toString('utf8')).toBe('client,available,held,total,locked\n');
    expect(readFileSync(`${errFile}.rc`, 'utf8').trim()).toBe('0');
    expect(readFileSync(errFile, 'utf8')).not.toMatch(/\n\s+at |Error|EPIPE/);
  });
});
