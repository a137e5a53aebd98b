import { type CliIo, ExitCode } from '../cliIo.js';
import { writeAll } from '../../io/writeAll.js';
import { cleanUpAfterFailure, describeError } from '../errors.js';
import { formatSummary } from '../summary.js';
import { Ledger } from '../../domain/ledger.js';
import { RunStats } from '../../engine/runStats.js';
import { countAccounts } from '../../io/accountsCsv.js';
import { InputError } from '../../io/inputError.js';
import { skipLines } from '../../io/skipLines.js';
import { sayIfWaiting } from '../../io/waitingNotice.js';
import { waitingSayer } from '../inputWaiting.js';
import { wholeLines } from '../../io/wholeLines.js';
import { DEFAULT_FSYNC, type FsyncMode } from '../../journal/fsyncMode.js';
import { AccountsFile } from '../../io/accountsFile.js';
import { decideRows } from '../../engine/decideRows.js';
import { writeEvents } from '../../io/eventsOutput.js';
import { LineGroups } from '../../io/lineGroups.js';
import { STOPPED, StopSignal } from '../stopSignal.js';
import { StreamJournal } from '../../session/streamJournal.js';

export interface StreamCommandOptions {
  journal?: string;
  fsync?: FsyncMode;
  accounts?: string;
  /** With journal: the name of the stream source, resumed after its lines already journaled. */
  source?: string;
  quiet: boolean;
}

const SIGNAL_EXIT: Record<string, number> = { SIGINT: ExitCode.Interrupted, SIGTERM: ExitCode.Terminated };
const NAME = 'stdin';

/**
 * `payrun stream`: rows from standard input applied as they arrive, one NDJSON event per data
 * row on stdout, in input order. Each group of whole lines read is parsed, decided, journaled
 * (with --journal) and only then printed: an event is an acknowledgement. Returns the exit code.
 */
export async function streamCommand(options: StreamCommandOptions, io: CliIo): Promise<number> {
  const started = performance.now();
  const stats = new RunStats();
  let groups = new LineGroups();
  const stop = new StopSignal();
  const warnings: string[] = [];
  let journal: StreamJournal | undefined;
  let accounts: AccountsFile | undefined;
  let ledger: Ledger | undefined;
  let closed = false;
  const say = async (lines: string[]): Promise<void> => {
    for (const line of lines.splice(0)) if (!options.quiet) await writeAll(io.stderr, `payrun: ${line}\n`);
  };
  // The last durable steps, synchronous so that they also run when stdout closes (eventsOutput.ts).
  const finish = (): void => {
    accounts?.finish();
    if (ledger) journal?.finish(ledger);
  };
  try {
    if (options.journal !== undefined) journal = StreamJournal.open(options.journal, options.fsync ?? DEFAULT_FSYNC, (line) => warnings.push(line), options.source);
    if (journal && options.source === undefined) {
      warnings.push('stream without --source: a restart is a new input, so rows fed to it again are applied again (--source NAME resumes a named source after its rows)');
    }
    await say(warnings);
    const live = journal ? Ledger.fromState(journal.state) : new Ledger();
    ledger = live;
    if (options.accounts !== undefined) accounts = new AccountsFile(options.accounts, live);
    const start = journal?.start;
    groups = new LineGroups(start);
    let lines = wholeLines(io.stdin as AsyncIterable<Buffer>);
    const sayWaiting = waitingSayer(io, options.quiet, NAME);
    if (sayWaiting !== undefined) lines = sayIfWaiting(lines, sayWaiting);
    // A named source fed again from its start: the lines the journal holds are read and dropped.
    if (journal && start) lines = skipLines(lines, start.line, (skipped) => warnings.push(journal!.skipped(options.source!, skipped)));
    const source = lines[Symbol.asyncIterator]();
    for (;;) {
      const next = await stop.race(source.next());
      await say(warnings);
      if (next === STOPPED || next.done === true) break;
      const { batch, place } = groups.take(next.value);
      const events = decideRows(live, batch, place.base, stats);
      stats.bytes = place.nextOffset;
      journal?.record(batch, place, live);
      if (batch.count === 0) continue;
      accounts?.changed();
      closed = !(await writeEvents(io.stdout, events, finish));
      if (closed) break;
    }
    finish();
    await journal?.close();
    journal = undefined;
    // The reader left (EPIPE): end quietly, exit 0.
    if (closed) return ExitCode.Ok;
    const signal = stop.signal;
    if (signal !== undefined && options.journal !== undefined) {
      await writeAll(io.stderr, `payrun: stream stopped by ${signal} after line ${groups.lines} of ${NAME}; journal '${options.journal}' holds every row so far${options.source === undefined ? '' : `; source ${options.source} goes on after it`}\n`);
    } else if (!options.quiet) {
      await writeAll(io.stderr, formatSummary(stats, countAccounts(live), (performance.now() - started) / 1000));
    }
    return signal !== undefined ? (SIGNAL_EXIT[signal] ?? ExitCode.Terminated) : ExitCode.Ok;
  } catch (error) {
    await say(warnings);
    // Every event printed is kept: the accounts file and the journal end where they are.
    await cleanUpAfterFailure(() => {
      if (groups.started) finish();
      else {
        accounts?.stop();
        if (ledger) journal?.finish(ledger);
      }
    });
    await cleanUpAfterFailure(() => journal?.close());
    // A line too long is met by the reader, which counts no lines: it is the one after the last group.
    const placed = error instanceof InputError && error.line === undefined ? new InputError(error.message, groups.lines + 1, error.detail) : error;
    await writeAll(io.stderr, `${describeError(placed, NAME)}\n`);
    return ExitCode.Fatal;
  } finally {
    stop.remove();
    accounts?.stop();
    // A never-ending producer keeps stdin open: let go of it, or the process would wait for it.
    io.stdin.destroy();
  }
}
