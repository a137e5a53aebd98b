/** The relay's counters: the summary, the sampled `delivered` log line and --metrics-port read them. */
export class RelayMetrics {
  readonly startedMs = performance.now();
  /** The process's CPU time when the run began (the summary's cpu_seconds: the run's own, start-up left out). */
  private readonly startedCpu = process.cpuUsage();
  /** Events acknowledged by a 2xx. */
  events = 0;
  deliveries = 0;
  /** Events already done in an earlier run, skipped. */
  skipped = 0;
  deadLetters = 0;
  deadLetterEvents = 0;
  retries = 0;
  rateLimited = 0;
  inFlight = 0;
  /** HTTP answers by status ('error' for none). */
  readonly answers = new Map<string, number>();
  requestSeconds = 0;

  answered(status: number | undefined, ms: number): void {
    const key = status === undefined ? 'error' : String(status);
    this.answers.set(key, (this.answers.get(key) ?? 0) + 1);
    this.requestSeconds += ms / 1000;
  }

  get requests(): number {
    let n = 0;
    for (const count of this.answers.values()) n += count;
    return n;
  }

  /** CPU seconds (user + system) spent since the run began. */
  cpuSeconds(): number {
    const used = process.cpuUsage(this.startedCpu);
    return (used.user + used.system) / 1e6;
  }

  seconds(): number {
    return (performance.now() - this.startedMs) / 1000;
  }
}

/** The counters in Prometheus text format (version 0.0.4). */
export function relayPrometheusText(m: RelayMetrics, position: { lowWater?: number; acknowledgedEntries?: number }): string {
  const counter = (name: string, help: string, value: number): string[] => [`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${value}`];
  const lines = [
    ...counter('payrun_relay_events_delivered_total', 'Events acknowledged by a 2xx of the payout API.', m.events),
    ...counter('payrun_relay_deliveries_total', 'Requests acknowledged by a 2xx (an event, or a batch).', m.deliveries),
    ...counter('payrun_relay_events_skipped_total', 'Events done in an earlier run, not sent again.', m.skipped),
    ...counter('payrun_relay_dead_letters_total', 'Deliveries that failed for good, written to the dead-letter file.', m.deadLetters),
    ...counter('payrun_relay_retries_total', 'Attempts that will be retried.', m.retries),
    ...counter('payrun_relay_rate_limited_total', 'Answers 429 with Retry-After (the relay paused its requests).', m.rateLimited),
    '# HELP payrun_relay_requests_total HTTP requests by answer status (error: no answer).',
    '# TYPE payrun_relay_requests_total counter',
    ...[...m.answers].map(([status, n]) => `payrun_relay_requests_total{status="${status}"} ${n}`),
    ...counter('payrun_relay_request_seconds_total', 'Time spent waiting for answers, summed over requests.', Number(m.requestSeconds.toFixed(3))),
    '# TYPE payrun_relay_in_flight gauge',
    `payrun_relay_in_flight ${m.inFlight}`,
  ];
  if (position.lowWater !== undefined) {
    lines.push('# HELP payrun_relay_low_water_line Every selected event at or before this input line is done.', '# TYPE payrun_relay_low_water_line gauge', `payrun_relay_low_water_line ${position.lowWater}`);
  }
  if (position.acknowledgedEntries !== undefined) {
    lines.push(...counter('payrun_relay_entries_acknowledged_total', 'Events entries of the Redis source acknowledged to the consumer group (every event in them done).', position.acknowledgedEntries));
  }
  return `${lines.join('\n')}\n`;
}
