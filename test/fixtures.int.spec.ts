// Runs every fixtures/<case>/ and every ../shared/acceptance/<case>/ through the real built binary
// (`node bin/payrun --quiet --rejects <tmp> --workers N input.csv`) and compares both outputs byte for byte.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, useBuiltBinary } from './support/builtBinary.js';

const FIXTURES = join(ROOT, 'fixtures');
const ACCEPTANCE = fileURLToPath(new URL('../../shared/acceptance/', import.meta.url));
const RUN_TIMEOUT_MS = 30_000;

interface Case {
  suite: string;
  name: string;
  dir: string;
}

function casesIn(suite: string, root: string): Case[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) => statSync(join(root, name)).isDirectory() && existsSync(join(root, name, 'input.csv')))
    .sort()
    .map((name) => ({ suite, name, dir: join(root, name) }));
}

const fixtureCases = casesIn('fixtures', FIXTURES);
const acceptanceCases = casesIn('acceptance', ACCEPTANCE);
const cases = [...fixtureCases, ...acceptanceCases];
const runs = cases.flatMap((c) => [0, 2].map((workers) => ({ ...c, workers })));

const tempDir = useBuiltBinary('payrun-fixtures-');


// A clone without ../shared has no public acceptance cases: say so by name, never vanish.
if (acceptanceCases.length === 0) {
  describe('public acceptance cases', () => {
    it.skip('skipped: ../shared/acceptance not found beside this repository', () => undefined);
  });
}

describe('fixture discovery', () => {
  it('finds at least 12 fixture cases, each with its three files', () => {
    expect(fixtureCases.length).toBeGreaterThanOrEqual(12);
    for (const c of fixtureCases) {
      expect(existsSync(join(c.dir, 'expected.csv')), `${c.name}/expected.csv`).toBe(true);
      expect(existsSync(join(c.dir, 'expected-rejects.csv')), `${c.name}/expected-rejects.csv`).toBe(true);
    }
  });
});

describe('cases through bin/payrun', () => {
  it.each(runs)('$suite/$name with --workers $workers', ({ suite, name, dir, workers }) => {
    const rejects = join(tempDir(), `${suite}-${name}-w${workers}.rejects.csv`);
    const result = spawnSync(
      process.execPath,
      [BIN, '--quiet', '--workers', String(workers), '--rejects', rejects, join(dir, 'input.csv')],
      { cwd: ROOT, timeout: RUN_TIMEOUT_MS, maxBuffer: 256 * 1024 * 1024 },
    );
    expect(result.error, 'spawn error / timeout').toBeUndefined();
    expect(result.stderr.toString('utf8'), 'stderr under --quiet').toBe('');
    expect(result.status, 'exit code').toBe(0);
    // Compare as latin1 strings: byte-exact, and a readable diff when they differ.
    expect(result.stdout.toString('latin1'), 'accounts').toBe(readFileSync(join(dir, 'expected.csv')).toString('latin1'));
    expect(existsSync(rejects), 'rejects file written').toBe(true);
    expect(readFileSync(rejects).toString('latin1'), 'rejects').toBe(
      readFileSync(join(dir, 'expected-rejects.csv')).toString('latin1'),
    );
  });
});
