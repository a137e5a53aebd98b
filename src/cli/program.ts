import { type Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_FSYNC, FSYNC_MODES, type FsyncMode } from '../journal/fsyncMode.js';
import { DEFAULT_SNAPSHOT_EVERY } from '../journal/journalDefaults.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../io/outputFormat.js';
import { type CliIo, UsageError } from './cliIo.js';
import type { AccountsCommandOptions } from './commands/accounts.js';
import type { ConsumeCommandOptions } from './commands/consume.js';
import type { EventsCommandOptions } from './commands/events.js';
import type { GenerateCommandOptions } from './commands/generate.js';
import type { PublishCommandOptions } from './commands/publish.js';
import type { RelayCliOptions } from './commands/relay.js';
import type { StreamCommandOptions } from './commands/stream.js';
import type { RedisTarget } from '../cluster/redisTarget.js';
import { grouped } from './summary.js';
import { checkDistinct, checkPrefix, DEFAULT_REDIS, defaultWorkers, packageVersion, parseCount, regularFileBytes } from './options.js';

/**
 * Every command's options, and its action. An action imports its command's module when it runs
 * (`await import`), so a batch run loads no cluster, stream or journal code, and no ioredis.
 */


/** What an action needs: a new sub-command wired to main's output and error capture, the io, where its exit code goes. */
export interface ProgramContext {
  configure: (command: Command) => Command;
  io: CliIo;
  exit: (code: number) => void;
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
  format: OutputFormat;
  summaryJson?: string;
}

/** No commander default: an --fsync given without --journal is a usage error, so the default is only shown. */
const fsyncOption = (description: string): Option => new Option('--fsync <mode>', `${description} (default: ${DEFAULT_FSYNC})`).choices(FSYNC_MODES);
const formatOption = (what: string): Option =>
  new Option('--format <format>', `${what} as csv, json (one array) or ndjson (one object per line); amounts are exact decimal strings`)
    .choices(OUTPUT_FORMATS)
    .default('csv');

export function defineBatchRun(program: Command, { io, exit }: ProgramContext): void {
  program
    .enablePositionalOptions() // `generate -q` belongs to generate, not to the batch command
    .description('Apply a CSV of deposits, withdrawals, disputes, resolves and chargebacks; print every account.')
    .version(packageVersion(), '-V, --version')
    .argument('<file>', "transactions CSV ('-' reads standard input)")
    .option('-o, --output <file>', 'write accounts to FILE (atomically) instead of standard output')
    .option('--rejects <file>', 'write every rejected row to FILE as CSV: line,reason,row')
    .addOption(formatOption('the accounts'))
    .option('--strict', 'the first rejected row is fatal (exit 1)', false)
    .option('-q, --quiet', 'print nothing on stderr but fatal errors', false)
    .option('--summary-json <file>', 'also write the summary as JSON to FILE (atomically; with --quiet too): rows, applied, rejected, rejectedByReason, accounts, seconds, rowsPerSecond')
    .addOption(
      new Option('--workers <n>', 'worker threads; 0 runs in the main thread (default: 0 for a file under 16 MiB, else 1 on 2+ cores)').argParser(
        parseCount('--workers', 0, 64),
      ),
    )
    .option('--journal <dir>', 'keep the ledger in DIR: every decision journaled, resumable after a crash, accounts carried over between runs')
    .addOption(fsyncOption('with --journal: when the journal is flushed to disk'))
    .addOption(
      new Option('--snapshot-every <rows>', `with --journal: rows between snapshots of the whole state (default: ${grouped(DEFAULT_SNAPSHOT_EVERY)})`).argParser(
        parseCount('--snapshot-every', 1, Number.MAX_SAFE_INTEGER),
      ),
    )
    .action(async (file: string, opts: RunOptions) => {
      if (opts.rejects === '-') throw new UsageError("--rejects needs a file ('-' is where the accounts go)");
      if (opts.summaryJson === '-') throw new UsageError("--summary-json needs a file ('-' is where the accounts go)");
      if (opts.journal === undefined && opts.fsync !== undefined) throw new UsageError('--fsync goes with --journal');
      if (opts.journal === undefined && opts.snapshotEvery !== undefined) throw new UsageError('--snapshot-every goes with --journal');
      if (opts.journal !== undefined && opts.strict) {
        throw new UsageError('--strict and --journal do not go together (a strict run stops mid-batch and keeps nothing)');
      }
      const toStdout = opts.output === undefined || opts.output === '-';
      checkDistinct(
        { input: file === '-' ? undefined : file, '--output': toStdout ? undefined : opts.output, '--rejects': opts.rejects, '--summary-json': opts.summaryJson },
        opts.journal,
        toStdout ? 'the accounts' : undefined,
      );
      const { runCommand } = await import('./commands/run.js');
      exit(await runCommand(file, { ...opts, workers: opts.workers ?? defaultWorkers(undefined, regularFileBytes(file)) }, io));
    });
}

