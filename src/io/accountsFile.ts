import { writeFileAtomic } from './accountsOutput.js';
import { type AccountBalances, formatAccounts } from './accountsCsv.js';

/** How often, at most, `--accounts FILE` is rewritten while rows arrive. */
const ACCOUNTS_EVERY_MS = 200;

/**
 * `payrun stream --accounts FILE`: the accounts CSV kept up to date, rewritten atomically (temp
 * file, fsync, rename) at most every ACCOUNTS_EVERY_MS while rows change it, and once at the
 * end. A reader never sees a half-written file; between rewrites it is at most that far behind.
 */
export class AccountsFile {
  private dirty = false;
  private readonly timer: NodeJS.Timeout;
  private failure: unknown;
  private done = false;

  constructor(
    private readonly path: string,
    private readonly accounts: AccountBalances,
    every = ACCOUNTS_EVERY_MS,
  ) {
    this.timer = setInterval(() => {
      if (!this.dirty || this.failure !== undefined) return;
      try {
        this.write();
      } catch (error) {
        this.failure = error; // reported by the next changed()
      }
    }, every);
    this.timer.unref();
  }

  /** The accounts changed; throws the error of a rewrite that failed since the last call. */
  changed(): void {
    if (this.failure !== undefined) throw this.failure;
    this.dirty = true;
  }

  /** The last rewrite, and no more timer (once; later calls do nothing). */
  finish(): void {
    clearInterval(this.timer);
    if (this.done) return;
    this.done = true;
    this.write();
  }

  /** No more rewrites (a fatal error): the file stays as last written. */
  stop(): void {
    clearInterval(this.timer);
  }

  private write(): void {
    this.dirty = false;
    writeFileAtomic(this.path, formatAccounts(this.accounts));
  }
}
