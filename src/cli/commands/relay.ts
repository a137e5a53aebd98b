import { join } from 'node:path';
import type { Server } from 'node:http';
import { type CliIo, ExitCode, UsageError } from '../cliIo.js';
import { cleanUpAfterFailure, describeError } from '../errors.js';
import { writeAll } from '../../io/writeAll.js';
import { DeadLetters } from '../../relay/deadLetters.js';
import { RelayStateError } from '../../relay/deliveredLog.js';
import { type EventSource, ndjsonSource, type SourceLine } from '../../relay/eventSource.js';
import { PayoutClient } from '../../relay/payoutClient.js';
import { Relay } from '../../relay/relay.js';
import { defaultSourceId, RelayInputError } from '../../relay/relayEvent.js';
import { relayLog, type RelayLog } from '../../relay/relayLog.js';
import { RelayMetrics, relayPrometheusText } from '../../relay/relayMetrics.js';
import { serveMetrics } from '../../io/metricsServer.js';
import { parseEndpoint, parseHeaders, parseRate, parseTypes, RelayOptionError } from '../../relay/relayOptions.js';
import { RelayState } from '../../relay/relayState.js';
import { DEFAULT_BACKOFF } from '../../relay/retryPolicy.js';
import { defaultBurst, TokenBucket } from '../../relay/tokenBucket.js';

/** The options as commander gives them. */
export interface RelayCliOptions {
  from: string;
  to: string;
  state: string;
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
}

const SIGNAL_EXIT: Record<string, number> = { SIGINT: ExitCode.Interrupted, SIGTERM: ExitCode.Terminated };

/** Values checked before anything is opened; a bad one is a usage error that never echoes a header value. */
interface Settings {
  endpoint: URL;
  headers: Record<string, string>;
  rate?: number;
  timeoutMs: number;
  types?: ReadonlySet<string>;
}

function settingsOf(opts: RelayCliOptions): Settings {
  try {
    if (opts.burst !== undefined && opts.rate === undefined) throw new RelayOptionError('--burst goes with --rate');
    if (opts.sourceId !== undefined && !/^[\w.-]{1,64}$/.test(opts.sourceId)) throw new RelayOptionError('--source-id must be 1 to 64 letters, digits, _ . or -');
    return {
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

/** A --header value shows in process listings until here: blank it from this process's title. */
function hideHeaderValues(headers: readonly string[]): void {
  if (headers.length === 0) return;
  process.title = process.argv.map((arg) => (headers.includes(arg) ? `${arg.slice(0, arg.indexOf(':') + 1)} ***` : arg)).join(' ');
}

/** What a run holds open, closed in its `finally`. */
interface Held {
  source?: EventSource;
  state?: RelayState;
  deadLetters?: DeadLetters;
  metricsServer?: Server;
  client?: PayoutClient;
}

/** The state, the dead-letter file, the metrics port, the HTTP client and the relay, once the input's first line is known. */
async function openRelay(opts: RelayCliOptions, settings: Settings, first: SourceLine, held: Held, log: RelayLog, metrics: RelayMetrics): Promise<Relay> {
  const sourceId = opts.sourceId ?? defaultSourceId(first.text);
  const state = RelayState.open(opts.state, { sourceId, types: settings.types === undefined ? '' : [...settings.types].sort().join(','), batch: opts.batch });
  held.state = state;
  held.deadLetters = new DeadLetters(opts.deadLetter ?? join(opts.state, 'dead-letters.ndjson'));
  if (opts.metricsPort !== undefined) held.metricsServer = await serveMetrics(opts.metricsPort, () => relayPrometheusText(metrics, state.position.lowWater));
  held.client = new PayoutClient(settings.endpoint, opts.concurrency, settings.timeoutMs, settings.headers);
  const bucket = settings.rate === undefined ? undefined : new TokenBucket(settings.rate, opts.burst ?? defaultBurst(settings.rate), Date.now());
  log('started', { from: held.source!.name, to: settings.endpoint.origin + settings.endpoint.pathname, source_id: sourceId, low_water_line: state.position.lowWater, concurrency: opts.concurrency, rate: settings.rate ?? null });
  return new Relay(
    { sourceId, types: settings.types, batch: opts.batch, concurrency: opts.concurrency, maxAttempts: opts.maxAttempts, backoff: DEFAULT_BACKOFF, deliveredLogMs: 1000 },
    { client: held.client, state, deadLetters: held.deadLetters, bucket, log, metrics },
  );
}

/** `payrun relay`: delivers the applied events of its input until the input ends (0) or a signal (130/143). */
export async function relayCommand(opts: RelayCliOptions, io: CliIo): Promise<number> {
  const settings = settingsOf(opts);
  hideHeaderValues(opts.header ?? []);
  const log = relayLog(io.stderr, opts.quiet);
  const metrics = new RelayMetrics();
  const held: Held = {};
  let signal: NodeJS.Signals | undefined;
  let relay: Relay | undefined;
  let wakeOnSignal: () => void = () => undefined;
  // A signal while the first line is awaited (an idle pipe) ends that wait too.
  const signalled = new Promise<undefined>((resolve) => (wakeOnSignal = () => resolve(undefined)));
  const onSignal = (name: NodeJS.Signals): void => {
    signal ??= name;
    relay?.stop();
    wakeOnSignal();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    held.source = ndjsonSource(opts.from, io.stdin);
    const lines = held.source.lines()[Symbol.asyncIterator]();
    const firstResult = await Promise.race([lines.next(), signalled]);
    const first: SourceLine | undefined = firstResult === undefined || firstResult.done === true ? undefined : firstResult.value;
    if (first !== undefined && signal === undefined) {
      relay = await openRelay(opts, settings, first, held, log, metrics);
      if (signal !== undefined) relay.stop();
      await relay.run(lines, first);
      const state = held.state!;
      held.state = undefined;
      await state.close();
    }
    log('summary', summaryOf(metrics));
    if (signal === undefined) return ExitCode.Ok;
    await writeAll(io.stderr, `payrun: relay stopped by ${signal}; ${metrics.events} events delivered this run, the requests in flight finished; --state '${opts.state}' holds the position: run the same command to resume\n`);
    return SIGNAL_EXIT[signal] ?? ExitCode.Terminated;
  } catch (error) {
    const state = held.state;
    if (state !== undefined) await cleanUpAfterFailure(() => state.close());
    if (error instanceof RelayInputError) await writeAll(io.stderr, `payrun: ${error.message} (${held.source?.name ?? opts.from}:${error.line})\n`);
    else if (error instanceof RelayStateError) await writeAll(io.stderr, `payrun: ${error.message}\n`);
    else await writeAll(io.stderr, `${describeError(error)}\n`);
    return ExitCode.Fatal;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    held.source?.close();
    held.deadLetters?.close();
    held.metricsServer?.close();
    await held.client?.close();
  }
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
    events_per_second: seconds > 0 ? Math.round(m.events / seconds) : 0,
  };
}
