import { join } from 'node:path';
import type { Server } from 'node:http';
import { type CliIo, ExitCode, UsageError } from '../cliIo.js';
import { cleanUpAfterFailure, describeError, describeRedisError } from '../errors.js';
import { checkPrefix } from '../options.js';
import { type RedisTarget, RedisTargetError, redactRedisUrl, redisClusterTarget, redisTarget } from '../../cluster/redisTarget.js';
import { writeAll } from '../../io/writeAll.js';
import { DeadLetters } from '../../relay/deadLetters.js';
import { RelayStateError } from '../../relay/deliveredLog.js';
import { type EventSource, fileDeliveries, ndjsonSource, type SourceLine } from '../../relay/eventSource.js';
import { PayoutClient } from '../../relay/payoutClient.js';
import { Relay, type RelayProgress } from '../../relay/relay.js';
import type { RedisEventSource } from '../../relay/redisSource.js';
import { type BarPosition, lineCount, type RelayBar, startRelayBar } from '../../relay/relayBar.js';
import { defaultSourceId, RelayInputError, RelaySourceError } from '../../relay/relayEvent.js';
import { relayLog, type RelayLog } from '../../relay/relayLog.js';
import { RelayMetrics, relayPrometheusText } from '../../relay/relayMetrics.js';
import { serveMetrics } from '../../io/metricsServer.js';
import { parseEndpoint, parseHeaders, parseRate, parseTypes, RelayOptionError } from '../../relay/relayOptions.js';
import { RelayState } from '../../relay/relayState.js';
import { DEFAULT_BACKOFF } from '../../relay/retryPolicy.js';
import { defaultBurst, TokenBucket } from '../../relay/tokenBucket.js';

/** The options as commander gives them. */
export interface RelayCliOptions {
  from?: string;
  to: string;
  state?: string;
  batch: number;
  types?: string;
  rate?: string;
  burst?: number;
  concurrency: number;
  timeout: number;
  maxAttempts: number;
  deadLetter?: string;
  header?: string[];
  sourceId?: string;
  metricsPort?: number;
  quiet: boolean;
  progress: boolean;
  redisCluster?: string;
  redisPasswordFile?: string;
  prefix: string;
  group: string;
  drain: boolean;
  follow: boolean;
}

const SIGNAL_EXIT: Record<string, number> = { SIGINT: ExitCode.Interrupted, SIGTERM: ExitCode.Terminated };

/** Where the events come from: a file (or stdin) with its --state, or the cluster's Redis. */
type SourceSettings = { kind: 'file'; from: string; state: string } | { kind: 'redis'; target: RedisTarget; raw: string };

/** Values checked before anything is opened; a bad one is a usage error that never echoes a header value. */
interface Settings {
  source: SourceSettings;
  endpoint: URL;
  headers: Record<string, string>;
  rate?: number;
  timeoutMs: number;
  types?: ReadonlySet<string>;
}

const REDIS_URL = /^rediss?:\/\//i;

function sourceOf(opts: RelayCliOptions): SourceSettings {
  if (opts.from !== undefined && opts.redisCluster !== undefined) throw new RelayOptionError('--from and --redis-cluster do not go together: give one');
  if (opts.from === undefined && opts.redisCluster === undefined) throw new RelayOptionError("give --from FILE|-|redis://host:port[/db], or --redis-cluster URL[,URL...]");
  if (opts.redisCluster === undefined && !REDIS_URL.test(opts.from!)) {
    if (opts.state === undefined) throw new RelayOptionError('--state DIR is needed with a file or standard input source: it holds the position');
    if (opts.drain) throw new RelayOptionError('--drain is for a Redis source: a file source ends with its input');
    if (opts.follow && opts.from === '-') throw new RelayOptionError('--follow is for a file: standard input is read until it ends anyway');
    // A batch cut short at the file's end would be cut whole after a restart: the same events under another key.
    if (opts.follow && opts.batch > 1) throw new RelayOptionError('--follow sends one event a request: a batch cut at the end of a growing file would get another key after a restart');
    return { kind: 'file', from: opts.from!, state: opts.state };
  }
  if (opts.state !== undefined) throw new RelayOptionError('--state is for a file source: on Redis the consumer group (--group) holds the position');
  if (opts.follow) throw new RelayOptionError('--follow is for a file: a Redis source follows the cluster anyway (--drain stops when caught up)');
  if (opts.deadLetter === undefined) throw new RelayOptionError('a Redis source needs --dead-letter FILE (there is no --state directory to hold it)');
  if (!/^[\w.:-]{1,64}$/.test(opts.group)) throw new RelayOptionError('--group must be 1 to 64 letters, digits, _ . : or -');
  checkPrefix(opts.prefix);
  const raw = opts.redisCluster ?? opts.from!;
  const sources = { passwordFile: opts.redisPasswordFile, env: process.env };
  try {
    const target = opts.redisCluster !== undefined ? redisClusterTarget(raw, sources) : redisTarget(raw, sources);
    return { kind: 'redis', target, raw };
  } catch (error) {
    if (error instanceof RedisTargetError) throw new RelayOptionError(error.message.replace(/^--redis /, '--from '));
    throw error;
  }
}

