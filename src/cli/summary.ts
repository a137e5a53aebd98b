import { REASON_CODES } from '../domain/rejectReason.js';
import type { RunStats } from '../engine/runStats.js';

const number = new Intl.NumberFormat('en-US');

/** The end-of-run summary for stderr: rows read, applied, rejected by reason, accounts, time, rate. */
export function formatSummary(stats: RunStats, accounts: number, seconds: number): string {
  const reasons: string[] = [];
  stats.byReason.forEach((count, reason) => {
    if (count > 0) reasons.push(`${REASON_CODES[reason]} ${number.format(count)}`);
  });
  const rate = seconds > 0 ? Math.round(stats.rows / seconds) : stats.rows;
  return [
    `payrun: ${number.format(stats.rows)} rows read, ${number.format(stats.applied)} applied, ${number.format(stats.rejected)} rejected`,
    ...(reasons.length > 0 ? [`  rejected by reason: ${reasons.join(', ')}`] : []),
    `  ${number.format(accounts)} accounts, ${seconds.toFixed(2)} s, ${number.format(rate)} rows/s`,
    '',
  ].join('\n');
}
