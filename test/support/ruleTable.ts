import { describe, expect, it } from 'vitest';
import { csv, runCsv } from './runCsv.js';

/**
 * One given/when/then case of SPEC sections 3-4: the data rows (the header is added, so the
 * first row is line 2), then the account lines and reject lines expected after their headers.
 * Every expected value is worked out by hand from SPEC, never copied from the engine.
 */
export interface RuleCase {
  name: string;
  rows: string[];
  accounts: string[];
  rejects: string[];
}

const ACCOUNTS_HEADER = 'client,available,held,total,locked';
const REJECTS_HEADER = 'line,reason,row';

/** 900719925474.0991, the largest amount and balance (SPEC section 3). */
export const L = '900719925474.0991';

const lines = (header: string, body: string[]): string => `${[header, ...body].join('\n')}\n`;

async function check(rule: RuleCase, options: { workers: number; chunkSize?: number }): Promise<void> {
  const result = await runCsv(csv(...rule.rows), options);
  expect(result.accounts).toBe(lines(ACCOUNTS_HEADER, rule.accounts));
  expect(result.rejects).toBe(lines(REJECTS_HEADER, rule.rejects));
  // Nothing is silently dropped: applied + rejected = every data (non-blank) row.
  const dataRows = rule.rows.filter((row) => row.trim() !== '').length;
  expect(result.stats.rows).toBe(dataRows);
  expect(result.stats.rejected).toBe(rule.rejects.length);
  expect(result.stats.applied).toBe(dataRows - rule.rejects.length);
}

/**
 * Runs every case in the main thread (whole input, then 7-byte chunks so rows straddle chunk
 * boundaries) and once with two worker threads: the result never depends on the engine.
 */
export function describeRules(title: string, cases: RuleCase[]): void {
  describe(title, () => {
    it.each(cases)('$name [workers 0]', (rule) => check(rule, { workers: 0 }));
    it.each(cases)('$name [workers 0, 7-byte chunks]', (rule) => check(rule, { workers: 0, chunkSize: 7 }));
    it.each(cases)('$name [workers 2]', (rule) => check(rule, { workers: 2 }));
  });
}
