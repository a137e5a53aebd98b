import { ClientOrder } from './clientOrder.js';
import type { DeadLetters } from './deadLetters.js';
import type { Answer, PayoutClient } from './payoutClient.js';
import type { Delivery } from './relayEvent.js';
import type { RelayLog } from './relayLog.js';
import type { RelayMetrics } from './relayMetrics.js';
import { type BackoffPolicy, classify, nextWaitMs } from './retryPolicy.js';
import type { TokenBucket } from './tokenBucket.js';

export interface RelaySettings {
  concurrency: number;
  maxAttempts: number;
  backoff: BackoffPolicy;
  /** A `delivered` log line at most this often (counts, not one line per event). */
  deliveredLogMs: number;
}

/** Where finished deliveries are recorded: the file source's --state, or the Redis source's acknowledgements. */
export interface RelayProgress {
  /** The delivery is done (2xx, or its dead letter is written). */
  finish(delivery: Delivery): void;
  /** The position as the `delivered` log line shows it. */
  fields(): Record<string, unknown>;
}

export interface RelayParts {
  client: PayoutClient;
  progress: RelayProgress;
  deadLetters: DeadLetters;
  bucket: TokenBucket | undefined;
  log: RelayLog;
  metrics: RelayMetrics;
}

const STOP = Symbol('stop');

/**
 * Takes the deliveries the source cuts (fileDeliveries, redisDeliveries), and runs `concurrency` workers that send them under the rate
 * limit, keeping per-client order (ClientOrder). A delivery is recorded done only after a 2xx or
 * its dead letter; stop() lets the requests in flight finish and starts no new one.
 */
export class Relay {
  private readonly order = new ClientOrder<Delivery>();
  private readerDone = false;
  private stopping = false;
  /** What stop() wakes: each wait registers itself and leaves when it ends (no reaction piles up on one long-lived promise). */
  private readonly stopWaits = new Set<() => void>();
  private waiters: (() => void)[] = [];
  /** Deliveries read ahead of the workers at most (memory stays bounded on any input). */
  private readonly window: number;
  private lastDeliveredLog = 0;
  private loggedEvents = 0;

  constructor(
    private readonly settings: RelaySettings,
    private readonly parts: RelayParts,
  ) {
    this.window = Math.max(1024, settings.concurrency * 16);
  }

  /** Runs until the source ends and everything is done, or until stop(); a bad input line throws after the in-flight requests finish. */
  async run(input: AsyncIterator<readonly Delivery[]>): Promise<void> {
    // A worker that fails (the state cannot be written) stops the others: no request starts after it.
    const workers = Array.from({ length: this.settings.concurrency }, () =>
      this.work().catch((error: unknown) => {
        this.stop();
        throw error;
      }),
    );
    let failure: unknown;
    try {
      await this.read(input);
    } catch (error) {
      failure = error;
      this.stop();
    } finally {
      this.readerDone = true;
      this.wake();
    }
    const ended = await Promise.allSettled(workers);
    this.logDelivered(true);
    if (failure !== undefined) throw failure;
    for (const worker of ended) if (worker.status === 'rejected') throw worker.reason;
  }

  stop(): void {
    this.stopping = true;
    for (const wake of this.stopWaits) wake();
    this.stopWaits.clear();
    this.wake();
  }

  private async read(input: AsyncIterator<readonly Delivery[]>): Promise<void> {
    for (;;) {
      while (this.order.size >= this.window && !this.stopping) await this.waitForChange();
      if (this.stopping) return;
      const result = await this.unlessStopped(input.next());
      if (result === STOP || result.done === true) return;
      for (const delivery of result.value) this.order.add(delivery);
      if (result.value.length > 0) this.wake();
    }
  }

