/**
 * Seeded, streaming source of test transactions (SPEC section 6).
 *
 * Memory is bounded whatever the row count: per-client balances (at most 65,536 clients), a ring
 * of recent deposits that disputes target, and small pick sets. The generator tracks balances
 * exactly so it can aim rows at a reason code (a withdrawal above the balance, a dispute that
 * overflows), but the file's meaning always comes from the reference model, never from here.
 */
import { formatAmount, LIMIT, randomAmount } from './amounts.js';
import type { GenerateOptions } from './options.js';
import { RejectRows } from './rejectRows.js';
import { CHARGED_BACK, DEPOSIT_RING, DISPUTED, SETTLED } from './streamState.js';

export { validateOptions } from './options.js';
export type { GenerateOptions } from './options.js';

export const HEADER = 'type,client,tx,amount';

// Row mix as cumulative thresholds over one uniform draw; deposits take the rest (~69.5%).
const P_ODD = 0.015;
const P_DISPUTE = P_ODD + 0.04;
const P_RESOLVE = P_DISPUTE + 0.03;
const P_CHARGEBACK = P_RESOLVE + 0.0005; // rare: a chargeback locks the account for good
const P_WITHDRAWAL = P_CHARGEBACK + 0.2;

/** Yields the header (with a BOM if asked), then the data rows, all without line terminators. */
export function* generateLines(opts: GenerateOptions): Generator<string, void, undefined> {
  const rows = new TransactionStream(opts);
  yield `${opts.bom ? '\uFEFF' : ''}${HEADER}`;
  for (let row = rows.next(); row !== null; row = rows.next()) yield row;
}

/** The data rows, one `next()` at a time; null after `opts.rows` rows. */
export class TransactionStream extends RejectRows {
  private left: number;

  constructor(opts: GenerateOptions) {
    super(opts);
    this.left = opts.rows;
  }

  next(): string | null {
    if (this.left === 0) return null;
    this.left--;
    if (this.queue.length > 0) return this.queue.shift() as string;
    const u = this.rng.float();
    if (u >= P_WITHDRAWAL) return this.deposit();
    if (u >= P_CHARGEBACK) return this.withdrawal();
    if (u >= P_RESOLVE) return this.settle(true);
    if (u >= P_DISPUTE) return this.settle(false);
    if (u >= P_ODD) return this.dispute();
    return this.odd();
  }

  private deposit(): string {
    const client = this.pickClient();
    const amount = randomAmount(this.rng);
    const tx = this.allocTx();
    const available = this.available[client] as number;
    if (available + amount <= LIMIT && available + (this.held[client] as number) + amount <= LIMIT) {
      this.available[client] = available + amount;
      const slot = this.depositNext;
      this.depositNext = (slot + 1) % DEPOSIT_RING;
      if (this.depositCount < DEPOSIT_RING) this.depositCount++;
      this.depositTx[slot] = tx;
      this.depositClient[slot] = client;
      this.depositAmount[slot] = amount;
      this.depositState[slot] = SETTLED;
    }
    return this.row('deposit', client, tx, formatAmount(this.rng, amount));
  }

  private withdrawal(): string {
    const client = this.pickUnlockedClient();
    const available = this.available[client] as number;
    let amount = randomAmount(this.rng);
    // Most people withdraw what they have; the rest are the natural INSUFFICIENT_FUNDS.
    if (amount > available && available > 0 && this.rng.chance(0.8)) {
      amount = this.rng.chance(0.1) ? available : Math.max(1, Math.floor((available * this.rng.float()) / 100) * 100);
    }
    const tx = this.allocTx();
    if (this.locked[client] === 0 && available >= amount) {
      this.available[client] = available - amount;
      this.withdrawals.add(this.rng, client, tx);
    }
    return this.row('withdrawal', client, tx, formatAmount(this.rng, amount));
  }

  private dispute(): string {
    const slot = this.findDeposit(SETTLED);
    if (slot < 0) return this.deposit();
    const client = this.depositClient[slot] as number;
    const amount = this.depositAmount[slot] as number;
    const tx = this.depositTx[slot] as number;
    if ((this.held[client] as number) + amount > LIMIT || (this.available[client] as number) - amount < -LIMIT) return this.deposit();
    this.available[client] = (this.available[client] as number) - amount;
    this.held[client] = (this.held[client] as number) + amount;
    this.depositState[slot] = DISPUTED;
    this.disputed.add(this.rng, slot, tx);
    return this.referRow('dispute', client, tx);
  }

  /** Resolve or charge back a disputed deposit still in the ring. */
  private settle(chargeback: boolean): string {
    const i = this.findDisputed();
    if (i < 0) return this.dispute();
    const slot = this.disputed.key[i] as number;
    const tx = this.disputed.tx[i] as number;
    this.disputed.remove(i);
    const client = this.depositClient[slot] as number;
    const amount = this.depositAmount[slot] as number;
    this.held[client] = (this.held[client] as number) - amount;
    if (chargeback) {
      this.depositState[slot] = CHARGED_BACK;
      this.chargedBack.add(this.rng, client, tx);
      if (this.locked[client] === 0) this.lockedClients[this.lockedCount++] = client;
      this.locked[client] = 1;
    } else {
      this.available[client] = (this.available[client] as number) + amount;
      this.depositState[slot] = SETTLED;
    }
    return this.referRow(chargeback ? 'chargeback' : 'resolve', client, tx);
  }
}
