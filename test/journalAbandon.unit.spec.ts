// `payrun journal abandon`'s parts: the InputAbandon event in the one evolve of the input list,
// the replay that skips an abandoned input's batches (read ahead), recovery passing over a
// snapshot taken inside the abandoned input, and the abandon itself on a real journal directory.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger } from '../src/domain/ledger.js';
import { stateDifference } from '../src/domain/ledgerState.js';
import { RejectReason } from '../src/domain/rejectReason.js';
import { parseLines } from '../src/io/lineParser.js';
import { RowBatch, rowCapacityFor } from '../src/io/rowBatch.js';
import { abandonUnfinishedInput } from '../src/journal/abandonInput.js';
import { abandonedInputs } from '../src/journal/abandonedInputs.js';
import { JOURNAL_FILE, type JournalRecord } from '../src/journal/format.js';
import { evolveInputs, type InputEntry, loadedInputs, storedInputs, unfinishedInput } from '../src/journal/inputs.js';
import { Journal } from '../src/journal/journal.js';
import { readJournal } from '../src/journal/journalReader.js';
import { insideAbandoned, recover } from '../src/journal/recovery.js';
import { Replayer } from '../src/journal/replayer.js';
import { replayJournal } from '../src/journal/replay.js';
import { verifyJournal } from '../src/journal/verify.js';

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);
const SHA_C = 'c'.repeat(64);

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

function begin(index: number, sha256: string): Parameters<typeof evolveInputs>[1] {
  return { type: 'begin', begin: { input: index, sha256, size: 10, name: `day${index}.csv` }, offset: 100 * index };
}

describe('evolveInputs: abandon', () => {
  it('marks the unfinished input complete and abandoned, and leaves nothing unfinished', () => {
    const inputs: InputEntry[] = [];
    evolveInputs(inputs, begin(0, SHA_A));
    evolveInputs(inputs, { type: 'batch', input: 0, rows: 5, rejected: 1, nextOffset: 90, nextLine: 6 });
    evolveInputs(inputs, { type: 'abandon', abandon: { input: 0, rows: 5, lines: 6 } });
    expect(inputs[0]).toMatchObject({ complete: true, abandoned: true, rows: 5, nextLine: 6 });
    expect(unfinishedInput(inputs)).toBeUndefined();
  });

  it('an abandon of an input that is not the unfinished one changes nothing', () => {
    const inputs: InputEntry[] = [];
    evolveInputs(inputs, begin(0, SHA_A));
    evolveInputs(inputs, { type: 'end', end: { input: 0, rows: 0, lines: 1 } });
    evolveInputs(inputs, begin(1, SHA_B));
    evolveInputs(inputs, { type: 'abandon', abandon: { input: 0, rows: 0, lines: 1 } });
    expect(inputs[0]!.abandoned).toBeUndefined();
    expect(unfinishedInput(inputs)?.index).toBe(1);
  });

  it('a snapshot stores `abandoned` only when true, and reads it back', () => {
    const inputs: InputEntry[] = [];
    evolveInputs(inputs, begin(0, SHA_A));
    evolveInputs(inputs, { type: 'end', end: { input: 0, rows: 0, lines: 1 } });
    evolveInputs(inputs, begin(1, SHA_B));
    evolveInputs(inputs, { type: 'abandon', abandon: { input: 1, rows: 0, lines: 0 } });
    const stored = JSON.parse(JSON.stringify(storedInputs(inputs))) as Omit<InputEntry, 'kind'>[];
    expect('abandoned' in (stored[0] as object)).toBe(false);
    expect(stored[1]).toMatchObject({ abandoned: true, complete: true });
    expect(loadedInputs(stored)).toEqual(inputs);
  });

  it('a snapshot is inside an abandoned input when it holds that input not yet abandoned', () => {
    const inputs: InputEntry[] = [];
    evolveInputs(inputs, begin(0, SHA_A));
    expect(insideAbandoned(inputs, new Set([0]))).toBe(true);
    expect(insideAbandoned(inputs, new Set([1]))).toBe(false); // taken before input 1 began
    evolveInputs(inputs, { type: 'abandon', abandon: { input: 0, rows: 0, lines: 0 } });
    expect(insideAbandoned(inputs, new Set([0]))).toBe(false); // taken after the abandon
  });
});

