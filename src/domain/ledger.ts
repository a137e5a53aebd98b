import { CLIENT_COUNT, type LedgerState, type LiveLedgerState, TX_PIECE } from './ledgerState.js';
import { LIMIT } from './money.js';
import { RejectReason } from './rejectReason.js';
import { TxBook, TxState } from './txBook.js';
import { TxType } from './txType.js';

/** Account flags, one byte per client id. */
export const AccountFlag = { Exists: 1, Locked: 2 } as const;

/**
 * The accounts of a set of clients and their applied transactions: SPEC section 3 as a pure
 * state machine over typed arrays (one slot per possible client id, 17 bytes each).
 *
 * Each operation is an early-return ladder of checks in SPEC section 4 order; past the line
 * "the row applies" nothing can fail. Balances are integer ten-thousandths (see money.ts).
 */
export class Ledger {
  readonly available = new Float64Array(CLIENT_COUNT);
  readonly held = new Float64Array(CLIENT_COUNT);
  readonly flags = new Uint8Array(CLIENT_COUNT);
  readonly book: TxBook;

  /** `discardTxs`: given the buffers of each outgrown segment of the TxBook (see TxBook). */
  constructor(expectedTxs = 0, discardTxs?: (buffers: ArrayBuffer[]) => void) {
    this.book = new TxBook(expectedTxs, discardTxs);
  }

  /**
   * A ledger holding a saved state, with room for expectedNewTxs more transactions. With
   * `keep`, only the accounts and transactions of the clients it accepts (a worker's shard).
   */
  static fromState(state: LedgerState, expectedNewTxs = 0, keep?: (client: number) => boolean): Ledger {
    const { txKeys, txAmounts } = state;
    // Sized for the entries it keeps, not for all of them (a shard of N keeps about 1/N).
    let kept = txAmounts.length;
    if (keep) {
      kept = 0;
      for (let i = 0; i < txAmounts.length; i++) if (keep(txKeys[2 * i + 1]! >>> 8)) kept++;
    }
    const ledger = new Ledger(kept + expectedNewTxs);
    for (let c = 0; c < CLIENT_COUNT; c++) {
      if (keep && !keep(c)) continue;
      ledger.available[c] = state.available[c]!;
      ledger.held[c] = state.held[c]!;
      ledger.flags[c] = state.flags[c]!;
    }
    ledger.book.insertPiece(txKeys, txAmounts, txAmounts.length, keep);
    return ledger;
  }

  /** A copy of everything this ledger knows (it goes on changing; the copy does not). */
  exportState(): LedgerState {
    const { keys, amounts } = this.book.entries();
    return { available: this.available.slice(), held: this.held.slice(), flags: this.flags.slice(), txKeys: keys, txAmounts: amounts };
  }

  /** The state where it lives, for a snapshot written at once (no copy of the transactions). */
  liveState(): LiveLedgerState {
    const keys = new Uint32Array(2 * TX_PIECE);
    const amounts = new Float64Array(TX_PIECE);
    return {
      available: this.available.slice(),
      held: this.held.slice(),
      flags: this.flags.slice(),
      txCount: this.book.size,
      eachTxPiece: (visit) => this.book.eachPiece(keys, amounts, (count) => visit(keys, amounts, count)),
    };
  }

  /**
   * Applies one well-formed row. The ledger's TxBook records which ids its rows own; when
   * clients are sharded over several ledgers, ownership is global and decided before the rows
   * are split (TxOwnership), and `duplicate` carries that decision.
   * Returns RejectReason.None when applied, else the first reason that applies.
   */
  apply(type: number, client: number, tx: number, amount: number, duplicate: boolean): RejectReason {
    this.flags[client] = this.flags[client]! | AccountFlag.Exists;
    switch (type) {
      case TxType.Deposit:
      case TxType.Withdrawal: {
        // The first well-formed row with an id owns it, applied or not (SPEC section 3).
        const slot = duplicate ? -1 : this.book.claim(tx, client);
        if (slot < 0) return RejectReason.DuplicateTx;
        return type === TxType.Deposit ? this.deposit(client, slot, amount) : this.withdraw(client, slot, amount);
      }
      case TxType.Dispute:
        return this.dispute(client, tx);
      case TxType.Resolve:
        return this.resolve(client, tx);
      case TxType.Chargeback:
        return this.chargeback(client, tx);
      default:
        throw new RangeError(`not a transaction type: ${type}`);
    }
  }