  private async work(): Promise<void> {
    for (;;) {
      if (this.stopping) return;
      const delivery = this.order.next();
      if (delivery === undefined) {
        if (this.readerDone && this.order.size === 0) return;
        await this.waitForChange();
        continue;
      }
      const outcome = await this.deliver(delivery);
      if (outcome === STOP) return;
      if (outcome !== undefined) {
        this.parts.deadLetters.write(delivery, outcome.answer, outcome.reason);
        this.parts.metrics.deadLetters += 1;
        this.parts.metrics.deadLetterEvents += delivery.lines.length;
        this.parts.log('dead_letter', { key: delivery.key, lines: delivery.lines, reason: outcome.reason, attempts: delivery.attempts, ...answerFields(outcome.answer) });
      } else {
        this.parts.metrics.events += delivery.lines.length;
        this.parts.metrics.deliveries += 1;
        this.logDelivered(false);
      }
      this.parts.progress.finish(delivery);
      this.order.finish(delivery);
      this.wake();
    }
  }

  /** Sends until a 2xx (undefined), a final failure (the dead letter's answer), or a stop between attempts. */
  private async deliver(delivery: Delivery): Promise<{ answer: Answer; reason: 'permanent' | 'attempts' } | undefined | typeof STOP> {
    const { metrics, log, client, bucket } = this.parts;
    for (;;) {
      if (bucket !== undefined) {
        for (let wait = bucket.take(Date.now()); wait > 0; wait = bucket.take(Date.now())) {
          if ((await this.sleep(wait)) === STOP) return STOP;
        }
      }
      if (this.stopping) return STOP;
      delivery.attempts += 1;
      metrics.inFlight += 1;
      const answer = await client.post(delivery.body, delivery.key);
      metrics.inFlight -= 1;
      metrics.answered('status' in answer ? answer.status : undefined, answer.ms);
      const verdict = classify(answer);
      if (verdict === 'delivered') return undefined;
      if (verdict === 'permanent') return { answer, reason: 'permanent' };
      if (delivery.attempts >= this.settings.maxAttempts) return { answer, reason: 'attempts' };
      const { waitMs, fromServer } = nextWaitMs(answer, delivery.attempts, this.settings.backoff, Date.now(), Math.random);
      if ('status' in answer && answer.status === 429) {
        metrics.rateLimited += 1;
        // The provider's own pace wins over --rate: nothing starts before its Retry-After.
        if (fromServer) bucket?.pause(Date.now() + waitMs);
        log('rate_limited', { key: delivery.key, retry_after_ms: fromServer ? waitMs : null });
      }
      metrics.retries += 1;
      log('retrying', { key: delivery.key, attempt: delivery.attempts, ...answerFields(answer), wait_ms: waitMs });
      if ((await this.sleep(waitMs)) === STOP) return STOP;
    }
  }

  /** At most one `delivered` line per deliveredLogMs, with the count since the last one. */
  private logDelivered(final: boolean): void {
    const now = performance.now();
    const count = this.parts.metrics.events - this.loggedEvents;
    if (count === 0 || (!final && now - this.lastDeliveredLog < this.settings.deliveredLogMs)) return;
    this.lastDeliveredLog = now;
    this.loggedEvents = this.parts.metrics.events;
    this.parts.log('delivered', { events: count, total: this.parts.metrics.events, ...this.parts.progress.fields() });
  }

  private sleep(ms: number): Promise<typeof STOP | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const slept = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    });
    return this.unlessStopped(slept).finally(() => clearTimeout(timer));
  }

  /** The promise's value, or STOP as soon as stop() is called. */
  private unlessStopped<T>(promise: Promise<T>): Promise<T | typeof STOP> {
    if (this.stopping) return Promise.resolve(STOP);
    return new Promise((resolve, reject) => {
      const wake = (): void => resolve(STOP);
      this.stopWaits.add(wake);
      promise.then(
        (value) => {
          this.stopWaits.delete(wake);
          resolve(value);
        },
        (error: unknown) => {
          this.stopWaits.delete(wake);
          reject(error);
        },
      );
    });
  }

  private waitForChange(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}

function answerFields(answer: Answer): Record<string, unknown> {
  return 'status' in answer ? { status: answer.status } : { error: answer.error };
}