function settingsOf(opts: RelayCliOptions): Settings {
  try {
    if (opts.burst !== undefined && opts.rate === undefined) throw new RelayOptionError('--burst goes with --rate');
    if (opts.sourceId !== undefined && !/^[\w.-]{1,64}$/.test(opts.sourceId)) throw new RelayOptionError('--source-id must be 1 to 64 letters, digits, _ . or -');
    return {
      source: sourceOf(opts),
      endpoint: parseEndpoint(opts.to),
      headers: parseHeaders(opts.header ?? [], process.env),
      rate: opts.rate === undefined ? undefined : parseRate(opts.rate),
      timeoutMs: Math.round(opts.timeout * 1000),
      types: parseTypes(opts.types),
    };
  } catch (error) {
    if (error instanceof RelayOptionError) throw new UsageError(error.message);
    throw error;
  }
}

/** A --header value (or a Redis password in the URL) shows in process listings until here: blank it from this process's title. */
function hideSecrets(headers: readonly string[], source: SourceSettings): void {
  const redisRaw = source.kind === 'redis' && source.target.passwordInUrl ? source.raw : undefined;
  if (headers.length === 0 && redisRaw === undefined) return;
  process.title = process.argv
    .map((arg) => (headers.includes(arg) ? `${arg.slice(0, arg.indexOf(':') + 1)} ***` : arg))
    .map((arg) => (redisRaw !== undefined ? arg.replace(redisRaw, redisRaw.split(',').map(redactRedisUrl).join(',')) : arg))
    .join(' ');
}

/** What a run holds open, closed in its `finally`. */
interface Held {
  source?: EventSource;
  redis?: RedisEventSource;
  state?: RelayState;
  deadLetters?: DeadLetters;
  metricsServer?: Server;
  client?: PayoutClient;
  bar?: RelayBar;
}

/** What both sources share: the dead-letter file, the metrics port, the HTTP client, the relay. */
async function openRelay(opts: RelayCliOptions, settings: Settings, held: Held, log: RelayLog, metrics: RelayMetrics, progress: RelayProgress, deadLetterPath: string): Promise<Relay> {
  held.deadLetters = new DeadLetters(deadLetterPath);
  if (opts.metricsPort !== undefined) {
    const position = (): { lowWater?: number; acknowledgedEntries?: number } => (held.state !== undefined ? { lowWater: held.state.position.lowWater } : { acknowledgedEntries: held.redis?.acknowledged ?? 0 });
    held.metricsServer = await serveMetrics(opts.metricsPort, () => relayPrometheusText(metrics, position()));
  }
  held.client = new PayoutClient(settings.endpoint, opts.concurrency, settings.timeoutMs, settings.headers);
  const bucket = settings.rate === undefined ? undefined : new TokenBucket(settings.rate, opts.burst ?? defaultBurst(settings.rate), Date.now());
  return new Relay(
    { concurrency: opts.concurrency, maxAttempts: opts.maxAttempts, backoff: DEFAULT_BACKOFF, deliveredLogMs: 1000 },
    { client: held.client, progress, deadLetters: held.deadLetters, bucket, log, metrics },
  );
}

