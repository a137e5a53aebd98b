// The checks every relay kill scenario must pass (kept apart from relayKillRun.ts, which the soak
// script runs outside vitest).
import { expect } from 'vitest';
import type { KillReport } from './relayKillRun.js';

/** What every kill scenario must show: each event accepted once by key, the bad ones dead-lettered with their 400, order kept, no secret logged. */
export function expectEveryEventOnce(report: KillReport): void {
  const context = JSON.stringify({ ...report, missing: report.missing.slice(0, 20) });
    expect(report.missing, context).toEqual([]);
    expect(report.acceptedTwice, context).toEqual([]);
    expect(report.acceptedBad, context).toEqual([]);
    expect(report.linesWithSeveralKeys, context).toEqual([]);
    expect(report.accepted, context).toBe(report.expected);
    expect(report.badMissingFromDeadLetters, context).toEqual([]);
    expect(report.deadLettered, context).toBe(report.bad);
    expect(report.deadLettersWithoutStatus400, context).toBe(0);
    expect(report.orderViolations, context).toEqual([]);
    expect(report.secretInLogs, context).toBe(false);
}
