import { REASON_CODES } from '../domain/rejectReason.js';
import type { RunStats } from '../engine/runStats.js';

/** 1234567 → "1,234,567" (Intl would cost ~20 ms of ICU start-up on every run). */
function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
const number = { format: grouped };

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