export function defineGenerate(program: Command, { configure, io, exit }: ProgramContext): void {
  configure(program.command('generate'))
    .description('write a realistic, reproducible test input file')
    .argument('<out>', 'the CSV file to write')
    .requiredOption('-n, --rows <n>', 'number of data rows', parseCount('--rows', 0, Number.MAX_SAFE_INTEGER))
    .requiredOption('-c, --clients <n>', 'number of clients', parseCount('--clients', 1, 65_536))
    .option('--seed <s>', 'seed for byte-for-byte reproducible output', parseCount('--seed', 0, 0xffffffff), 0)
    .option('--first-tx <n>', 'the first transaction id, for a series of files (day 2 after day 1); the mix is the seed\'s (default: a ten-digit id drawn from the seed)', parseCount('--first-tx', 0, 4_294_967_295))
    .option('--expected <file>', 'also write the accounts this file must produce; slower, since it also runs the independent reference model over every row (measured: 1M rows in ~4.8 s instead of ~1 s)')
    .option('--crlf', 'end lines with CRLF', false)
    .option('--bom', 'start the file with a UTF-8 BOM', false)
    .option('-q, --quiet', 'print nothing on stderr but fatal errors', false)
    .action(async (out: string, opts: GenerateCommandOptions) => {
      if (out === '-') throw new UsageError("generate writes a file; '-' is not one");
      checkDistinct({ output: out, '--expected': opts.expected });
      const { generateCommand } = await import('./commands/generate.js');
      exit(await generateCommand(out, opts, io));
    });
}

export function defineStream(program: Command, { configure, io, exit }: ProgramContext): void {
  configure(program.command('stream'))
    .description('apply rows from standard input as they arrive; one NDJSON event per row on stdout')
    .option('--journal <dir>', 'keep the ledger in DIR (as the batch --journal): every row journaled before its event is printed')
    .addOption(fsyncOption('with --journal: when the journal is flushed to disk'))
    .option('--source <name>', 'with --journal: name the stream; a restart with the same NAME skips the lines already applied for it (no event is printed twice)')
    .option('--accounts <file>', 'keep FILE an up-to-date accounts CSV (rewritten atomically, at most every 200 ms, and at the end)')
    .option('-q, --quiet', 'print nothing on stderr but fatal errors', false)
    .action(async (opts: StreamCommandOptions) => {
      if (opts.journal === undefined && opts.fsync !== undefined) throw new UsageError('--fsync goes with --journal');
      if (opts.journal === undefined && opts.source !== undefined) throw new UsageError('--source goes with --journal (the journal is what remembers its lines)');
      if (opts.source !== undefined && !/^[\w.:@-]{1,200}$/.test(opts.source)) {
        throw new UsageError(`--source '${opts.source}': a name of letters, digits and . _ : @ - (at most 200)`);
      }
      if (opts.accounts === '-') throw new UsageError('--accounts needs a file (standard output carries the events)');
      checkDistinct({ '--accounts': opts.accounts }, opts.journal, opts.accounts === undefined ? undefined : 'the events');
      const { streamCommand } = await import('./commands/stream.js');
      exit(await streamCommand(opts, io));
    });
}

