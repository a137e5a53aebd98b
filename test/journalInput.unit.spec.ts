// The one policy for a journaled input (src/journal/journaledInput.ts), on real journals: what a
// file run, a stdin stream and a cluster partition each do with the journal's unfinished input,
// and the one evolve of the input list that the writer and the replayer share.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { evolveInputs, type InputEntry, storedInputs } from '../src/journal/inputs.js';
import { inputKindOf, partitionInputId, stdinStreamId } from '../src/journal/inputKind.js';
import { type InputClaim, JournaledInput } from '../src/journal/journaledInput.js';
import { Journal } from '../src/journal/journal.js';
import { JournalError } from '../src/journal/journalError.js';
import { verifyJournal } from '../src/journal/verify.js';

let tmp = '';
let dir = '';
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'payrun-input-'));
  dir = join(tmp, 'journal');
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const SHA = 'ab'.repeat(32);
const FILE: InputClaim = { kind: 'file', sha256: SHA, size: 10, name: 'day1.csv' };
const STDIN = (): InputClaim => ({ kind: 'stdin', id: stdinStreamId() });
const PARTITION_ID = partitionInputId('payrun:tx:3');
const PARTITION: InputClaim = { kind: 'partition', id: PARTITION_ID, name: 'payrun:tx:3', label: "partition 3 of 'payrun'" };

/** A journal whose last input, `id`, was begun and never ended. */
async function leaveUnfinished(id: string, name = 'stdin', end = false): Promise<void> {
  const journal = Journal.open(dir, { fsync: 'off', warn: () => undefined });
  const input = journal.begin(id, 0, name);
  if (end) journal.end(input);
  await journal.close();
}

async function openAndClose(claim: InputClaim, warnings: string[] = []): Promise<JournaledInput> {
  const input = JournaledInput.open(dir, claim, { fsync: 'off', warn: (line) => warnings.push(line) });
  await input.close();
  return input;
}

function refusal(claim: InputClaim): string {
  try {
    JournaledInput.open(dir, claim, { fsync: 'off', warn: () => undefined });
  } catch (error) {
    expect(error).toBeInstanceOf(JournalError);
    return (error as Error).message;
  }
  throw new Error('not refused');
}

describe('an input kind is a field, derived from the id of an old record', () => {
  it('file, stdin, partition, other stream', () => {
    expect(inputKindOf(SHA)).toBe('file');
    expect(inputKindOf(stdinStreamId(new Date(0), 1))).toBe('stdin');
    expect(inputKindOf(PARTITION_ID)).toBe('partition');
    expect(inputKindOf('stream:payrun:tx:3')).toBe('stream');
  });
});

describe('JournaledInput.open: the unfinished input of each kind', () => {
  it('a file run resumes its own file, and is a no-op on an applied one', async () => {
    await leaveUnfinished(SHA, 'day1.csv');
    expect((await openAndClose(FILE)).plan.kind).toBe('resume');
    await leaveUnfinished(SHA, 'day1.csv', true);
  });

  it('a file run refuses another unfinished file, naming it (or saying the content changed)', async () => {
    await leaveUnfinished('cd'.repeat(32), 'day0.csv');
    expect(refusal(FILE)).toBe(`journal '${dir}' has an unfinished run of 'day0.csv' (sha256 cdcdcdcdcdcd, 0 rows applied, up to line 0); run that file again to finish it first (or undo its rows with 'payrun journal abandon ${dir}')`);
    expect(refusal({ ...FILE, name: 'day0.csv' })).toBe(
      `'day0.csv' changed since its unfinished run in journal '${dir}' (sha256 cdcdcdcdcdcd, 0 rows applied, up to line 0); restore that content to finish the run (or undo its rows with 'payrun journal abandon ${dir}')`,
    );
    expect(refusal(STDIN())).toBe(`journal '${dir}' has an unfinished run of 'day0.csv' (sha256 cdcdcdcdcdcd, 0 rows applied, up to line 0); run that file again to finish it before streaming (or undo its rows with 'payrun journal abandon ${dir}')`);
    expect(refusal(PARTITION)).toBe(`journal '${dir}' holds an unfinished input 'day0.csv', not partition 3 of 'payrun'`);
  });

  it('a stale stdin stream is closed with one warning by a file run and by a stream run, refused by a partition', async () => {
    await leaveUnfinished(stdinStreamId(new Date(0), 7));
    expect(refusal(PARTITION)).toBe(`journal '${dir}' holds an unfinished input 'stdin', not partition 3 of 'payrun'`);
    const warnings: string[] = [];
    const stream = await openAndClose(STDIN(), warnings);
    expect(stream.plan.kind).toBe('new');
    expect(warnings).toEqual([`journal '${dir}': closed the unfinished stream input 1 (0 rows applied, up to line 0), left by a stream run that did not end; its rows stay applied`]);
    await leaveUnfinished(stdinStreamId(new Date(1), 8));
    const again: string[] = [];
    expect((await openAndClose(FILE, again)).plan.kind).toBe('new');
    expect(again).toHaveLength(1);
    expect(again[0]).toContain('closed the unfinished stream input 2');
  });

  it('a partition resumes its own input, refuses an ended one; its unfinished input is refused by files and streams', async () => {
    await leaveUnfinished(PARTITION_ID, 'payrun:tx:3');
    expect((await openAndClose(PARTITION)).plan.kind).toBe('resume');
    const where = `'${PARTITION_ID}' (0 rows applied, up to line 0)`;
    expect(refusal(FILE)).toBe(`journal '${dir}' has an unfinished stream input ${where}; only the stream run that began it goes on with it, so no file can be run on this journal`);
    expect(refusal(STDIN())).toBe(`journal '${dir}' has an unfinished stream input ${where} that payrun stream cannot take over`);
    const journal = Journal.open(dir, { fsync: 'off', warn: () => undefined });
    journal.end(journal.inputs[0]!);
    await journal.close();
    expect(refusal(PARTITION)).toBe(`journal '${dir}' has ended partition 3 of 'payrun'`);
  });

  it('an applied file run again is a no-op even with another input unfinished after it', async () => {
    await leaveUnfinished(SHA, 'day1.csv', true);
    await leaveUnfinished('cd'.repeat(32), 'day2.csv');
    expect((await openAndClose(FILE)).plan.kind).toBe('done');
  });
});