/** The run of a file source: its first line names it (the default source id), then its --state. */
async function runFile(opts: RelayCliOptions, settings: Settings, source: { from: string; state: string }, run: RunContext): Promise<void> {
  const { held, io, log, metrics } = run;
  held.source = ndjsonSource(source.from, io.stdin, opts.follow);
  const pages = held.source.pages()[Symbol.asyncIterator]();
  const firstResult = await Promise.race([pages.next(), run.signalled]);
  const firstPage: SourceLine[] | undefined = firstResult === undefined || firstResult.done === true ? undefined : firstResult.value;
  if (firstPage === undefined || run.signal() !== undefined) return;
  const sourceId = opts.sourceId ?? defaultSourceId(firstPage[0]!.text);
  const types = settings.types === undefined ? '' : [...settings.types].sort().join(',');
  const state = RelayState.open(source.state, { sourceId, types, batch: opts.batch });
  held.state = state;
  const progress: RelayProgress = { finish: (delivery) => state.record(delivery.lines), fields: () => ({ low_water_line: state.position.lowWater }) };
  const relay = await openRelay(opts, settings, held, log, metrics, progress, opts.deadLetter ?? join(source.state, 'dead-letters.ndjson'));
  log('started', { from: held.source.name, to: endpointText(settings.endpoint), source_id: sourceId, low_water_line: state.position.lowWater, concurrency: opts.concurrency, rate: settings.rate ?? null });
  await run.started(relay, { line: () => state.position.lastRead, total: source.from === '-' || opts.follow ? () => undefined : lineCount(source.from) });
  const cut = { sourceId, types: settings.types, batch: opts.batch };
  await relay.run(fileDeliveries(pages, firstPage, cut, state.position, () => (metrics.skipped += 1)));
  held.state = undefined;
  await state.close();
}

/** The run of the Redis source: the consumer group is the position; the first published input names it. */
async function runRedis(opts: RelayCliOptions, settings: Settings, target: RedisTarget, run: RunContext): Promise<void> {
  const { held, log, metrics } = run;
  // Loaded only for a Redis source (ioredis and the cluster's codec: a file source never needs them).
  const [{ RedisEventSource }, { entryProgress, redisDeliveries }] = await Promise.all([import('../../relay/redisSource.js'), import('../../relay/redisDeliveries.js')]);
  const onConnection = (state: 'down' | 'up', detail: string): void => log(state === 'down' ? 'redis_down' : 'redis_up', { redis: target.display, detail });
  const source = new RedisEventSource({ target, prefix: opts.prefix, group: opts.group, consumer: 'relay', count: 8, pollMs: 200, onConnection });
  held.redis = source;
  const found = await Promise.race([source.published(() => run.signal() !== undefined, opts.drain), run.signalled]);
  if (found === undefined || run.signal() !== undefined) {
    if (found === undefined && run.signal() === undefined) log('nothing_published', { redis: target.display, prefix: opts.prefix });
    return;
  }
  const locked = await source.lockGroup(
    () => run.signal() !== undefined,
    (holder) => log('waiting_for_group', { group: opts.group, held_by: holder }),
    () => run.stop(),
  );
  if (!locked) return;
  await source.join(found.partitions);
  const sourceId = opts.sourceId ?? found.firstInput.slice(0, 16);
  const relay = await openRelay(opts, settings, held, log, metrics, entryProgress(source), opts.deadLetter!);
  log('started', { from: target.display, prefix: opts.prefix, group: opts.group, partitions: found.partitions, to: endpointText(settings.endpoint), source_id: sourceId, concurrency: opts.concurrency, rate: settings.rate ?? null });
  await run.started(relay, { line: () => 0, total: () => undefined });
  await relay.run(redisDeliveries(source, { sourceId, types: settings.types, batch: opts.batch }, opts.drain, () => (metrics.skipped += 1)));
  held.redis = undefined;
  await source.close();
  if (source.lostLock !== undefined) throw new RelaySourceError(source.lostLock);
}

