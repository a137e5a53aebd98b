// A named stream source (`payrun stream --source NAME`): skipping the lines a journal already
// holds (skipLines), and the journal policy for its inputs: a killed run's input resumed by the
// same name, closed by any other run, and a new input going on after the source's last one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LineGroups } from '../src/io/lineGroups.js';
import { type Skipped, skipLines } from '../src/io/skipLines.js';
import { inputKindOf, sourceStreamId, stdinStreamId } from '../src/journal/inputKind.js';
import { type InputClaim, JournaledInput } from '../src/journal/journaledInput.js';
import { Journal } from '../src/journal/journal.js';
import { replayJournal } from '../src/journal/replay.js';

async function collect(chunks: string[], lines: number): Promise<{ out: string; skipped: Skipped[] }> {
  const skipped: Skipped[] = [];
  async function* source(): AsyncGenerator<Buffer> {
    for (const chunk of chunks) yield Buffer.from(chunk);
  }
  let out = '';
  for await (const chunk of skipLines(source(), lines, (s) => skipped.push({ ...s }))) out += chunk.toString();
  return { out, skipped };
}

describe('skipLines', () => {
  it('drops the first N lines across chunks, and says once how many lines and bytes it dropped', async () => {
    expect(await collect(['h\na\n', 'bb\ncc\n', 'd\n'], 3)).toEqual({ out: 'cc\nd\n', skipped: [{ lines: 3, bytes: 7 }] });
    expect(await collect(['h\na\nbb\n'], 3)).toEqual({ out: '', skipped: [{ lines: 3, bytes: 7 }] });
    expect(await collect(['h\n', 'a\n'], 0)).toEqual({ out: 'h\na\n', skipped: [{ lines: 0, bytes: 0 }] });
  });

  it('an input that ends first: what it dropped; a last line without its end counts as a line', async () => {
    expect(await collect(['h\na\n'], 5)).toEqual({ out: '', skipped: [{ lines: 2, bytes: 4 }] });
    expect(await collect(['h\na'], 2)).toEqual({ out: '', skipped: [{ lines: 2, bytes: 3 }] });
  });
});

describe('LineGroups from a start', () => {
  it('numbers lines and bytes on from where the source stopped, past its header', () => {
    const groups = new LineGroups({ offset: 100, line: 7 });
    const { batch, place } = groups.take(Buffer.from('deposit,1,1,1.0\n'));
    expect(batch.count).toBe(1);
    expect(place).toEqual({ offset: 100, base: 7, nextOffset: 116, nextLine: 8 });
  });
});

let tmp = '';
let dir = '';
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'payrun-source-'));
  dir = join(tmp, 'journal');
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const SOURCE = (name = 'tx'): InputClaim => ({ kind: 'source', id: sourceStreamId(name), name });

let nextTx = 1;

/** Opens the source, journals one group of `rows` deposits (new tx ids) after where it starts, and ends (or, killed, leaves) it. */
async function runSource(claim: InputClaim, rows: number, end: boolean, warnings: string[] = []): Promise<JournaledInput> {
  const input = JournaledInput.open(dir, claim, { fsync: 'off', warn: (line) => warnings.push(line) });
  const groups = new LineGroups(input.start);
  const first = input.start === undefined ? 'type,client,tx,amount\n' : '';
  const text = first + Array.from({ length: rows }, () => `deposit,1,${nextTx++},1.0\n`).join('');
  const { batch, place } = groups.take(Buffer.from(text));
  input.record(batch, place);
  if (end) input.finish();
  await input.close();
  return input;
}

describe('a named source in the journal', () => {
  it('is a kind of its own, named by its id', () => {
    expect(inputKindOf(sourceStreamId('tx'))).toBe('source');
  });

  it('ended: the next run is a new input going on after it; killed: the next run of that name resumes the same input', async () => {
    await runSource(SOURCE(), 3, true);
    const second = await runSource(SOURCE(), 2, false);
    expect(second.plan.kind).toBe('new');
    expect(second.entry).toMatchObject({ index: 1, nextLine: 6, rows: 2, complete: false });
    const third = await runSource(SOURCE(), 4, true);
    expect(third.plan.kind).toBe('resume');
    expect(third.entry).toMatchObject({ index: 1, nextLine: 10, rows: 6, complete: true });
    expect(replayJournal(dir).state.available[1]).toBe(9 * 10_000);
  });

  it("a killed source's input is closed by another run, with where the source goes on; its next run still goes on after it", async () => {
    await runSource(SOURCE(), 3, false);
    const warnings: string[] = [];
    await runSource({ kind: 'stdin', id: stdinStreamId() }, 1, true, warnings);
    expect(warnings).toEqual([
      `journal '${dir}': closed the unfinished stream input 1 (3 rows applied, up to line 4), left by a stream run that did not end; its rows stay applied; source tx goes on after line 4`,
    ]);
    const next = await runSource(SOURCE(), 1, true);
    expect(next.entry).toMatchObject({ index: 2, nextLine: 5 });
    await runSource(SOURCE('other'), 1, false);
    const back = JournaledInput.open(dir, SOURCE(), { fsync: 'off', warn: () => undefined });
    expect(back.start).toEqual({ offset: next.entry!.nextOffset, line: 5 });
    await back.close();
    const journal = Journal.open(dir, { fsync: 'off', warn: () => undefined });
    expect(journal.inputs.map((input) => [input.kind, input.complete])).toEqual([
      ['source', true],
      ['stdin', true],
      ['source', true],
      ['source', true],
    ]);
    await journal.close();
  });
});
