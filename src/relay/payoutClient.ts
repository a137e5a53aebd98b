import { Pool } from 'undici';
import type { AttemptResult } from './retryPolicy.js';

/** One answer of the payout API (or its absence), with what a dead letter keeps of it. */
export type Answer = AttemptResult & { body?: string; ms: number };

/** The most of an answer's body kept (for a dead letter). */
const BODY_KEPT = 2048;

/**
 * POSTs to one endpoint over a pool of at most `connections` kept-alive connections (undici: the
 * client Node's own fetch is built on, with per-pool connection and timeout control that fetch
 * does not expose). An attempt that cannot connect, or has no answer's headers, or stalls in its
 * body for `timeoutMs` is aborted and counts as a timeout. Never throws: every failure is an answer
 * without a status.
 */
export class PayoutClient {
  private readonly pool: Pool;
  private readonly path: string;

  constructor(
    endpoint: URL,
    connections: number,
    private readonly timeoutMs: number,
    private readonly headers: Readonly<Record<string, string>>,
  ) {
    // The timeouts are undici's own (connect, headers, body): an AbortSignal per request would cost ~8% of the relay's CPU.
    this.pool = new Pool(endpoint.origin, { connections, connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, keepAliveTimeout: 4000 });
    this.path = `${endpoint.pathname}${endpoint.search}`;
  }

  async post(body: string, idempotencyKey: string): Promise<Answer> {
    const started = performance.now();
    const ms = (): number => Math.round(performance.now() - started);
    try {
      const response = await this.pool.request({
        path: this.path,
        method: 'POST',
        headers: { ...this.headers, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body,
      });
      const text = await response.body.text();
      const retryAfter = response.headers['retry-after'];
      return { status: response.statusCode, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, body: text.slice(0, BODY_KEPT), ms: ms() };
    } catch (error) {
      return { error: describeFailure(error, this.timeoutMs), ms: ms() };
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** A short, secret-free name for a failed attempt (undici's messages never carry request headers). */
function describeFailure(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; code?: string; message?: string; cause?: { code?: string } };
  if (e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT') return `timeout after ${timeoutMs} ms`;
  const code = e.code ?? e.cause?.code;
  if (code === 'UND_ERR_SOCKET') return 'connection closed before the answer';
  return code !== undefined ? `${code}` : (e.message ?? String(error)).split('\n')[0]!;
}
