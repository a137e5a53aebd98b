import type { Consumer } from './consumer.js';

/** The consumer's counters in Prometheus text format (`--metrics-port`), at any path. */
export function prometheusText(owner: string, consumer: Consumer): string {
  const m = consumer.metrics;
  const label = `owner="${owner.replace(/["\\\n]/g, '_')}"`;
  const lines = [
    '# HELP payrun_rows_total Rows applied and committed by this consumer.',
    '# TYPE payrun_rows_total counter',
    `payrun_rows_total{${label}} ${m.rows}`,
    '# TYPE payrun_commits_total counter',
    `payrun_commits_total{${label}} ${m.commits}`,
    '# TYPE payrun_retries_total counter',
    `payrun_retries_total{${label}} ${m.retries}`,
    '# HELP payrun_taken_over_total Partitions taken over again at a position where an earlier owner stopped before committing.',
    '# TYPE payrun_taken_over_total counter',
    `payrun_taken_over_total{${label}} ${m.takenOver}`,
    '# TYPE payrun_dead_letters_total counter',
    `payrun_dead_letters_total{${label}} ${m.deadLetters}`,
    '# TYPE payrun_partitions_owned gauge',
    `payrun_partitions_owned{${label}} ${consumer.partitionsOwned.length}`,
    '# HELP payrun_partition_lag Entries of the partition published and not yet committed (as of the last metrics line).',
    '# TYPE payrun_partition_lag gauge',
    ...[...m.backlog].map(([p, b]) => `payrun_partition_lag{${label},partition="${p}"} ${b.lag}`),
  ];
  return `${lines.join('\n')}\n`;
}
