/**
 * Rows meant to be rejected, aimed at each reason code from the tracked state: the reference
 * model still decides what they mean, but without aiming most codes would almost never appear.
 */
import { formatAmount, LIMIT, LIMIT_TEXT, randomAmount } from './amounts.js';
import { MAX_TX, SETTLED, StreamState } from './streamState.js';
import type { PickSet } from './streamState.js';

const REFER_TYPES = ['dispute', 'resolve', 'chargeback'];
const BAD_TYPES = ['transfer', 'refund', 'depositx', 'withdraw', 'dispute_', 're-solve', '', 'd', 'deposits'];
const BAD_CLIENTS = ['65536', '-1', 'x', '', '1.5', '+7', '1e3', '99999999999999999999'];
const BAD_TXS = ['4294967296', '-1', '1.5', 'abc', '', '1e3', '+5', '18446744073709551616'];
const BAD_AMOUNTS = ['1.23456', '-1', '1e3', '0', '0.0000', '1.', '.', '+1.0', '12abc', '', '900719925474.0992', '"1,5"', '1 5', '0x10'];

export abstract class RejectRows extends StreamState {
  /** A row meant to be rejected: a shape error, or a business rule aimed at on purpose. */
  protected odd(): string {
    const kind = this.rng.int(18);
    return (kind >= 6 ? this.businessReject(kind) : null) ?? this.shapeReject(kind % 6);
  }

  private shapeReject(kind: number): string {
    const r = this.rng;
    const id = this.ids[this.pickClient()] as string;
    const type = r.chance(0.5) ? 'deposit' : 'withdrawal';
    const tx = this.nextTx; // not owned by a malformed row, so the next good row takes it
    switch (kind) {
      case 0:
        return r.pick([`${type},${id}`, `${type},${id},${tx},1.0,4`, `dispute,${id}`, `${type};${id};${tx};1.0`, ',,,,', `resolve,${id},${tx},,`]);
      case 1:
        return r.pick([`de"posit,${id},${tx},1.0`, `"${type}"x,${id},${tx},1.0`, `"${type},${id},${tx},1.0`, `${type},${id},${tx},"1.0`, `${type},"${id}" 1,${tx},2.0`]);
      case 2:
        return `${r.pick(BAD_TYPES)},${id},${tx},1.0`;
      case 3:
        return `${r.chance(0.5) ? type : r.pick(REFER_TYPES)},${r.pick(BAD_CLIENTS)},${tx},1.0`;
      case 4:
        return `${r.chance(0.5) ? type : r.pick(REFER_TYPES)},${id},${r.pick(BAD_TXS)},1.0`;
      default:
        return r.chance(0.2) ? `${type},${id},${tx}` : `${type},${id},${tx},${r.pick(BAD_AMOUNTS)}`;
    }
  }

  /** Null when the state holds no target for this kind (e.g. nothing is disputed yet). */
  private businessReject(kind: number): string | null {
    const r = this.rng;
    switch (kind) {
      case 6: { // DUPLICATE_TX, also across clients: ids are global
        if (this.depositCount === 0) return null;
        const tx = this.depositTx[r.int(this.depositCount)] as number;
        return this.row(r.chance(0.5) ? 'deposit' : 'withdrawal', this.pickClient(), tx, formatAmount(r, randomAmount(r)));
      }
      case 7: { // OVERFLOW on a deposit: the largest amount onto a positive balance
        const client = this.pickClient();
        if ((this.available[client] as number) <= 0 && (this.available[client] as number) + (this.held[client] as number) <= 0) return null;
        return this.row('deposit', client, this.allocTx(), LIMIT_TEXT);
      }
      case 8:
        return this.disputeOverflow();
      case 9: { // ACCOUNT_LOCKED
        if (this.lockedCount === 0) return null;
        return this.row('withdrawal', this.lockedClients[r.int(this.lockedCount)] as number, this.allocTx(), formatAmount(r, randomAmount(r)));
      }
      case 10: { // INSUFFICIENT_FUNDS
        const client = this.pickUnlockedClient();
        if (this.locked[client] !== 0) return null;
        const amount = Math.max(0, this.available[client] as number) + randomAmount(r);
        return this.row('withdrawal', client, this.allocTx(), formatAmount(r, amount));
      }
      case 11: // UNKNOWN_TX: an id nobody owns (yet)
        return this.referRow(r.pick(REFER_TYPES), this.pickClient(), r.chance(0.5) ? MAX_TX - r.int(10) : this.nextTx + 1000 + r.int(1000));
      case 12: { // UNKNOWN_TX: another client's deposit
        const slot = this.depositCount === 0 ? -1 : r.int(this.depositCount);
        const client = this.pickClient();
        if (slot < 0 || this.depositClient[slot] === client) return null;
        return this.referRow(r.pick(REFER_TYPES), client, this.depositTx[slot] as number);
      }
      case 13: // NOT_DISPUTABLE: an applied withdrawal
        return this.referTo(this.withdrawals, r.int(this.withdrawals.count), REFER_TYPES);
      case 14: // CHARGED_BACK
        return this.referTo(this.chargedBack, r.int(this.chargedBack.count), REFER_TYPES);
      case 15: { // ALREADY_DISPUTED
        const i = this.findDisputed();
        return i < 0 ? null : this.referRow('dispute', this.depositClient[this.disputed.key[i] as number] as number, this.disputed.tx[i] as number);
      }
      default: { // NOT_DISPUTED
        const slot = this.findDeposit(SETTLED);
        if (slot < 0) return null;
        return this.referRow(r.chance(0.5) ? 'resolve' : 'chargeback', this.depositClient[slot] as number, this.depositTx[slot] as number);
      }
    }
  }

  /**
   * OVERFLOW on a dispute takes a balance near the limit, so it is a scripted run of 7 rows on
   * one client that ends with the client's balances exactly as before. With X = available ≥ 0,
   * H = held and A = LIMIT − X − H: deposit a A, withdraw A, dispute a (held L − X), deposit b A
   * (total L), dispute b (held would be 2L − 2X − H > L: OVERFLOW), resolve a, withdraw A.
   */
  private disputeOverflow(): string | null {
    const client = this.pickUnlockedClient();
    const x = this.available[client] as number;
    const h = this.held[client] as number;
    if (this.locked[client] !== 0 || x < 0 || 2 * x + h >= LIMIT) return null;
    const amount = formatAmount(this.rng, LIMIT - x - h);
    const a = this.allocTx();
    const b = this.allocTx();
    this.queue.push(
      this.row('withdrawal', client, this.allocTx(), amount),
      this.referRow('dispute', client, a),
      this.row('deposit', client, b, amount),
      this.referRow('dispute', client, b),
      this.referRow('resolve', client, a),
      this.row('withdrawal', client, this.allocTx(), amount),
    );
    return this.row('deposit', client, a, amount);
  }

  private referTo(set: PickSet, i: number, types: readonly string[]): string | null {
    return set.count === 0 ? null : this.referRow(this.rng.pick(types), set.key[i] as number, set.tx[i] as number);
  }
}
