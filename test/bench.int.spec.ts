import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The benchmark harness in quick mode (200k rows, one run of every config), through its real
// command line. Checks only that it completes and that every config produced the same accounts:
// timings are never asserted. Assumes dist/ is built (npm test builds first).
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'payrun-bench-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('npm run bench -- --quick', () => {
  it('completes, and every config produces identical accounts', () => {
    const out = join(work, 'results');
    const result = spawnSync('npx', ['tsx', 'bench/run.ts', '--quick', '--out', out, '--data', join(work, 'data')], {
      cwd: root,
      encoding: 'utf8',
      timeout: 170_000,
    });
    const printed = `${result.stdout}\n${result.stderr}`;
    expect(result.status, printed).toBe(0);
    expect(result.stdout).toContain('accounts: identical across all configs');
    for (const config of ['byte-scan floor', 'naive baseline', 'payrun --workers 0', 'payrun --workers 1', 'payrun --workers 2', 'payrun (default)']) {
      expect(result.stdout).toContain(config);
    }

    const files = readdirSync(out);
    expect(files).toContain('latest.svg');
    const json = files.find((f) => /^\d{4}-\d{2}-\d{2}-.+\.json$/.test(f));
    expect(json, files.join(', ')).toBeDefined();
    const report = JSON.parse(readFileSync(join(out, json as string), 'utf8')) as {
      machine: { cores: number; node: string };
      results: { config: string; accounts: string }[];
    };
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.results.filter((r) => r.config !== 'floor' && r.config !== 'node-start').map((r) => r.accounts)).toEqual([
      'identical', // naive
      'reference', // --workers 0
      'identical',
      'identical',
      'identical', // default
      'identical', // payrun - (piped by cat)
      'identical', // --journal --fsync off
      'identical', // --journal --fsync batch
      'identical', // --journal --fsync always
    ]);
    expect(readFileSync(join(out, 'latest.svg'), 'utf8')).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  }, 180_000);
});
