/**
 * The --rate limit: a token bucket of `burst` tokens refilled at `ratePerSecond`, one token per
 * HTTP request (retries included: the provider counts every request). Over any span of T seconds
 * at most burst + rate * T requests start, so a burst is bounded by `burst`. Pure: the clock is
 * passed in. Written by hand: the libraries that do this (bottleneck, limiter) are unmaintained
 * for years or bring a scheduler of their own; this is 30 lines.
 */
export class TokenBucket {
  private tokens: number;
  private updatedMs: number;
  private pausedUntilMs = 0;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    nowMs: number,
    /** Tokens at the start: 1 rather than a full bucket, so a restarted relay does not burst. */
    initial = 1,
  ) {
    this.tokens = Math.min(burst, initial);
    this.updatedMs = nowMs;
  }

  /** Takes a token if one is there (0), else the ms until one will be (nothing taken). */
  take(nowMs: number): number {
    if (nowMs < this.pausedUntilMs) return this.pausedUntilMs - nowMs;
    this.refill(nowMs);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond));
  }

  /** The provider said "too many" (429 with Retry-After): no request starts before `untilMs`, and the bucket starts empty then. */
  pause(untilMs: number): void {
    if (untilMs <= this.pausedUntilMs) return;
    this.pausedUntilMs = untilMs;
    this.tokens = 0;
    this.updatedMs = untilMs;
  }

  private refill(nowMs: number): void {
    if (nowMs <= this.updatedMs) return;
    this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.updatedMs) * this.ratePerSecond) / 1000);
    this.updatedMs = nowMs;
  }
}

/** The default burst of a rate: a tenth of a second's worth, at least 1. */
export function defaultBurst(ratePerSecond: number): number {
  return Math.max(1, Math.ceil(ratePerSecond / 10));
}
