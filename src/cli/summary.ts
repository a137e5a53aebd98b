import { REASON_CODES } from '../domain/rejectReason.js';
import type { RunStats } from '../engine/runStats.js';

/** 1234567 → "1,234,567" (Intl would cost ~20 ms of ICU start-up on every run). */
function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** The end-of-run summary for stderr: rows read, applied, rejected by reason, accounts, time, rate. */
export function formatSummary(stats: RunStats, accounts: number, seconds: number): string {
  const reasons: string[] = [];
  stats.byReason.forEach((count, reason) => {
    if (count > 0) reasons.push(`${REASON_CODES[reason]} ${grouped(count)}`);
  });
  const rate = seconds > 0 ? Math.round(stats.rows / seconds) : stats.rows;
  return [
    `payrun: ${grouped(stats.rows)} rows read, ${grouped(stats.applied)} applied, ${grouped(stats.rejected)} rejected`,
    ...(reasons.length > 0 ? [`  rejected by reason: ${reasons.join(', ')}`] : []),
    `  ${grouped(accounts)} accounts, ${seconds.toFixed(2)} s, ${grouped(rate)} rows/s`,
    '',
  ].join('\n');
}
