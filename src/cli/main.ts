import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { type CliIo, ExitCode, UsageError, writeAll } from './cliIo.js';
import { FSYNC_MODES, type FsyncMode } from '../journal/journalWriter.js';
import { generateCommand } from './generateCommand.js';
import { replayCommand, verifyCommand } from './journalCommands.js';
import { runCommand } from './runCommand.js';
import { streamCommand } from '../stream/streamCommand.js';
import { accountsCommand } from '../cluster/accountsCommand.js';
import { consumeCommand } from '../cluster/consumeCommand.js';
import { publishCommand } from '../cluster/publishCommand.js';

const HELP_EXAMPLES = `
Examples:
  payrun transactions.csv > accounts.csv
  payrun --rejects rejects.csv -o accounts.csv transactions.csv
  cat transactions.csv | payrun - --strict
  payrun --journal ledger/ day1.csv > accounts.csv   # then day2.csv, ...; resumable
  payrun journal verify ledger/
  payrun generate -n 1000000 -c 5000 --seed 7 tx.csv
  payrun publish tx.csv --redis redis://127.0.0.1:6379    # cluster mode: see the README
  payrun consume --redis redis://127.0.0.1:6379 --journal ledgers/
  payrun accounts --redis redis://127.0.0.1:6379 --wait > accounts.csv
`;

const DEFAULT_REDIS = 'redis://127.0.0.1:6379';

function redisOptions(command: Command): Command {
  return command
    .option('--redis <url>', 'the Redis (7+) or Valkey server of the cluster', DEFAULT_REDIS)
    .option('--prefix <name>', 'the prefix of every key of the cluster (several clusters can share one server)', 'payrun');
}

function checkPrefix(prefix: string): void {
  if (!/^[A-Za-z0-9_.{}-]+$/.test(prefix)) throw new UsageError('--prefix may hold only letters, digits and _ . - { }');
}

/** The version, defined (esbuild `define`) only in the single-binary bundle, which has no package.json. */
declare const PAYRUN_VERSION: string | undefined;