/** Data rows (no header) as a decided batch, each well-formed row decided by `ledger` as the engine does. */
function decided(rows: string[], ledger: Ledger, offset: number, base: number): { batch: RowBatch; place: { offset: number; base: number; nextOffset: number; nextLine: number } } {
  const text = Buffer.from(rows.map((row) => `${row}\n`).join(''));
  const batch = new RowBatch(rowCapacityFor(text.length));
  parseLines(text, 0, text.length, batch);
  for (let i = 0; i < batch.count; i++) {
    if (batch.reason[i] !== RejectReason.None) continue;
    batch.reason[i] = ledger.apply(batch.type[i]!, batch.client[i]!, batch.tx[i]!, batch.amount[i]!, false);
  }
  return { batch, place: { offset, base, nextOffset: offset + text.length, nextLine: base + rows.length } };
}

const DAY_A = ['deposit,1,1,10', 'deposit,2,2,5', 'withdrawal,1,3,3'];
const DAY_B1 = ['deposit,1,10,100', 'dispute,1,1,', 'deposit,3,11,7'];
const DAY_B2 = ['withdrawal,2,12,5', 'chargeback,1,1,'];
const DAY_C = ['deposit,2,20,1', 'withdrawal,1,21,20'];

/**
 * A journal: day A applied, day B begun with two batches (a snapshot between them when
 * `snapshotInside`), left unfinished. The ledger the writer's engine had is returned with it.
 */
async function journalWithUnfinishedB(snapshotInside: boolean): Promise<Ledger> {
  dir = mkdtempSync(join(tmpdir(), 'payrun-abandon-'));
  const ledger = new Ledger();
  const journal = Journal.open(dir, { fsync: 'off', warn: () => undefined });
  const a = journal.begin(SHA_A, 100, 'a.csv');
  const dayA = decided(DAY_A, ledger, 0, 1);
  journal.append(a, dayA.batch, dayA.place);
  journal.end(a);
  const b = journal.begin(SHA_B, 100, 'b.csv');
  const first = decided(DAY_B1, ledger, 0, 1);
  journal.append(b, first.batch, first.place);
  if (snapshotInside) journal.snapshot(ledger.exportState());
  const second = decided(DAY_B2, ledger, first.place.nextOffset, first.place.nextLine);
  journal.append(b, second.batch, second.place);
  await journal.close();
  return ledger;
}

function ledgerOf(days: string[][]): Ledger {
  const ledger = new Ledger();
  for (const rows of days) decided(rows, ledger, 0, 1);
  return ledger;
}

function records(): JournalRecord[] {
  const all: JournalRecord[] = [];
  readJournal(join(dir, JOURNAL_FILE), 0, (record) => {
    all.push(record);
  });
  return all;
}

describe('Replayer: an abandoned input', () => {
  it('skips the batches of an input the journal abandons later, read ahead, and follows its place', async () => {
    await journalWithUnfinishedB(false);
    await abandonUnfinishedInput(dir, { warn: () => undefined });
    const abandoned = abandonedInputs(join(dir, JOURNAL_FILE));
    expect([...abandoned]).toEqual([1]);
    const replayer = new Replayer(undefined, [], 0, abandoned);
    for (const record of records()) replayer.apply(record);
    expect(replayer.problems).toEqual([]);
    expect(replayer.rows).toBe(DAY_A.length);
    expect(replayer.inputs[1]).toMatchObject({ abandoned: true, complete: true, rows: DAY_B1.length + DAY_B2.length });
    expect(stateDifference(replayer.ledger.exportState(), ledgerOf([DAY_A]).exportState())).toBeUndefined();
  });

  it('a replayer that did not read the abandon ahead reports it, never a ledger with the undone rows', async () => {
    await journalWithUnfinishedB(false);
    await abandonUnfinishedInput(dir, { warn: () => undefined });
    const replayer = new Replayer();
    for (const record of records()) replayer.apply(record);
    expect(replayer.problems.join('\n')).toMatch(/input 1 is abandoned, but its rows were replayed \(the abandon was not read ahead\)/);
  });
});

