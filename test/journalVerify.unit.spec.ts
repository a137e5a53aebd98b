// journal verify's list of inputs: a file is named by its SHA-256 cut to 12 hex digits, a stream
// input by its whole id (`stream:...`), which a cut would make unreadable.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeInputId, inputKindOf, stdinStreamId } from '../src/journal/inputKind.js';
import { Journal } from '../src/journal/journal.js';
import { verifyJournal } from '../src/journal/verify.js';

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

describe('describeInputId', () => {
  it('cuts a SHA-256 to 12 hex digits and keeps a stream id whole', () => {
    const describe = (id: string): string => describeInputId({ kind: inputKindOf(id), sha256: id });
    expect(describe('0123456789abcdef'.repeat(4))).toBe('sha256 0123456789ab');
    expect(describe('stream:stdin:2024-05-06T07:08:09.010Z:4242')).toBe('id stream:stdin:2024-05-06T07:08:09.010Z:4242');
    expect(describe('stream:payrun:tx')).toBe('id stream:payrun:tx');
  });
});

describe('verifyJournal', () => {
  it('lists a file by its short hash and every stream input by its whole id', async () => {
    dir = mkdtempSync(join(tmpdir(), 'payrun-verify-'));
    const warnings: string[] = [];
    const journal = Journal.open(dir, { fsync: 'off', warn: (line) => warnings.push(line) });
    const sha = 'fedcba9876543210'.repeat(4);
    journal.end(journal.begin(sha, 10, 'day1.csv'));
    const first = stdinStreamId(new Date(Date.UTC(2024, 4, 6, 7, 8, 9, 10)), 4242);
    journal.end(journal.begin(first, 0, 'stdin'));
    const second = stdinStreamId(new Date(Date.UTC(2024, 4, 7)), 77);
    journal.begin(second, 0, 'stdin');
    await journal.close();
    expect(warnings).toEqual([]);

    const report = verifyJournal(dir);
    expect(report.problems).toEqual([]);
    expect(report.summary.slice(1)).toEqual([
      '  input 1: day1.csv sha256 fedcba987654 0 rows (0 rejected), applied',
      '  input 2: stdin id stream:stdin:2024-05-06T07:08:09.010Z:4242 0 rows (0 rejected), applied',
      '  input 3: stdin id stream:stdin:2024-05-07T00:00:00.000Z:77 0 rows (0 rejected), unfinished at line 0',
    ]);
  });
});