const endpointText = (endpoint: URL): string => endpoint.origin + endpoint.pathname;

interface RunContext {
  held: Held;
  io: CliIo;
  log: RelayLog;
  metrics: RelayMetrics;
  signalled: Promise<undefined>;
  signal: () => NodeJS.Signals | undefined;
  /** Stops the relay (as a signal would, but the run ends with its own error). */
  stop: () => void;
  /** The relay is built: a signal from now on stops it; the progress bar starts. */
  started: (relay: Relay, position: BarPosition) => Promise<void>;
}

/** `payrun relay`: delivers the applied events of its source until it ends (0), or a signal (130/143). */
export async function relayCommand(opts: RelayCliOptions, io: CliIo): Promise<number> {
  const settings = settingsOf(opts);
  hideSecrets(opts.header ?? [], settings.source);
  const held: Held = {};
  const log = relayLog(io.stderr, opts.quiet, () => held.bar);
  const metrics = new RelayMetrics();
  let signal: NodeJS.Signals | undefined;
  let relay: Relay | undefined;
  let wakeOnSignal: () => void = () => undefined;
  // A signal while the first line (or a first publish) is awaited ends that wait too.
  const signalled = new Promise<undefined>((resolve) => (wakeOnSignal = () => resolve(undefined)));
  const onSignal = (name: NodeJS.Signals): void => {
    signal ??= name;
    relay?.stop();
    wakeOnSignal();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const run: RunContext = {
    held,
    io,
    log,
    metrics,
    signalled,
    signal: () => signal,
    stop: () => relay?.stop(),
    started: async (built, position) => {
      relay = built;
      if (signal !== undefined) built.stop();
      if (opts.progress && !opts.quiet) held.bar = await startRelayBar(io.stderr, metrics, position);
    },
  };
  try {
    if (settings.source.kind === 'file') await runFile(opts, settings, settings.source, run);
    else await runRedis(opts, settings, settings.source.target, run);
    stopBar(held);
    log('summary', summaryOf(metrics));
    if (signal === undefined) return ExitCode.Ok;
    const where = settings.source.kind === 'file' ? `--state '${settings.source.state}' holds the position` : `the consumer group '${opts.group}' holds the position`;
    await writeAll(io.stderr, `payrun: relay stopped by ${signal}; ${metrics.events} events delivered this run, the requests in flight finished; ${where}: run the same command to resume\n`);
    return SIGNAL_EXIT[signal] ?? ExitCode.Terminated;
  } catch (error) {
    stopBar(held);
    const state = held.state;
    if (state !== undefined) await cleanUpAfterFailure(() => state.close());
    if (error instanceof RelayInputError) await writeAll(io.stderr, `payrun: ${error.message} (${held.source?.name ?? opts.from}:${error.line})\n`);
    else if (error instanceof RelayStateError || error instanceof RelaySourceError) await writeAll(io.stderr, `payrun: ${error.message}\n`);
    else if (held.redis !== undefined) await writeAll(io.stderr, `${describeRedisError(error, held.redis, held.redis.name)}\n`);
    else await writeAll(io.stderr, `${describeError(error)}\n`);
    return ExitCode.Fatal;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    held.source?.close();
    held.redis?.disconnect();
    held.deadLetters?.close();
    held.metricsServer?.close();
    await held.client?.close();
  }
}

function stopBar(held: Held): void {
  held.bar?.stop();
  held.bar = undefined;
}

function summaryOf(m: RelayMetrics): Record<string, unknown> {
  const seconds = m.seconds();
  return {
    events_delivered: m.events,
    deliveries: m.deliveries,
    events_skipped_done_before: m.skipped,
    dead_letters: m.deadLetters,
    dead_letter_events: m.deadLetterEvents,
    retries: m.retries,
    rate_limited: m.rateLimited,
    requests: m.requests,
    seconds: Number(seconds.toFixed(3)),
    cpu_seconds: Number(m.cpuSeconds().toFixed(3)),
    events_per_second: seconds > 0 ? Math.round(m.events / seconds) : 0,
  };
}
