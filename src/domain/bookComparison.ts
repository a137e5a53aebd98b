import type { Ledger } from './ledger.js';
import { CLIENT_COUNT } from './ledgerState.js';

/**
 * Compares a saved state, read a piece at a time (a snapshot file streamed), with a live
 * ledger, without a second copy of either: accounts, then every saved entry looked up in the
 * ledger's book and marked, so an entry saved twice is caught; finish() takes the marks off
 * again and checks that every entry was met. Each step returns where the two differ, in words, or undefined.
 */
export class BookComparison {
  private met = 0;

  constructor(private readonly ledger: Ledger) {}

  accounts(available: Float64Array, held: Float64Array, flags: Uint8Array): string | undefined {
    const { ledger } = this;
    for (let c = 0; c < CLIENT_COUNT; c++) {
      if (available[c] !== ledger.available[c] || held[c] !== ledger.held[c] || flags[c] !== ledger.flags[c]) return `client ${c} differs`;
    }
    return undefined;
  }

  /** The number of saved entries against the book's (before the entries: the cheap check first). */
  count(saved: number): string | undefined {
    const live = this.ledger.book.size;
    return saved === live ? undefined : `${saved} transactions against ${live}`;
  }

  /** `count` saved entries: [tx, meta] pairs in keys, their amounts. */
  entries(keys: Uint32Array, amounts: Float64Array, count: number): string | undefined {
    const { book } = this.ledger;
    for (let i = 0; i < count; i++) {
      const tx = keys[2 * i]!;
      const handle = book.find(tx);
      if (handle < 0 || book.meta(handle) !== keys[2 * i + 1] || book.amount(handle) !== amounts[i] || !book.mark(handle)) {
        return `transaction ${tx} differs`;
      }
      this.met++;
    }
    return undefined;
  }

  /** Always called last, whatever was found (it takes the marks off): were all `saved` entries met? */
  finish(saved: number): string | undefined {
    this.ledger.book.clearMarks();
    return this.met === saved ? undefined : `${this.met} of ${saved} transactions compared`;
  }
}
