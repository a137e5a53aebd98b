import { type Dispatcher, Pool } from 'undici';
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
 *
 * Requests go through undici's lowest level (`dispatch` with a handler of our own, AnswerHandler):
 * `request()` would build a header object and a body stream per answer, which was a third of the
 * relay's CPU per request; the relay needs only the status, Retry-After and, for a failure, the body.
 */
export class PayoutClient {
  private readonly pool: Pool;
  private readonly path: string;
  /** The headers of every request, as undici's flat [name, value, ...] list; the idempotency key goes last. */
  private readonly fixedHeaders: string[];

  constructor(
    endpoint: URL,
    connections: number,
    private readonly timeoutMs: number,
    headers: Readonly<Record<string, string>>,
  ) {
    // The timeouts are undici's own (connect, headers, body): an AbortSignal per request would cost ~8% of the relay's CPU.
    this.pool = new Pool(endpoint.origin, { connections, connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, keepAliveTimeout: 4000 });
    this.path = `${endpoint.pathname}${endpoint.search}`;
    this.fixedHeaders = [...Object.entries(headers).flat(), 'content-type', 'application/json'];
  }

  post(body: string, idempotencyKey: string): Promise<Answer> {
    return new Promise((resolve) => {
      const handler = new AnswerHandler(resolve, this.timeoutMs);
      // dispatch reports its failures to the handler (onError); it throws only on a bad argument, which is ours.
      this.pool.dispatch({ path: this.path, method: 'POST', headers: [...this.fixedHeaders, 'idempotency-key', idempotencyKey], body }, handler);
    });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

const RETRY_AFTER = Buffer.from('retry-after');

/** One request's answer as undici's core hands it over (headers as raw [name, value, ...] buffers, the body in chunks). */
class AnswerHandler implements Dispatcher.DispatchHandler {
  private readonly started = performance.now();
  private status = 0;
  private retryAfter: string | undefined;
  private readonly failureBody: Buffer[] = [];
  private failureBytes = 0;

  constructor(
    private readonly resolve: (answer: Answer) => void,
    private readonly timeoutMs: number,
  ) {}

  onConnect(): void {}

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    this.status = statusCode;
    if (statusCode === 429 || statusCode === 503) {
      for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
        const name = rawHeaders[i]!;
        if (name.length === RETRY_AFTER.length && name.toString('latin1').toLowerCase() === 'retry-after') this.retryAfter = rawHeaders[i + 1]!.toString('latin1');
      }
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    // Only a failure's body is kept (for its dead letter); a 2xx body is read and let go.
    if ((this.status < 200 || this.status >= 300) && this.failureBytes < BODY_KEPT * 4) {
      this.failureBody.push(chunk);
      this.failureBytes += chunk.length;
    }
    return true;
  }

  onComplete(): void {
    const ms = Math.round(performance.now() - this.started);
    const body = this.failureBytes === 0 ? '' : Buffer.concat(this.failureBody).toString('utf8').slice(0, BODY_KEPT);
    this.resolve({ status: this.status, retryAfter: this.retryAfter, body, ms });
  }

  onError(error: Error): void {
    this.resolve({ error: describeFailure(error, this.timeoutMs), ms: Math.round(performance.now() - this.started) });
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