function redisOptions(command: Command): Command {
  return command
    .option(
      '--redis <url>',
      "the Redis (7+) or Valkey server of the cluster: redis://[user[:password]@]host[:port][/db] (db 0-15, Redis's default databases), rediss:// for TLS. A password in the URL shows in process listings until payrun starts: prefer REDIS_PASSWORD (or REDISCLI_AUTH) or --redis-password-file",
      DEFAULT_REDIS,
    )
    .option('--redis-cluster <urls>', 'a Redis Cluster instead of one server: seed nodes URL[,URL...] (each as for --redis, db 0); every key of a partition is in one slot')
    .option('--redis-password-file <file>', 'read the Redis password from FILE (one trailing newline is ignored)')
    .option('--prefix <name>', 'the prefix of every key of the cluster (several clusters can share one server)', 'payrun');
}

/** A cluster command's options as commander gives them (--redis still the text). */
type Cli<T> = Omit<T, 'redis'> & RedisCliOptions;


/** The options every cluster command has, as commander gives them. */
interface RedisCliOptions {
  redis: string;
  redisCluster?: string;
  redisPasswordFile?: string;
  prefix: string;
}

/**
 * --redis, --redis-password-file and the environment checked before anything connects (a bad
 * value is a usage error), and a password given in the URL blanked from this process's title.
 */
async function redisTargetOf(opts: RedisCliOptions, command?: Command): Promise<RedisTarget> {
  checkPrefix(opts.prefix);
  const { redisTarget, redisClusterTarget, redactRedisUrl, RedisTargetError } = await import('../cluster/redisTarget.js');
  if (opts.redisCluster !== undefined && command?.getOptionValueSource('redis') === 'cli') throw new UsageError('--redis and --redis-cluster do not go together: give one');
  const raw = opts.redisCluster ?? opts.redis;
  let target: RedisTarget;
  try {
    const sources = { passwordFile: opts.redisPasswordFile, env: process.env };
    target = opts.redisCluster !== undefined ? redisClusterTarget(raw, sources) : redisTarget(raw, sources);
  } catch (error) {
    if (error instanceof RedisTargetError) throw new UsageError(error.message);
    throw error;
  }
  if (target.passwordInUrl && process.argv.some((arg) => arg.includes(raw))) {
    process.title = process.argv.map((arg) => arg.replace(raw, raw.split(',').map(redactRedisUrl).join(','))).join(' ');
  }
  return target;
}

export function defineCluster(program: Command, { configure, io, exit }: ProgramContext): void {
  redisOptions(configure(program.command('publish')))
    .description("put the rows of FILE on the cluster's partition streams (by client); re-running it adds nothing twice")
    .argument('<file>', 'the transactions CSV (a regular file)')
    .option('--partitions <n>', 'partition count, fixed by the first publish (default: 8)', parseCount('--partitions', 1, 1024))
    .option('--timeout <s>', 'give up (exit 1) after S seconds of an unreachable Redis', parseCount('--timeout', 1, 86_400), 30)
    .option('--chunk-rows <n>', 'rows of one partition per stream entry', parseCount('--chunk-rows', 1, 65_536), 256)
    .option('-q, --quiet', 'print nothing on stderr but fatal errors', false)
    .action(async (file: string, opts: Cli<PublishCommandOptions>, command: Command) => {
      if (file === '-') throw new UsageError('publish needs a regular file (an input is numbered by its content)');
      const redis = await redisTargetOf(opts, command);
      const { publishCommand } = await import('./commands/publish.js');
      exit(await publishCommand(file, { ...opts, redis }, io));
    });

  redisOptions(configure(program.command('consume')))
    .description("run a consumer: take a share of the partitions (their state from Redis: no shared disk), apply their rows, commit the events and balances; until SIGINT/SIGTERM")
    .option('--journal <dir>', "accepted and not used: a consumer keeps nothing on disk (the partitions' state is in Redis, so any consumer can take any partition over); DIR is not created")
    .option('--owner <name>', "this consumer's name (default: host-pid); a restart under the same name takes its partitions back at once (their leases are its own)")
    .option('--lease-ms <ms>', "partition lease time; a dead consumer's partitions move after it", parseCount('--lease-ms', 300, 600_000), 5000)
    .option('--batch <n>', 'stream entries (chunks of rows) read per partition at a time', parseCount('--batch', 1, 100_000), 32)
    .option('--max-deliveries <n>', 'an entry taken over more often than N times without a commit goes to the dead letters', parseCount('--max-deliveries', 1, 1_000_000), 10)
    .option('--metrics-port <port>', 'serve Prometheus text metrics on 127.0.0.1:PORT', parseCount('--metrics-port', 1, 65_535))
    .option('-q, --quiet', 'log only errors', false)
    .action(async (opts: Cli<ConsumeCommandOptions>, command: Command) => {
      const redis = await redisTargetOf(opts, command);
      const { consumeCommand } = await import('./commands/consume.js');
      exit(await consumeCommand({ ...opts, redis }, io));
    });

  redisOptions(configure(program.command('accounts')))
    .description('print the merged accounts CSV of the whole cluster (the same bytes as `payrun FILE`)')
    .option('--wait', 'first wait until every published row is applied and committed', false)
    .option('--timeout <s>', 'with --wait: give up (exit 1) after S seconds', parseCount('--timeout', 1, 86_400), 600)
    .option('-q, --quiet', 'no note on stderr when some rows are not applied yet', false)
    .addOption(formatOption('the accounts'))
    .action(async (opts: Cli<AccountsCommandOptions>, command: Command) => {
      const redis = await redisTargetOf(opts, command);
      const { accountsCommand } = await import('./commands/accounts.js');
      exit(await accountsCommand({ ...opts, redis }, io));
    });

  redisOptions(configure(program.command('events')))
    .description("print every committed row event of the cluster as NDJSON (as `payrun stream` writes them), in publish order")
    .action(async (opts: Cli<EventsCommandOptions>, command: Command) => {
      const redis = await redisTargetOf(opts, command);
      const { eventsCommand } = await import('./commands/events.js');
      exit(await eventsCommand({ ...opts, redis }, io));
    });
}

