import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { countAccounts } from '../io/accountsCsv.js';
import { abandonedInputs } from './abandonedInputs.js';
import { JOURNAL_FILE, readJsonPayload, RecordKind, type SnapshotPayload } from './format.js';
import { describeInputId } from './inputKind.js';
import { type InputEntry, unfinishedInput } from './inputs.js';
import { readJournal } from './journalReader.js';
import { lostHistory } from './recovery.js';
import { Replayer } from './replayer.js';
import { UnrelayedBatch } from './unrelayedBatch.js';
import { isSnapshotName, isSnapshotTempName } from './snapshotFile.js';
import { snapshotHeader, SnapshotReader } from './snapshotReader.js';

export interface VerifyReport {
  /** What the journal holds, for a person. */
  summary: string[];
  /** Damage: the journal cannot be trusted as it is. */
  problems: string[];
  /** Worth knowing, nothing wrong with the ledger (a torn tail the next run cuts off, a stray file). */
  notes: string[];
}

/**
 * `payrun journal verify DIR`: reads every record (frame, checksum, sequence), replays every
 * decision from an empty ledger and checks it against the journal, and checks every snapshot
 * the journal names: present unless retired, intact, and equal to the replayed state at its
 * point. Read-only: it changes nothing, a torn tail included.
 */
export function verifyJournal(dir: string): VerifyReport {
  const report: VerifyReport = { summary: [], problems: [], notes: [] };
  const path = join(dir, JOURNAL_FILE);
  if (!existsSync(path)) {
    report.problems.push(`no journal: ${path} does not exist`, ...lostHistoryProblems(dir, 0, 0));
    return report;
  }
  const abandoned = abandonedInputs(path);
  const replayer = new Replayer(undefined, [], 0, abandoned);
  /** Snapshot files the journal names and has not retired; those found absent when named. */
  const named = new Set<string>();
  const absent = new Set<string>();
  let records = 0;
  let snapshotsChecked = 0;
  const unrelayed = new UnrelayedBatch();
  let end = 0;
  let lastSeq = 0;
  const ending = readJournal(path, 0, (record) => {
    records++;
    end = record.end;
    lastSeq = record.seq;
    if (records === 1 && record.kind !== RecordKind.Start) report.problems.push('the journal does not begin with its start record');
    replayer.apply(record);
    unrelayed.see(record, replayer.inputs);
    if (record.kind !== RecordKind.Snapshot) return;
    let payload: SnapshotPayload;
    try {
      payload = readJsonPayload<SnapshotPayload>(record.payload);
    } catch {
      return; // reported by the replayer
    }
    named.add(payload.file);
    for (const file of payload.retired) named.delete(file);
    if (!existsSync(join(dir, payload.file))) {
      absent.add(payload.file);
      return;
    }
    const givenUp = unfinishedInput(replayer.inputs);
    if (givenUp !== undefined && abandoned.has(givenUp.index)) {
      report.notes.push(`snapshot ${payload.file} (record ${record.seq}) was taken inside input ${givenUp.index + 1}, abandoned later: not checked, never used`);
      return;
    }
    const problem = checkSnapshot(dir, payload, record.seq, record.offset, replayer);
    if (problem) report.problems.push(`snapshot ${payload.file} (record ${record.seq}): ${problem}`);
    snapshotsChecked++;
  });
  report.problems.push(...replayer.problems);
  if (unrelayed.offset !== undefined) {
    report.notes.push(`a batch at byte ${unrelayed.offset} has no outbox record after it (a consumer crashed between the two): the next consumer cuts it off and reads its entries again`);
  }
  if (ending.kind === 'damaged') {
    report.problems.push(`damaged record at byte ${ending.offset} (${ending.why}), with good records after it: the journal cannot be read past it`);
  } else if (ending.kind === 'torn') {
    report.notes.push(`torn last record at byte ${ending.offset} (${ending.why}): a crash cut a write short; the next run cuts it off and reads its rows again from the input`);
  }
  const lost = lostHistoryProblems(dir, end, lastSeq);
  report.problems.push(...lost);
  for (const file of named) {
    if (absent.has(file)) report.problems.push(`snapshot ${file} is missing (the journal still holds every record: the next run rebuilds the state from it)`);
  }
  for (const file of readdirSync(dir).filter(isSnapshotName)) {
    if (!named.has(file) && !lost.some((problem) => problem.startsWith(`snapshot ${file} `))) report.notes.push(`${file} is not a snapshot the journal names (left by a crash, or retired); it is never used`);
  }
  for (const file of readdirSync(dir).filter(isSnapshotTempName).sort()) {
    report.notes.push(`${file} is a snapshot a crash left half-written; it is never used, and the next run removes it`);
  }
  const { inputs } = replayer;
  const open = unfinishedInput(inputs);
  report.summary.push(
    `journal '${dir}': ${records} records, ${replayer.rows} rows, ${inputs.length} input${inputs.length === 1 ? '' : 's'}${open ? ` (the last unfinished, at line ${open.nextLine})` : ''}, ${snapshotsChecked} snapshot${snapshotsChecked === 1 ? '' : 's'} checked, ${countAccounts(replayer.ledger)} accounts`,
  );
  inputs.forEach((input) => {
    report.summary.push(`  input ${input.index + 1}: ${input.name} ${describeInputId(input)} ${input.rows} rows (${input.rejected} rejected), ${inputState(input)}`);
  });
  return report;
}

function inputState(input: InputEntry): string {
  if (input.abandoned === true) return `abandoned (none of its rows is applied)`;
  return input.complete ? 'applied' : `unfinished at line ${input.nextLine}`;
}

/** Every intact snapshot file that holds the state as of a record past the journal's last good one. */
function lostHistoryProblems(dir: string, end: number, lastSeq: number): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter(isSnapshotName)
    .sort()
    .flatMap((file) => {
      try {
        const lost = lostHistory(file, snapshotHeader(dir, file), end, lastSeq);
        return lost === undefined ? [] : [lost];
      } catch {
        return []; // a damaged snapshot is reported where the journal names it, and proves nothing
      }
    });
}

/**
 * What is wrong with a snapshot named by a Snapshot record, against the state replayed up to
 * it: the file streamed and compared entry by entry with the replayed ledger (SnapshotReader),
 * so verify holds one ledger, never a second state.
 */
function checkSnapshot(dir: string, payload: SnapshotPayload, recordSeq: number, recordOffset: number, replayer: Replayer): string | undefined {
  let reader;
  try {
    reader = SnapshotReader.open(dir, payload.file);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  try {
    const { header: snapshot, bytes, crc } = reader;
    if (bytes !== payload.bytes || crc !== payload.crc) return 'its size or checksum is not the one the journal recorded';
    if (snapshot.seq !== recordSeq - 1 || payload.seq !== recordSeq - 1) return `it is of record ${snapshot.seq}, the journal says ${recordSeq - 1}`;
    if (snapshot.journalOffset !== recordOffset) return `it points at byte ${snapshot.journalOffset}, its record is at byte ${recordOffset}`;
    const difference = reader.difference(replayer.ledger);
    if (difference) return `its state is not the journal's replayed state: ${difference}`;
    if (!reader.sameInputs(replayer.inputs)) return 'its inputs are not the journal\'s';
    return undefined;
  } finally {
    reader.close();
  }
}
