// The README's Usage section and every command's --help name the same options, option for option.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, useBuiltBinary } from './support/builtBinary.js';

const COMMANDS = ['generate', 'journal verify', 'journal replay', 'journal history', 'journal abandon', 'stream', 'publish', 'consume', 'accounts', 'events', 'relay'];

/** The README's Usage section: its code block's lines and the batch run's option table. */
function readmeUsage(): { lines: Map<string, string>; table: string } {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const usage = readme.slice(readme.indexOf('## Usage'), readme.indexOf('\n## ', readme.indexOf('## Usage') + 3));
  const block = usage.slice(usage.indexOf('```') + 3, usage.indexOf('```', usage.indexOf('```') + 3));
  const lines = new Map<string, string>();
  // A usage line may go on over indented lines.
  const joined = block.replace(/\n\s+(?=\S)/g, (gap) => (gap.length > 2 ? ' ' : gap));
  for (const line of joined.split('\n').filter((l) => l.startsWith('payrun '))) {
    const words = line.replace(/#.*/, '').split(/\s+/);
    const command = COMMANDS.find((c) => words.slice(1, 1 + c.split(' ').length).join(' ') === c) ?? (words[1]?.startsWith('[') ? '' : undefined);
    if (command !== undefined) lines.set(command, line.replace(/#.*/, ''));
  }
  const table = usage.slice(usage.indexOf('| option'));
  return { lines, table: table.split('\n').filter((l, i, all) => all.slice(0, i + 1).every((x) => x.startsWith('|'))).join('\n') };
}

/** Every option --help lists (but -h/--help, -V/--version), each as its flags: ['-o', '--output']. */
function helpOptions(command: string): string[][] {
  const r = spawnSync(BIN, [...(command ? command.split(' ') : []), '--help'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const options = r.stdout.slice(r.stdout.indexOf('Options:'), r.stdout.search(/\n(Commands|Examples?):/) >>> 0);
  return [...options.matchAll(/^ {2}((?:-\w, )?--[\w-]+)/gm)]
    .map((m) => m[1]!.split(', '))
    .filter((flags) => !flags.includes('--help') && !flags.includes('--version'));
}

describe('README usage and --help', () => {
  useBuiltBinary('payrun-readme-usage-');
  const { lines, table } = readmeUsage();

  it.each(['', ...COMMANDS].filter((c) => c === '' || lines.has(c)))("'payrun %s': every option of --help is in the README and back", (command) => {
    const text = command === '' ? table : lines.get(command)!;
    const help = helpOptions(command);
    const missing = help.filter((flags) => !flags.some((flag) => new RegExp(`(^|[\\s\`\\[|])${flag}\\b`).test(text))).map((f) => f.join(', '));
    expect(missing, `in --help but not in the README's usage of 'payrun ${command}'`).toEqual([]);
    const known = new Set(help.flat());
    const extra = [...text.matchAll(/(?<![\w-])--[a-z][\w-]*/g)].map((m) => m[0]).filter((flag) => !known.has(flag) && flag !== '--help' && flag !== '--version');
    expect([...new Set(extra)], `in the README's usage of 'payrun ${command}' but not in --help`).toEqual([]);
  });

  it('the README shows every command', () => {
    for (const command of ['generate', 'journal verify', 'journal replay', 'stream', 'publish', 'consume', 'accounts', 'relay']) expect(lines.has(command), command).toBe(true);
  });
});