export function defineJournal(program: Command, { configure, io, exit }: ProgramContext): void {
  const journal = configure(program.command('journal')).description('inspect a --journal directory');
  configure(journal.command('verify'))
    .description('check every record, snapshot and decision of a journal; exit 1 if anything is wrong')
    .argument('<dir>', 'the journal directory')
    .action(async (dir: string) => {
      const { verifyCommand } = await import('./commands/journal.js');
      exit(await verifyCommand(dir, io));
    });
  configure(journal.command('replay'))
    .description("rebuild the accounts from the journal's events alone (no input files), optionally as of an earlier point")
    .argument('<dir>', 'the journal directory')
    .option('--until-seq <s>', 'stop after journal record S', parseCount('--until-seq', 1, Number.MAX_SAFE_INTEGER))
    .option('--until-line <n>', 'stop after line N of an input (the last one, or --input K)', parseCount('--until-line', 1, Number.MAX_SAFE_INTEGER))
    .option('--input <k>', 'with --until-line: the K-th input the journal holds (1 = first)', parseCount('--input', 1, Number.MAX_SAFE_INTEGER))
    .option('-o, --output <file>', 'write accounts to FILE (atomically) instead of standard output')
    .addOption(formatOption('the accounts'))
    .action(async (dir: string, opts: { untilSeq?: number; untilLine?: number; input?: number; output?: string; format: OutputFormat }) => {
      if (opts.untilSeq !== undefined && opts.untilLine !== undefined) throw new UsageError('--until-seq and --until-line do not go together');
      if (opts.input !== undefined && opts.untilLine === undefined) throw new UsageError('--input goes with --until-line');
      if (opts.output !== undefined && opts.output !== '-') checkDistinct({ '--output': opts.output }, dir);
      const { replayCommand } = await import('./commands/journal.js');
      exit(await replayCommand(dir, { seq: opts.untilSeq, line: opts.untilLine, input: opts.input, output: opts.output, format: opts.format }, io));
    });
  configure(journal.command('history'))
    .description("every journaled row of one client, in order: input, line, type, tx, amount, outcome and the account's balances after it")
    .argument('<dir>', 'the journal directory')
    .requiredOption('--client <n>', 'the client', parseCount('--client', 0, 65_535))
    .addOption(formatOption('the rows'))
    .action(async (dir: string, opts: { client: number; format: OutputFormat }) => {
      const { historyCommand } = await import('./commands/history.js');
      exit(await historyCommand(dir, opts, io));
    });
  configure(journal.command('abandon'))
    .description('give up the unfinished input (a file that failed mid-way): undo its rows, journaled, so later files can run')
    .argument('<dir>', 'the journal directory')
    .action(async (dir: string) => {
      const { abandonCommand } = await import('./commands/journalAbandon.js');
      exit(await abandonCommand(dir, io));
    });
}

