// CLI conventions through the built binary: typos get suggestions, `help` works, errors point at the right --help, plurals.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, useBuiltBinary } from './support/builtBinary.js';

describe('command-line conventions', () => {
  const tmp = useBuiltBinary('payrun-conventions-');
  const payrun = (args: string[], input = '') => spawnSync(BIN, args, { cwd: tmp(), encoding: 'utf8', input, timeout: 30_000 });

  it.each([
    [['strem'], "payrun: unknown command 'strem' (did you mean 'stream'?) (see 'payrun --help')"],
    [['genrate', '-n', '1'], "payrun: unknown command 'genrate' (did you mean 'generate'?) (see 'payrun --help')"],
    [['--rejectz', 'x', 'in.csv'], "payrun: unknown option '--rejectz' (did you mean --rejects?) (see 'payrun --help')"],
    [['stream', '--jornal', 'x'], "payrun: unknown option '--jornal' (did you mean --journal?) (see 'payrun stream --help')"],
    [['journal', 'verify'], "payrun: missing required argument 'dir' (see 'payrun journal verify --help')"],
    [['generate', '-n', '5', 'x.csv'], "payrun: required option '-c, --clients <n>' not specified (see 'payrun generate --help')"],
    [['stream', '--accounts', '-'], "payrun: --accounts needs a file (standard output carries the events) (see 'payrun stream --help')"],
  ])('payrun %j: exit 2 and one line', (args, line) => {
    const r = payrun(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`${line}\n`);
  });

  it('a file named like a typo of a command is still read when it exists, and as ./name', () => {
    writeFileSync(join(tmp(), 'strem'), 'type,client,tx,amount\ndeposit,1,1,2\n');
    for (const name of ['strem', './strem']) {
      const r = payrun(['-q', name]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe('client,available,held,total,locked\n1,2.0000,0.0000,2.0000,false\n');
    }
  });

  it('payrun help and payrun help <command> print the usage, exit 0', () => {
    const all = payrun(['help']);
    expect(all.status).toBe(0);
    expect(all.stdout).toMatch(/^Usage: payrun \[options\] \[command\] <file>/);
    const stream = payrun(['help', 'stream']);
    expect(stream.status).toBe(0);
    expect(stream.stdout).toMatch(/^Usage: payrun stream \[options\]/);
  });

  /** Every command path under `path`, from the Commands section of its --help. */
  const commandPaths = (path: string[]): string[][] => {
    const help = payrun([...path, '--help']).stdout;
    const section = help.split('\nCommands:\n')[1]?.split('\n\n')[0] ?? '';
    const names = [...section.matchAll(/^ {2}([a-z]+)/gm)].map((m) => m[1]!).filter((name) => name !== 'help');
    return [path, ...names.flatMap((name) => commandPaths([...path, name]))];
  };

  it('every --help ends with an example, and shows the defaults of --fsync, --snapshot-every and --partitions', () => {
    const paths = commandPaths([]);
    expect(paths.map((p) => p.join(' '))).toEqual(expect.arrayContaining(['generate', 'stream', 'publish', 'consume', 'accounts', 'journal verify', 'journal replay']));
    for (const path of paths) {
      const help = payrun([...path, '--help']).stdout;
      expect(help, `payrun ${path.join(' ')} --help`).toMatch(/\nExamples?:\n {2}\S.*\n$/s);
      for (const [option, shown] of [['--fsync', 'default: batch'], ['--snapshot-every', 'default: 4,000,000'], ['--partitions', 'default: 8']]) {
        const at = help.indexOf(`${option} <`);
        if (at >= 0) expect(help.slice(at, help.indexOf('\n  -', at + 1)).replace(/\s+/g, ' '), `${option} in payrun ${path.join(' ')} --help`).toContain(shown);
      }
    }
  });

  it('payrun journal alone prints its usage without an error prefix, exit 2', () => {
    const r = payrun(['journal']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^Usage: payrun journal \[options\] \[command\]/);
    expect(r.stderr).not.toMatch(/^payrun:/m);
  });

  it('the summary says "1 row" and "1 account"', () => {
    writeFileSync(join(tmp(), 'one.csv'), 'type,client,tx,amount\ndeposit,1,1,2\n');
    const r = payrun(['one.csv']);
    expect(r.stderr).toMatch(/^payrun: 1 row read, 1 applied, 0 rejected\n {2}1 account, /);
  });

  it('a bad header says what it found', () => {
    writeFileSync(join(tmp(), 'bad.csv'), 'type;client;tx;amount\n');
    const r = payrun(['bad.csv']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("payrun: bad header, expected 'type,client,tx,amount' (bad.csv:1), found 'type;client;tx;amount'\n");
  });

  it('a resumed journaled run says how much of its input an earlier run applied', () => {
    const rows = ['type,client,tx,amount', ...Array.from({ length: 300_000 }, (_, i) => `deposit,${i % 50},${i + 1},1`)];
    writeFileSync(join(tmp(), 'big.csv'), `${rows.join('\n')}\n`);
    // A run stopped by SIGTERM as soon as it has journaled something, then resumed.
    const stopped = spawnSync('sh', ['-c', `"$0" --journal ledger big.csv > /dev/null & pid=$!; while [ ! -s ledger/journal.log ] || [ $(wc -c < ledger/journal.log) -lt 100000 ]; do sleep 0.01; done; kill -TERM $pid; wait $pid`, BIN], { cwd: tmp(), encoding: 'utf8', timeout: 60_000 });
    expect(stopped.stderr).toMatch(/stopped by SIGTERM/);
    const resumed = payrun(['--journal', 'ledger', 'big.csv']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/rows? read \(after [\d,]+ rows? applied by an earlier run\)/);
  });
});
