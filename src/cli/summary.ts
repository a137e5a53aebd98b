import { REASON_CODES } from '../domain/rejectReason.js';
import type { RunStats } from '../engine/runStats.js';

/** 1234567 → "1,234,567" (Intl would cost ~20 ms of ICU start-up on every run). */
export function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** "1 row", "2 rows", "1,000 rows". */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${grouped(n)} ${n === 1 ? one : many}`;
}

/**
 * The end-of-run summary for stderr: rows read, applied, rejected by reason, accounts, time, rate.
 * `before`: rows of this input a stopped run had already applied (a resumed journaled run).
 */
export function formatSummary(stats: RunStats, accounts: number, seconds: number, before?: number): string {
  const reasons: string[] = [];
  stats.byReason.forEach((n, reason) => {
    if (n > 0) reasons.push(`${REASON_CODES[reason]} ${grouped(n)}`);
  });
  const rate = seconds > 0 ? Math.round(stats.rows / seconds) : stats.rows;
  const earlier = before !== undefined && before > 0 ? ` (after ${count(before, 'row')} applied by an earlier run)` : '';
  return [
    `payrun: ${count(stats.rows, 'row')} read${earlier}, ${grouped(stats.applied)} applied, ${grouped(stats.rejected)} rejected`,
    ...(reasons.length > 0 ? [`  rejected by reason: ${reasons.join(', ')}`] : []),
    `  ${count(accounts, 'account')}, ${seconds.toFixed(2)} s, ${grouped(rate)} rows/s`,
    '',
  ].join('\n');
}

/**
 * `--summary-json FILE`: the summary's numbers for a script. Every reason code is a key (0 when
 * none), in the order they are checked, so a reader never needs a default. A journaled input
 * that was already applied reads no rows: zeros and the accounts.
 */
export function summaryJson(stats: RunStats | undefined, accounts: number, seconds: number): string {
  const rejectedByReason: Record<string, number> = {};
  for (let reason = 1; reason < REASON_CODES.length; reason++) rejectedByReason[REASON_CODES[reason]!] = stats?.byReason[reason] ?? 0;
  const rows = stats?.rows ?? 0;
  return `${JSON.stringify({
    rows,
    applied: stats?.applied ?? 0,
    rejected: stats?.rejected ?? 0,
    rejectedByReason,
    accounts,
    seconds: Math.round(seconds * 1000) / 1000,
    rowsPerSecond: seconds > 0 ? Math.round(rows / seconds) : rows,
  }, null, 2)}\n`;
}
