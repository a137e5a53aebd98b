import { reasonCode } from '../../domain/rejectReason.js';
import { chunkBytesFor, createEngine } from '../../workers/createEngine.js';
import { type RunResult, run, StrictReject } from '../../engine/run.js';
import { type AccountBalances, countAccounts } from '../../io/accountsCsv.js';
import { formatAccountsAs } from '../../io/accountsJson.js';
import type { OutputFormat } from '../../io/outputFormat.js';
import { RejectsFile, type RejectSink } from '../../io/rejectsWriter.js';
import { DEFAULT_FSYNC, type FsyncMode } from '../../journal/fsyncMode.js';
import { writeAccounts, writeFileAtomic } from '../../io/accountsOutput.js';
import { type CliIo, ExitCode } from '../cliIo.js';
import { writeAll } from '../../io/writeAll.js';
import { cleanUpAfterFailure, describeError } from '../errors.js';
import { InputError } from '../../io/inputError.js';
import type { InputSource } from '../../io/inputSource.js';
import { openInputNoticingWait } from '../inputWaiting.js';
import type { JournalSession } from '../../session/journalSession.js';
import { startProgress } from '../progress.js';
import { StopSignal } from '../stopSignal.js';
import { formatSummary, summaryJson } from '../summary.js';

export interface RunCommandOptions {
  output?: string;
  rejects?: string;
  strict: boolean;
  quiet: boolean;
  workers: number;
  journal?: string;
  fsync?: FsyncMode;
  snapshotEvery?: number;
  /** How the accounts are printed (default csv). */
  format?: OutputFormat;
  /** Also write the summary's numbers to this file as JSON (atomically), quiet or not. */
  summaryJson?: string;
}

const SIGNAL_EXIT: Record<string, number> = { SIGINT: ExitCode.Interrupted, SIGTERM: ExitCode.Terminated };

/** `payrun [options] <file>`: the batch run, optionally through a journal. Returns the exit code. */
export async function runCommand(file: string, options: RunCommandOptions, io: CliIo): Promise<number> {
  const started = performance.now();
  let rejects: RejectsFile | undefined;
  let session: JournalSession | undefined;
  let name = file;
  const say = async (line: string): Promise<void> => {
    if (!options.quiet) await writeAll(io.stderr, `payrun: ${line}\n`);
  };
  const warnings: string[] = [];
  // A journaled run answers every SIGINT/SIGTERM with its line, from the start (before the journal
  // is open) to the end (after it is closed, while the accounts are written), never the default death.
  const stop = options.journal !== undefined ? new StopSignal() : undefined;
  const lateStop = async (what: string): Promise<number | undefined> => {
    const signal = stop?.signal;
    if (signal === undefined) return undefined;
    await writeAll(io.stderr, `payrun: stopped by ${signal} ${what}\n`);
    return SIGNAL_EXIT[signal] ?? ExitCode.Terminated;
  };
  try {
    const input = await openInputNoticingWait(file, io.stdin, io, options.quiet, chunkBytesFor(options.workers));
    name = input.name;
    if (options.journal !== undefined) {
      const { JournalSession } = await import('../../session/journalSession.js'); // a plain run loads no journal code
      session = JournalSession.open(input, { dir: options.journal, fsync: options.fsync ?? DEFAULT_FSYNC, snapshotEvery: options.snapshotEvery, warn: (line) => warnings.push(line) });
      session.signal ??= stop?.signal; // a signal while the journal opened: stop at the first batch
    }
    for (const line of warnings.splice(0)) await say(line);
    if (options.rejects !== undefined) rejects = new RejectsFile(options.rejects);
    const rejectsCsv = rejects?.csv;
    const onReject = rejectsCsv ? rejectsCsv.add.bind(rejectsCsv) : undefined;
    if (onReject) session?.replayRejects(onReject);

    const resumedRows = session?.plan.kind === 'resume' ? session.plan.input.rows : undefined;
    const { accounts, result } = await applyInput(input, session, options, io, onReject, say);
    const openRejects = rejects;
    rejects = undefined;
    openRejects?.close();
    if (result?.stopped && session) {
      const signal = session.signal ?? 'SIGTERM';
      await session.close();
      await writeAll(io.stderr, `payrun: stopped by ${signal} after line ${session.stoppedAt} of ${name}; journal '${session.dir}' holds every row so far: run the same command to resume\n`);
      return SIGNAL_EXIT[signal] ?? ExitCode.Terminated;
    }
    const dir = session?.dir;
    await session?.close();
    session = undefined;
    const before = await lateStop(`after the whole of ${name} was journaled in '${dir}'; run the same command to print the accounts`);
    if (before !== undefined) return before;
    await writeAccounts(formatAccountsAs(accounts, options.format ?? 'csv'), options.output, io.stdout);
    const after = await lateStop(`after the whole of ${name} was journaled in '${dir}' and its accounts written`);
    if (after !== undefined) return after;
    const seconds = (performance.now() - started) / 1000;
    if (options.summaryJson !== undefined) writeFileAtomic(options.summaryJson, summaryJson(result?.stats, countAccounts(accounts), seconds));
    if (!options.quiet && result) await writeAll(io.stderr, formatSummary(result.stats, countAccounts(accounts), seconds, resumedRows));
    return ExitCode.Ok;
  } catch (error) {
    for (const line of warnings.splice(0)) await say(line);
    await cleanUpAfterFailure(() => rejects?.close());
    await cleanUpAfterFailure(() => session?.close());
    const message =
      error instanceof StrictReject
        ? `payrun: row rejected under --strict: ${reasonCode(error.reason)} (${name}:${error.line})`
        : describeError(error, name) + (error instanceof InputError && session?.leftUnfinished !== undefined ? `; ${session.leftUnfinished}` : '');
    await writeAll(io.stderr, `${message}\n`);
    return ExitCode.Fatal;
  } finally {
    stop?.remove();
  }
}

/** Runs the rows of the input that are not applied yet (none when its journal holds them all): the accounts after them. */
async function applyInput(
  input: InputSource,
  session: JournalSession | undefined,
  options: RunCommandOptions,
  io: CliIo,
  onReject: RejectSink | undefined,
  say: (line: string) => Promise<void>,
): Promise<{ accounts: AccountBalances; result?: RunResult }> {
  if (session?.plan.kind === 'done') {
    const { input: applied } = session.plan;
    await say(`${input.name} is already applied in journal '${session.dir}' (input ${applied.index + 1}, sha256 ${applied.sha256.slice(0, 12)}, ${applied.rows} rows); nothing to do`);
    return { accounts: session.takeLedger() };
  }
  if (session?.plan.kind === 'resume') await say(`resuming ${input.name} at line ${session.plan.input.nextLine + 1} (journal '${session.dir}')`);
  const progress = await startProgress(io.stderr, !options.quiet, input.size);
  try {
    const result = await run(session ? session.chunks : input.lines, {
      engine: createEngine(options.workers, session ? session.remainingBytes : input.size, session?.takeLedger()),
      strict: options.strict,
      onReject,
      onProgress: (stats) => progress.update(stats.bytes + (session?.start?.offset ?? 0), stats.rows),
      ...session?.hooks(),
    });
    return { accounts: result.accounts, result };
  } finally {
    progress.stop();
  }
}
