// The relay SIGKILLed at random while it delivers ~7k events to a payout API failing 10% of
// requests: every event accepted exactly once (by the server's dedupe on the Idempotency-Key),
// none missing, the refused ones dead-lettered with their status, per-client order kept.
// The long form: `npm run test:relay-soak` (100k events, 20 kills, --rate checked within 5%).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAIN_JS } from './support/crashLoop.js';
import { existsSync } from 'node:fs';
import { expectEveryEventOnce } from './support/relayKillExpect.js';
import { runKillScenario } from './support/relayKillRun.js';

describe('payrun relay under kill -9', () => {
  const dir = mkdtempSync(join(tmpdir(), 'payrun-relay-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('7k events, 10% failures, 5 kills: each accepted exactly once, none missing, order per client kept', async () => {
    expect(existsSync(MAIN_JS), 'build first: npm run build').toBe(true);
    const rate = 1000;
    const report = await runKillScenario({
      dir,
      rows: 7500,
      clients: 300,
      seed: 18,
      kills: 5,
      killAfterMs: [400, 1400],
      rate,
      concurrency: 16,
      failRate: 0.1,
      badTxMod: 61,
      timeoutS: 0.4,
      secret: 'Bearer kill-test-secret-7f3a',
    });
    const context = JSON.stringify({ ...report, missing: report.missing.slice(0, 20) });
    expect(report.kills, context).toBe(5);
    expectEveryEventOnce(report);
    expect(report.requestsWithoutAuth, context).toBe(0);
    expect(report.injectedFailures, context).toBeGreaterThan(report.requests * 0.05);
    expect(report.retryingLines, context).toBeGreaterThan(0);
    // Loosely (timing on a shared machine): never faster than the rate plus its burst.
    expect(report.measuredRate, context).toBeLessThan(rate * 1.1 + 100);
  }, 120_000);
});
