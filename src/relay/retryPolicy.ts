/**
 * What to do after one attempt to deliver to the payout API: the classification of an answer
 * (or of no answer), the wait before the next attempt, and when to give up. Pure: the clock and
 * the random source are passed in.
 */

/** The result of one HTTP attempt: a status (and its Retry-After), or an error with no status. */
export type AttemptResult = { status: number; retryAfter?: string | undefined } | { error: string };

export type Verdict = 'delivered' | 'retry' | 'permanent';

/** 4xx that mean "not now", not "never": timeout, conflict (key in use), too early, too many. */
const RETRYABLE_4XX = new Set([408, 409, 425, 429]);

/** 2xx acknowledges; 5xx, the 4xx above, timeouts and connection errors are retried; any other status is final. */
export function classify(result: AttemptResult): Verdict {
  if (!('status' in result)) return 'retry';
  const { status } = result;
  if (status >= 200 && status < 300) return 'delivered';
  if (status >= 500 || RETRYABLE_4XX.has(status)) return 'retry';
  return 'permanent';
}

/** The longest Retry-After honoured: a server asking for more is waited on in steps of this. */
export const MAX_RETRY_AFTER_MS = 300_000;

/**
 * Retry-After in ms (delta-seconds or an HTTP date, RFC 9110 10.2.3), or undefined when it is
 * absent or unreadable; never negative, at most MAX_RETRY_AFTER_MS.
 */
export function retryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    // An HTTP date has a day or month name; Date.parse alone would read '-1' as a year.
    const at = /[A-Za-z]{3}/.test(text) ? Date.parse(text) : NaN;
    if (Number.isNaN(at)) return undefined;
    ms = at - nowMs;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

export interface BackoffPolicy {
  /** The ceiling of the first retry's wait. */
  baseMs: number;
  /** No wait's ceiling grows past this. */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 100, capMs: 20_000 };

/**
 * Exponential backoff with full jitter: a uniform draw in [0, min(cap, base * 2^(attempt-1))).
 * Full jitter spreads the retries of many events failing together (a provider coming back)
 * instead of sending them in synchronized waves. `attempt` is the attempt that just failed (1 = first).
 */
export function backoffMs(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.floor(random() * ceiling);
}

/** The wait before the next attempt: the server's Retry-After when it sent one on 429/503, else the backoff. */
export function nextWaitMs(result: AttemptResult, attempt: number, policy: BackoffPolicy, nowMs: number, random: () => number): { waitMs: number; fromServer: boolean } {
  if ('status' in result && (result.status === 429 || result.status === 503)) {
    const asked = retryAfterMs(result.retryAfter, nowMs);
    if (asked !== undefined) return { waitMs: asked, fromServer: true };
  }
  return { waitMs: backoffMs(attempt, policy, random), fromServer: false };
}
