/** What a wait ended by a stop signal resolves to. */
export const STOPPED = Symbol('stopped');

/**
 * SIGINT / SIGTERM while a stream runs: the first one is remembered and ends the wait in
 * progress (race), so a run waiting for input ends after the group it is on (groups are decided
 * synchronously, so a signal always falls between two of them). Later signals change nothing
 * until remove().
 */
export class StopSignal {
  signal: NodeJS.Signals | undefined;
  private wake: (() => void) | undefined;
  private readonly handler: (signal: NodeJS.Signals) => void;

  constructor() {
    this.handler = (signal) => {
      this.signal ??= signal;
      this.wake?.();
    };
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  /**
   * The promise's value, or STOPPED if a signal comes first. Each wait gets its own small promise
   * (racing one long-lived promise would add a reaction to it per wait: a leak in a stream that
   * never ends).
   */
  race<T>(promise: Promise<T>): Promise<T | typeof STOPPED> {
    if (this.signal !== undefined) return Promise.resolve(STOPPED);
    return new Promise((resolve, reject) => {
      this.wake = () => resolve(STOPPED);
      promise.then(resolve, reject);
    });
  }

  remove(): void {
    this.wake = undefined;
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }
}