describe('abandonUnfinishedInput', () => {
  it('undoes the unfinished input: recovery, replay and verify all give the state before it; a later input goes on from it', async () => {
    const warnings: string[] = [];
    await journalWithUnfinishedB(true);
    const inside = readdirSync(dir).filter((file) => file.startsWith('snapshot-'));
    expect(inside).toHaveLength(1);
    const done = await abandonUnfinishedInput(dir, { warn: (line) => warnings.push(line) });
    expect(done).toMatchObject({ rows: 5, lines: 6, input: { index: 1, name: 'b.csv' } });
    expect(warnings).toEqual([]);
    const before = ledgerOf([DAY_A]).exportState();
    expect(stateDifference(recover(dir, { warn: (line) => warnings.push(line) }).replayer.ledger.exportState(), before)).toBeUndefined();
    expect(stateDifference(replayJournal(dir).state, before)).toBeUndefined();
    const report = verifyJournal(dir);
    expect(report.problems).toEqual([]);
    expect(report.notes.join('\n')).toMatch(/snapshot .* was taken inside input 2, abandoned later: not checked, never used/);
    expect(report.summary[2]).toBe('  input 2: b.csv sha256 bbbbbbbbbbbb 5 rows (0 rejected), abandoned (none of its rows is applied)');

    // The same content runs again as a new input; another file runs at once.
    const journal = Journal.open(dir, { fsync: 'off', warn: (line) => warnings.push(line) });
    expect(journal.find(SHA_B)).toBeUndefined();
    expect(stateDifference(journal.recovered, before)).toBeUndefined();
    const ledger = Ledger.fromState(journal.recovered, 0);
    const c = journal.begin(SHA_C, 100, 'c.csv');
    const dayC = decided(DAY_C, ledger, 0, 1);
    journal.append(c, dayC.batch, dayC.place);
    journal.end(c);
    await journal.close();
    expect(warnings).toEqual([]);
    expect(stateDifference(replayJournal(dir).state, ledgerOf([DAY_A, DAY_C]).exportState())).toBeUndefined();
    expect(verifyJournal(dir).problems).toEqual([]);
  });

  it('killed after its record, before its snapshot: the next recovery passes over the snapshot inside the input', async () => {
    await journalWithUnfinishedB(true);
    const journal = Journal.open(dir, { fsync: 'off', warn: () => undefined });
    journal.abandon(unfinishedInput(journal.inputs)!);
    await journal.close(); // as a kill -9 here leaves it: the record, no snapshot of the restored state
    const warnings: string[] = [];
    const { replayer } = recover(dir, { warn: (line) => warnings.push(line) });
    expect(warnings).toEqual([]);
    expect(stateDifference(replayer.ledger.exportState(), ledgerOf([DAY_A]).exportState())).toBeUndefined();
    expect(readdirSync(dir).filter((file) => file.startsWith('snapshot-'))).toHaveLength(1); // passed over, not removed
    expect(verifyJournal(dir).problems).toEqual([]);
  });

  it('nothing unfinished: one line, nothing written', async () => {
    await journalWithUnfinishedB(false);
    await abandonUnfinishedInput(dir, { warn: () => undefined });
    const size = records().length;
    await expect(abandonUnfinishedInput(dir, { warn: () => undefined })).rejects.toThrow(
      `journal '${dir}' has no unfinished input (input 2 'b.csv', sha256 bbbbbbbbbbbb, is abandoned already); nothing to abandon`,
    );
    expect(records()).toHaveLength(size);
    await expect(abandonUnfinishedInput(join(dir, 'none'), { warn: () => undefined })).rejects.toThrow(`no journal in '${join(dir, 'none')}'`);
    expect(existsSync(join(dir, 'none'))).toBe(false);
  });
});