describe('finish and pause: the snapshot rules of each kind', () => {
  it('an empty file is recorded as applied; an empty stream leaves no input', async () => {
    const file = JournaledInput.open(dir, FILE, { fsync: 'off', warn: () => undefined });
    expect(file.finish()).toBe(false);
    expect(file.finish()).toBe(false);
    await file.close();
    const stream = JournaledInput.open(dir, STDIN(), { fsync: 'off', warn: () => undefined });
    expect(stream.finish()).toBe(false);
    await stream.close();
    expect(verifyJournal(dir).summary.slice(1)).toEqual(['  input 1: day1.csv sha256 abababababab 0 rows (0 rejected), applied']);
  });

  it('a file paused by a signal always snapshots; a partition only when rows came', async () => {
    const file = JournaledInput.open(dir, FILE, { fsync: 'off', warn: () => undefined });
    expect(file.pause()).toBe(true);
    await file.close();
    const partition = JournaledInput.open(join(tmp, 'p3'), PARTITION, { fsync: 'off', warn: () => undefined });
    expect(partition.pause()).toBe(false);
    await partition.close();
  });
});

describe('evolveInputs', () => {
  it('begin, batch, outbox, end; an event of another input changes nothing; the stored form has no kind', () => {
    const inputs: InputEntry[] = [];
    evolveInputs(inputs, { type: 'begin', begin: { input: 0, sha256: PARTITION_ID, size: 0, name: 'p' }, offset: 48 });
    evolveInputs(inputs, { type: 'batch', input: 0, rows: 5, rejected: 2, nextOffset: 100, nextLine: 6 });
    evolveInputs(inputs, { type: 'batch', input: 1, rows: 5, rejected: 2, nextOffset: 200, nextLine: 9 });
    evolveInputs(inputs, { type: 'outbox', input: 0, seq: 4, offset: 300, lastId: '1-5' });
    expect(inputs).toEqual([
      { index: 0, kind: 'partition', sha256: PARTITION_ID, size: 0, name: 'p', journalOffset: 48, complete: false, nextOffset: 100, nextLine: 6, rows: 5, rejected: 2, outbox: { seq: 4, offset: 300, lastId: '1-5' } },
    ]);
    evolveInputs(inputs, { type: 'end', end: { input: 0, rows: 5, lines: 6 } });
    expect(inputs[0]!.complete).toBe(true);
    expect(JSON.stringify(storedInputs(inputs))).toBe(
      `[{"index":0,"sha256":"${PARTITION_ID}","size":0,"name":"p","journalOffset":48,"complete":true,"nextOffset":100,"nextLine":6,"rows":5,"rejected":2,"outbox":{"seq":4,"offset":300,"lastId":"1-5"}}]`,
    );
  });
});