export function defineRelay(program: Command, { configure, io, exit }: ProgramContext): void {
  const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];
  const seconds = (value: string): number => {
    const n = /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
    if (!(n >= 0.05 && n <= 3600)) throw new InvalidArgumentError('--timeout must be seconds from 0.05 to 3600');
    return n;
  };
  configure(program.command('relay'))
    .description("deliver the applied events of `payrun stream` to a payout API: rate-limited, retried, idempotent, resumable (docs/relay.md)")
    .option('--from <source>', "the NDJSON events of `payrun stream` (a file, or '-' for standard input), or the cluster's Redis: redis://host:port[/db] (its events through a consumer group)")
    .requiredOption('--to <url>', 'the http:// or https:// endpoint each event (or batch) is POSTed to as JSON')
    .option('--state <dir>', "with a file or stdin: the relay's durable position (and the default dead-letter file); keep it for the next run. Not used with Redis (the consumer group is the position)")
    .option('--batch <n>', 'events per POST (a JSON array; 1 sends each event as one object)', parseCount('--batch', 1, 1000), 1)
    .option('--types <list>', 'only these applied event types, comma-separated: deposit,withdrawal,dispute,resolve,chargeback (default: all)')
    .option('--rate <n/s>', 'at most N requests a second (token bucket; retries count), e.g. 50/s (default: no limit)')
    .option('--burst <n>', 'with --rate: requests that may start at once (default: a tenth of a second at the rate, at least 1)', parseCount('--burst', 1, 100_000))
    .option('--concurrency <k>', 'requests in flight at most (events of one client always go one after another)', parseCount('--concurrency', 1, 1024), 8)
    .option('--timeout <s>', 'seconds without a connection, an answer, or a byte of its body before an attempt counts as failed and is retried', seconds, 10)
    .option('--max-attempts <n>', 'attempts of one delivery before it goes to the dead-letter file', parseCount('--max-attempts', 1, 1000), 8)
    .option('--dead-letter <file>', 'where deliveries that fail for good go, one JSON line each (default: STATE/dead-letters.ndjson; needed with Redis)')
    .option('--header <header>', 'add "Name: value" to every request (repeatable); values never appear in a log line. PAYRUN_RELAY_AUTHORIZATION gives Authorization from the environment', collect)
    .option('--source-id <name>', "the input's name in every Idempotency-Key (default: from a hash of the input's first line)")
    .option('--metrics-port <port>', 'serve Prometheus text metrics on 127.0.0.1:PORT', parseCount('--metrics-port', 1, 65_535))
    .option('-q, --quiet', 'log only errors (no delivered/retrying lines, no summary, no progress bar)', false)
    .option('--no-progress', 'no progress bar (there is one only when stderr is a terminal)')
    .option('--redis-cluster <urls>', 'instead of --from: the seed nodes of a Redis Cluster, URL[,URL...]')
    .option('--redis-password-file <file>', 'with Redis: read the password from FILE (or REDIS_PASSWORD / REDISCLI_AUTH)')
    .option('--prefix <name>', "with Redis: the cluster's key prefix", 'payrun')
    .option('--group <name>', "with Redis: the relay's consumer group on every events stream (its position); one relay per group", 'payrun-relay')
    .option('--drain', 'with Redis: exit 0 once every committed event is delivered, instead of waiting for more', false)
    .option('--follow', 'with a file: at its end, wait for more lines (tail -f) until SIGINT/SIGTERM', false)
    .action(async (opts: RelayCliOptions) => {
      const { relayCommand } = await import('./commands/relay.js');
      exit(await relayCommand(opts, io));
    });
}