  private deposit(client: number, slot: number, amount: number): RejectReason {
    const available = this.available[client]!;
    if (available + amount > LIMIT) return RejectReason.Overflow;
    if (available + this.held[client]! + amount > LIMIT) return RejectReason.Overflow;
    // The row applies.
    this.available[client] = available + amount;
    this.book.settle(slot, TxState.Settled, amount);
    return RejectReason.None;
  }

  private withdraw(client: number, slot: number, amount: number): RejectReason {
    if ((this.flags[client]! & AccountFlag.Locked) !== 0) return RejectReason.AccountLocked;
    const available = this.available[client]!;
    if (available < amount) return RejectReason.InsufficientFunds;
    // The row applies.
    this.available[client] = available - amount;
    this.book.settle(slot, TxState.Withdrawal, amount);
    return RejectReason.None;
  }

  private dispute(client: number, tx: number): RejectReason {
    const slot = this.findDeposit(client, tx);
    if (slot < 0) return -slot as RejectReason;
    const state = this.book.state(slot);
    if (state === TxState.ChargedBack) return RejectReason.ChargedBack;
    if (state === TxState.Disputed) return RejectReason.AlreadyDisputed;
    const amount = this.book.amount(slot);
    const held = this.held[client]!;
    const available = this.available[client]!;
    if (held + amount > LIMIT || available - amount < -LIMIT) return RejectReason.Overflow;
    // The row applies.
    this.held[client] = held + amount;
    this.available[client] = available - amount;
    this.book.setState(slot, TxState.Disputed);
    return RejectReason.None;
  }

  private resolve(client: number, tx: number): RejectReason {
    const slot = this.findDisputed(client, tx);
    if (slot < 0) return -slot as RejectReason;
    // The row applies.
    const amount = this.book.amount(slot);
    this.held[client] = this.held[client]! - amount;
    this.available[client] = this.available[client]! + amount;
    this.book.setState(slot, TxState.Settled);
    return RejectReason.None;
  }

  private chargeback(client: number, tx: number): RejectReason {
    const slot = this.findDisputed(client, tx);
    if (slot < 0) return -slot as RejectReason;
    // The row applies: the funds leave held (and so total), and the account locks for good.
    this.held[client] = this.held[client]! - this.book.amount(slot);
    this.flags[client] = this.flags[client]! | AccountFlag.Locked;
    this.book.setState(slot, TxState.ChargedBack);
    return RejectReason.None;
  }

  /** The slot of this client's applied deposit tx, or minus the reason it is not one. */
  private findDeposit(client: number, tx: number): number {
    const slot = this.book.find(tx);
    if (slot < 0 || this.book.client(slot) !== client) return -RejectReason.UnknownTx;
    if (this.book.state(slot) === TxState.Owned) return -RejectReason.UnknownTx;
    if (this.book.state(slot) === TxState.Withdrawal) return -RejectReason.NotDisputable;
    return slot;
  }

  /** The slot of this client's disputed deposit tx, or minus the reason it is not one. */
  private findDisputed(client: number, tx: number): number {
    const slot = this.findDeposit(client, tx);
    if (slot < 0) return slot;
    const state = this.book.state(slot);
    if (state === TxState.ChargedBack) return -RejectReason.ChargedBack;
    if (state !== TxState.Disputed) return -RejectReason.NotDisputed;
    return slot;
  }
}