export function packageVersion(): string {
  if (typeof PAYRUN_VERSION === 'string') return PAYRUN_VERSION;
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * The default worker count: the fastest measured (README, Benchmarks): one worker, so the main
 * thread parses while the worker decides (a two-stage pipeline); none on a single core. More
 * workers spread every step over them, which lost on our 2-core machines and is not measured on
 * bigger ones, so it stays a choice (`--workers N`) rather than a guess.
 */
export function defaultWorkers(cores = availableParallelism()): number {
  return cores >= 2 ? 1 : 0;
}

export function parseCount(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`${name} must be a whole number`);
    const n = Number(value.trim());
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}`);
    return n;
  };
}

/** Two of the named files being one path would overwrite the input or one output with another. */
function checkDistinct(paths: Record<string, string | undefined>): void {
  const seen = new Map<string, string>();
  for (const [role, path] of Object.entries(paths)) {
    if (path === undefined) continue;
    const other = seen.get(resolve(path));
    if (other !== undefined) throw new UsageError(`${other} and ${role} are the same file '${path}'`);
    seen.set(resolve(path), role);
  }
}

interface RunOptions {
  output?: string;
  rejects?: string;
  strict: boolean;
  quiet: boolean;
  workers?: number;
  journal?: string;
  fsync?: FsyncMode;
  snapshotEvery?: number;
}

/** Runs payrun with argv (without node and script) and returns the exit code; never calls process.exit. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  const errors: string[] = [];
  const program = new Command('payrun');
  const configure = (command: Command): Command =>
    command
      .exitOverride()
      .configureOutput({
        writeOut: (text) => io.stdout.write(text),
        writeErr: (text) => errors.push(text),
        outputError: (text) => errors.push(text),
      });

  configure(program)
    .enablePositionalOptions() // `generate -q` belongs to generate, not to the batch command
    .description('Apply a CSV of deposits, withdrawals, disputes, resolves and chargebacks; print every account.')
    .version(packageVersion(), '-V, --version')
    .argument('<file>', "transactions CSV ('-' reads standard input)")
    .option('-o, --output <file>', 'write accounts to FILE (atomically) instead of standard output')
    .option('--rejects <file>', 'write every rejected row to FILE as CSV: line,reason,row')
    .option('--strict', 'the first rejected row is fatal (exit 1)', false)
    .option('-q, --quiet', 'print nothing on stderr but fatal errors', false)
    .addOption(
      new Option('--workers <n>', 'worker threads; 0 runs in the main thread (default: chosen from the machine)').argParser(
        parseCount('--workers', 0, 64),
      ),
    )
    .option('--journal <dir>', 'keep the ledger in DIR: every decision journaled, resumable after a crash, accounts carried over between runs')
    .addOption(new Option('--fsync <mode>', 'with --journal: when the journal is flushed to disk').choices(FSYNC_MODES))
    .addOption(
      new Option('--snapshot-every <rows>', 'with --journal: rows between snapshots of the whole state').argParser(
        parseCount('--snapshot-every', 1, Number.MAX_SAFE_INTEGER),
      ),
    )
    .addHelpText('after', HELP_EXAMPLES)
    .action(async (file: string, opts: RunOptions) => {
      if (opts.rejects === '-') throw new UsageError("--rejects needs a file ('-' is where the accounts go)");
      if (opts.journal === undefined && opts.fsync !== undefined) throw new UsageError('--fsync goes with --journal');
      if (opts.journal === undefined && opts.snapshotEvery !== undefined) throw new UsageError('--snapshot-every goes with --journal');
      if (opts.journal !== undefined && opts.strict) {
        throw new UsageError('--strict and --journal do not go together (a strict run stops mid-batch and keeps nothing)');
      }
      checkDistinct({ input: file === '-' ? undefined : file, '--output': opts.output === '-' ? undefined : opts.output, '--rejects': opts.rejects });
      exitCode = await runCommand(file, { ...opts, workers: opts.workers ?? defaultWorkers() }, io);
    });

  configure(program.command('generate'))
    .description('write a realistic, reproducible test input file')
    .argument('<out>', 'the CSV file to write')
    .requiredOption('-n, --rows <n>', 'number of data rows', parseCount('--rows', 0, Number.MAX_SAFE_INTEGER))
    .requiredOption('-c, --clients <n>', 'number of clients', parseCount('--clients', 1, 65_536))
    .option('--seed <s>', 'seed for byte-for-byte reproducible output', parseCount('--seed', 0, 0xffffffff), 0)
    .option('--expected <file>', 'also write the accounts this file must produce (independent model)')
    .option('--crlf', 'end lines with CRLF', false)
    .option('--bom', 'start the file with a UTF-8 BOM', false)
    .option('-q, --quiet', 'print nothing on stderr but fatal errors', false)
    .addHelpText('after', '\nExample:\n  payrun generate -n 1000000 -c 5000 --seed 7 --expected expected.csv tx.csv\n')
    .action(async (out: string, opts: Parameters<typeof generateCommand>[1]) => {
      if (out === '-') throw new UsageError("generate writes a file; '-' is not one");
      checkDistinct({ output: out, '--expected': opts.expected });
      exitCode = await generateCommand(out, opts, io);
    });

  configure(program.command('stream'))
    .description('apply rows from standard input as they arrive; one NDJSON event per row on stdout')
    .option('--journal <dir>', 'keep the ledger in DIR (as the batch --journal): every row journaled before its event is printed')
    .addOption(new Option('--fsync <mode>', 'with --journal: when the journal is flushed to disk').choices(FSYNC_MODES))
    .option('--accounts <file>', 'keep FILE an up-to-date accounts CSV (rewritten atomically, at most every 200 ms, and at the end)')
    .option('-q, --quiet', 'print nothing on stderr but fatal errors', false)
    .addHelpText('after', '\nExample:\n  tail -f tx.csv | payrun stream --journal ledger/ --accounts accounts.csv\n')
    .action(async (opts: Parameters<typeof streamCommand>[0]) => {
      if (opts.journal === undefined && opts.fsync !== undefined) throw new UsageError('--fsync goes with --journal');
      if (opts.accounts === '-') throw new UsageError('--accounts needs a file (standard output carries the events)');
      exitCode = await streamCommand(opts, io);
    });

  redisOptions(configure(program.command('publish')))
    .description('put the rows of FILE on the cluster\'s partition streams (by client); re-running it adds nothing twice')
    .argument('<file>', 'the transactions CSV (a regular file)')
    .option('--partitions <n>', 'partition count, fixed by the first publish (default: 8)', parseCount('--partitions', 1, 1024))
    .option('--timeout <s>', 'give up (exit 1) after S seconds of an unreachable Redis', parseCount('--timeout', 1, 86_400), 30)
    .option('-q, --quiet', 'print nothing on stderr but fatal errors', false)
    .action(async (file: string, opts: { redis: string; prefix: string; partitions?: number; quiet: boolean; timeout: number }) => {
      if (file === '-') throw new UsageError('publish needs a regular file (an input is numbered by its content)');
      checkPrefix(opts.prefix);
      exitCode = await publishCommand(file, opts, io);
    });

  redisOptions(configure(program.command('consume')))
    .description('run a consumer: take a share of the partitions, apply their rows, journal them, relay the events; until SIGINT/SIGTERM')
    .requiredOption('--journal <dir>', 'the directory of the partition journals, shared by every consumer of the cluster')
    .option('--owner <name>', 'this consumer\'s name (default: host-pid); a restart under the same name takes its entries back at once')
    .addOption(new Option('--fsync <mode>', 'when the journals are flushed to disk (a batch is durable before its commit)').choices(FSYNC_MODES))
    .option('--lease-ms <ms>', 'partition lease time; a dead consumer\'s partitions move after it', parseCount('--lease-ms', 300, 600_000), 5000)
    .option('--batch <n>', 'entries read per partition at a time', parseCount('--batch', 1, 100_000), 1000)
    .option('--max-deliveries <n>', 'an entry taken over more often than N times without a commit goes to the dead letters', parseCount('--max-deliveries', 1, 1_000_000), 10)
    .option('--metrics-port <port>', 'serve Prometheus text metrics on 127.0.0.1:PORT', parseCount('--metrics-port', 1, 65_535))
    .option('-q, --quiet', 'log only errors', false)
    .action(async (opts: Parameters<typeof consumeCommand>[0]) => {
      checkPrefix(opts.prefix);
      exitCode = await consumeCommand(opts, io);
    });

  redisOptions(configure(program.command('accounts')))
    .description('print the merged accounts CSV of the whole cluster (the same bytes as `payrun FILE`)')
    .option('--wait', 'first wait until every published row is applied and committed', false)
    .option('--timeout <s>', 'with --wait: give up (exit 1) after S seconds', parseCount('--timeout', 1, 86_400), 600)
    .action(async (opts: Parameters<typeof accountsCommand>[0]) => {
      checkPrefix(opts.prefix);
      exitCode = await accountsCommand(opts, io);
    });

  const journal = configure(program.command('journal')).description('inspect a --journal directory');
  configure(journal.command('verify'))
    .description('check every record, snapshot and decision of a journal; exit 1 if anything is wrong')
    .argument('<dir>', 'the journal directory')
    .action(async (dir: string) => {
      exitCode = await verifyCommand(dir, io);
    });
  configure(journal.command('replay'))
    .description('rebuild the accounts from the journal\'s events alone (no input files), optionally as of an earlier point')
    .argument('<dir>', 'the journal directory')
    .option('--until-seq <s>', 'stop after journal record S', parseCount('--until-seq', 1, Number.MAX_SAFE_INTEGER))
    .option('--until-line <n>', 'stop after line N of an input (the last one, or --input K)', parseCount('--until-line', 1, Number.MAX_SAFE_INTEGER))
    .option('--input <k>', 'with --until-line: the K-th input the journal holds (1 = first)', parseCount('--input', 1, Number.MAX_SAFE_INTEGER))
    .option('-o, --output <file>', 'write accounts to FILE (atomically) instead of standard output')
    .action(async (dir: string, opts: { untilSeq?: number; untilLine?: number; input?: number; output?: string }) => {
      if (opts.untilSeq !== undefined && opts.untilLine !== undefined) throw new UsageError('--until-seq and --until-line do not go together');
      if (opts.input !== undefined && opts.untilLine === undefined) throw new UsageError('--input goes with --until-line');
      exitCode = await replayCommand(dir, { seq: opts.untilSeq, line: opts.untilLine, input: opts.input, output: opts.output }, io);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof UsageError) {
      await writeAll(io.stderr, `payrun: ${error.message} (see 'payrun --help')\n`);
      return ExitCode.Usage;
    }
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return ExitCode.Ok; // --help, --version
      const line = (errors.join('') || error.message).trim().split('\n')[0]!.replace(/^error: /, '');
      await writeAll(io.stderr, `payrun: ${line} (see 'payrun --help')\n`);
      return ExitCode.Usage;
    }
    throw error;
  }
}
