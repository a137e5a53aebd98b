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
import { relayLog } from '../../relay/relayLog.js';
import { RelayMetrics, relayPrometheusText, serveRelayMetrics } from '../../relay/relayMetrics.js';
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
function settingsOf(opts: RelayCliOptions): { endpoint: URL; headers: Record<string, string>; rate?: number; timeoutMs: number; types?: ReadonlySet<string> } {
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

/** `payrun relay`: delivers the applied events of its input until the input ends (0) or a signal (130/143). */
export async function relayCommand(opts: RelayCliOptions, io: CliIo): Promise<number> {
  const settings = settingsOf(opts);
  hideHeaderValues(opts.header ?? []);
  const log = relayLog(io.stderr, opts.quiet);
  const metrics = new RelayMetrics();
  let state: RelayState | undefined;
  let deadLetters: DeadLetters | undefined;
  let metricsServer: Server | undefined;
  let client: PayoutClient | undefined;
  let signal: string | undefined;
  let relay: Relay | undefined;
  const onSignal = (name: NodeJS.Signals): void => {
    signal ??= name;
    relay?.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let source: EventSource | undefined;
  try {
    source = ndjsonSource(opts.from, io.stdin);
    const lines = source.lines()[Symbol.asyncIterator]();
    const firstResult = await lines.next();
    const first: SourceLine | undefined = firstResult.done === true ? undefined : firstResult.value;
    if (first === undefined) {
      log('summary', summaryOf(metrics));
      return ExitCode.Ok;
    }
    const sourceId = opts.sourceId ?? defaultSourceId(first.text);
    state = RelayState.open(opts.state, { sourceId, types: settings.types === undefined ? '' : [...settings.types].sort().join(','), batch: opts.batch });
    deadLetters = new DeadLetters(opts.deadLetter ?? join(opts.state, 'dead-letters.ndjson'));
    const live = state;
    if (opts.metricsPort !== undefined) metricsServer = await serveRelayMetrics(opts.metricsPort, () => relayPrometheusText(metrics, live.position.lowWater));
    client = new PayoutClient(settings.endpoint, opts.concurrency, settings.timeoutMs, settings.headers);
    const bucket = settings.rate === undefined ? undefined : new TokenBucket(settings.rate, opts.burst ?? defaultBurst(settings.rate), Date.now());
    relay = new Relay(
      { sourceId, types: settings.types, batch: opts.batch, concurrency: opts.concurrency, maxAttempts: opts.maxAttempts, backoff: DEFAULT_BACKOFF, deliveredLogMs: 1000 },
      { client, state, deadLetters, bucket, log, metrics },
    );
    log('started', { from: source.name, to: settings.endpoint.origin + settings.endpoint.pathname, source_id: sourceId, low_water_line: state.position.lowWater, concurrency: opts.concurrency, rate: settings.rate ?? null });
    if (signal !== undefined) relay.stop();
    await relay.run(lines, first);
    const closing = state;
    state = undefined;
    await closing.close();
    log('summary', summaryOf(metrics));
    if (signal !== undefined) {
      await writeAll(io.stderr, `payrun: relay stopped by ${signal}; ${metrics.events} events delivered this run, the requests in flight finished; --state '${opts.state}' holds the position: run the same command to resume\n`);
      return SIGNAL_EXIT[signal] ?? ExitCode.Terminated;
    }
    return ExitCode.Ok;
  } catch (error) {
    if (state !== undefined) await cleanUpAfterFailure(() => state?.close());
    if (error instanceof RelayInputError) await writeAll(io.stderr, `payrun: ${error.message} (${source?.name ?? opts.from}:${error.line})\n`);
    else if (error instanceof RelayStateError) await writeAll(io.stderr, `payrun: ${error.message}\n`);
    else await writeAll(io.stderr, `${describeError(error)}\n`);
    return ExitCode.Fatal;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    source?.close();
    deadLetters?.close();
    metricsServer?.close();
    await client?.close();
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
