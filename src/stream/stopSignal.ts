/** What the event loop is told when a stop signal arrives. */
export const STOPPED = Symbol('stopped');

/**
 * SIGINT / SIGTERM while a stream runs: the first one is remembered and settles `stopped`, so a
 * run waiting for input ends after the group it is on (groups are decided synchronously, so a
 * signal always falls between two of them). Later signals change nothing until remove().
 */
export class StopSignal {
  signal: NodeJS.Signals | undefined;
  readonly stopped: Promise<typeof STOPPED>;
  private readonly handler: (signal: NodeJS.Signals) => void;

  constructor() {
    let settle: (value: typeof STOPPED) => void = () => undefined;
    this.stopped = new Promise((resolve) => {
      settle = resolve;
    });
    this.handler = (signal) => {
      this.signal ??= signal;
      settle(STOPPED);
    };
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  remove(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }
}
