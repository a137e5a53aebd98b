// What a file run (`payrun --journal DIR file`) does with the journal's unfinished input when it
// is a stream: a stdin stream (a killed `payrun stream --journal`) can never be resumed, so it is
// closed with one warning and the file goes on; another stream's input is refused, with a
// message about that stream (not the "run that file again" meant for files).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openInput } from '../src/io/inputSource.js';
import { JournalSession } from '../src/session/journalSession.js';
import { Journal } from '../src/journal/journal.js';
import { JournalError } from '../src/journal/journalError.js';
import { verifyJournal } from '../src/journal/verify.js';
import { stdinStreamId } from '../src/journal/inputKind.js';

let tmp = '';
let dir = '';
let file = '';
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'payrun-session-'));
  dir = join(tmp, 'journal');
  file = join(tmp, 'day.csv');
  writeFileSync(file, 'type,client,tx,amount\ndeposit,1,1,1\n');
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/** A journal whose last input, `id`, was begun and never ended. */
async function leaveUnfinished(id: string): Promise<void> {
  const journal = Journal.open(dir, { fsync: 'off', warn: () => undefined });
  journal.begin(id, 0, 'stdin');
  await journal.close();
}

function open(warnings: string[]): JournalSession {
  return JournalSession.open(openInput(file, process.stdin), { dir, fsync: 'off', warn: (line) => warnings.push(line) });
}

describe('JournalSession.open on a journal with an unfinished stream input', () => {
  it('a stdin stream: closed, with one warning; the file is new', async () => {
    await leaveUnfinished(stdinStreamId(new Date(0), 7));
    const warnings: string[] = [];
    const session = open(warnings);
    expect(session.plan.kind).toBe('new');
    await session.close();
    expect(warnings).toEqual([`journal '${dir}': closed the unfinished stream input 1 (0 rows applied, up to line 0), left by a stream run that did not end; its rows stay applied`]);
    expect(verifyJournal(dir).summary[1]).toBe('  input 1: stdin id stream:stdin:1970-01-01T00:00:00.000Z:7 0 rows (0 rejected), applied');
    // Closed for good: the next open has nothing to say.
    const next: string[] = [];
    await open(next).close();
    expect(next).toEqual([]);
  });

  it('another stream (a cluster partition): refused, naming the stream in full', async () => {
    await leaveUnfinished('stream:partition:payrun:tx:3');
    const warnings: string[] = [];
    let error: unknown;
    try {
      open(warnings);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(JournalError);
    expect((error as Error).message).toBe(
      `journal '${dir}' has an unfinished stream input 'stream:partition:payrun:tx:3' (0 rows applied, up to line 0); only the stream run that began it goes on with it, so no file can be run on this journal`,
    );
    expect(warnings).toEqual([]);
    expect(verifyJournal(dir).summary[1]).toMatch(/unfinished at line 0$/);
  });
});
