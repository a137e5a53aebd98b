/**
 * Seeded, streaming source of test transactions (SPEC section 6).
 *
 * Memory is bounded whatever the row count: per-client balances (at most 65,536 clients), a ring
 * of recent deposits that disputes target, and small pick sets. The generator tracks balances
 * exactly so it can aim rows at a reason code (a withdrawal above the balance, a dispute that
 * overflows), but the file's meaning always comes from the reference model, never from here.
 */
import { Prng } from './prng.js';

export interface GenerateOptions {
  rows: number;
  clients: number;
  seed: number;
  crlf?: boolean;
  bom?: boolean;
}

export const HEADER = 'type,client,tx,amount';

const LIMIT = 9_007_199_254_740_991; // 900719925474.0991 in ten-thousandths, exact in a double
const LIMIT_TEXT = '900719925474.0991';
const MAX_TX = 4_294_967_295;
const FIRST_TX = 1_000_000_000; // ten-digit ids, as a real ledger has
const DEPOSIT_RING = 4096;
const PICK_SET = 1024;

// Row mix as cumulative thresholds over one uniform draw; deposits take the rest (~69.5%).
const P_ODD = 0.015;
const P_DISPUTE = P_ODD + 0.04;
const P_RESOLVE = P_DISPUTE + 0.03;
const P_CHARGEBACK = P_RESOLVE + 0.0005; // rare: a chargeback locks the account for good
const P_WITHDRAWAL = P_CHARGEBACK + 0.2;
const P_DRESSED = 0.015; // valid rows with quotes, padding, case or leading zeros

const SETTLED = 0;
const DISPUTED = 1;
const CHARGED_BACK = 2;

const POW10 = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000];
// FRACTIONS[d][f] is f written with d digits: '.' + FRACTIONS[2][5] is '.05'.
const FRACTIONS = POW10.slice(0, 5).map((size, digits) => Array.from({ length: size }, (_, f) => String(f).padStart(digits, '0')));
// Amount shapes, picked by 4 random bits each: whole part mostly 4-6 digits, mostly 4 decimals
// (rows of about 35 bytes on average).
const WHOLE_DIGITS = [1, 2, 3, 4, 4, 4, 5, 5, 5, 5, 5, 6, 6, 6, 6, 7];
const DECIMALS = [0, 1, 2, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4];
const REFER_TYPES = ['dispute', 'resolve', 'chargeback'];
const TYPE_CASES = new Map(
  ['deposit', 'withdrawal', 'dispute', 'resolve', 'chargeback'].map((t) => [t, [t.toUpperCase(), t.charAt(0).toUpperCase() + t.slice(1), t.replace(/[aeiou]/g, (v) => v.toUpperCase())]]),
);
const BAD_TYPES = ['transfer', 'refund', 'depositx', 'withdraw', 'dispute_', 're-solve', '', 'd', 'deposits'];
const BAD_CLIENTS = ['65536', '-1', 'x', '', '1.5', '+7', '1e3', '99999999999999999999'];
const BAD_TXS = ['4294967296', '-1', '1.5', 'abc', '', '1e3', '+5', '18446744073709551616'];
const BAD_AMOUNTS = ['1.23456', '-1', '1e3', '0', '0.0000', '1.', '.', '+1.0', '12abc', '', '900719925474.0992', '"1,5"', '1 5', '0x10'];

export function validateOptions(opts: GenerateOptions): void {
  if (!Number.isSafeInteger(opts.rows) || opts.rows < 0) throw new Error(`rows must be a whole number >= 0, got ${opts.rows}`);
  if (!Number.isSafeInteger(opts.clients) || opts.clients < 1 || opts.clients > 65_536) {
    throw new Error(`clients must be a whole number from 1 to 65536, got ${opts.clients}`);
  }
  if (!Number.isSafeInteger(opts.seed)) throw new Error(`seed must be a whole number, got ${opts.seed}`);
}

/** '7' → '7.00', '1.5' → '1.50': the same amount with more decimals, never more than four. */
function padDecimals(amount: string): string {
  const dot = amount.indexOf('.');
  return dot < 0 ? `${amount}.00` : amount.length - dot <= 4 ? `${amount}0` : amount;
}

/** A bounded bag of (key, tx) pairs; when full, a random old pair makes room. */
class PickSet {
  readonly key = new Int32Array(PICK_SET);
  readonly tx = new Float64Array(PICK_SET);
  count = 0;
  add(rng: Prng, key: number, tx: number): void {
    const i = this.count < PICK_SET ? this.count++ : rng.int(PICK_SET);
    this.key[i] = key;
    this.tx[i] = tx;
  }
  remove(i: number): void {
    this.count--;
    this.key[i] = this.key[this.count] as number;
    this.tx[i] = this.tx[this.count] as number;
  }
}

/** A distinct, seeded set of client ids over 0..65535; index 0 is the busiest. */
function pickClientIds(rng: Prng, count: number): string[] {
  const ids = new Uint16Array(65_536).map((_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(65_536 - i);
    const id = ids[j] as number;
    ids[j] = ids[i] as number;
    ids[i] = id;
  }
  const chosen = Array.from(ids.subarray(0, count));
  // The edge ids belong in every sizable file; the quietest clients give way to them.
  if (count >= 8 && !chosen.includes(0)) chosen[count - 1] = 0;
  if (count >= 8 && !chosen.includes(65_535)) chosen[count - 2] = 65_535;
  return chosen.map(String);
}

/** Yields the header (with a BOM if asked), then the data rows, all without line terminators. */
export function* generateLines(opts: GenerateOptions): Generator<string, void, undefined> {
  const rows = new TransactionStream(opts);
  yield `${opts.bom ? '\uFEFF' : ''}${HEADER}`;
  for (let row = rows.next(); row !== null; row = rows.next()) yield row;
}

/** The data rows, one `next()` at a time; null after `opts.rows` rows. */
export class TransactionStream {
  private readonly rng: Prng;
  private readonly ids: string[];
  private readonly available: Float64Array;
  private readonly held: Float64Array;
  private readonly locked: Uint8Array;
  private readonly lockedClients: Int32Array;
  private lockedCount = 0;
  private readonly depositTx = new Float64Array(DEPOSIT_RING);
  private readonly depositClient = new Int32Array(DEPOSIT_RING);
  private readonly depositAmount = new Float64Array(DEPOSIT_RING);
  private readonly depositState = new Uint8Array(DEPOSIT_RING);
  private depositCount = 0;
  private depositNext = 0;
  private readonly disputed = new PickSet(); // key: deposit ring slot
  private readonly chargedBack = new PickSet(); // key: client index
  private readonly withdrawals = new PickSet(); // key: client index
  private readonly queue: string[] = [];
  private left: number;
  private nextTx: number;
  private spareTx = -1;

  constructor(opts: GenerateOptions) {
    validateOptions(opts);
    this.rng = new Prng(opts.seed);
    this.ids = pickClientIds(this.rng, opts.clients);
    this.available = new Float64Array(opts.clients);
    this.held = new Float64Array(opts.clients);
    this.locked = new Uint8Array(opts.clients);
    this.lockedClients = new Int32Array(opts.clients);
    this.left = opts.rows;
    // Ids grow by under 2 per row (gaps included); start low only when ten-digit ids would run out.
    this.nextTx = opts.rows * 2 <= MAX_TX - FIRST_TX ? FIRST_TX + this.rng.int(10_000_000) : 1;
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
    const amount = this.randomAmount();
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
    return this.row('deposit', client, tx, this.formatAmount(amount));
  }

  private withdrawal(): string {
    const client = this.pickUnlockedClient();
    const available = this.available[client] as number;
    let amount = this.randomAmount();
    // Most people withdraw what they have; the rest are the natural INSUFFICIENT_FUNDS.
    if (amount > available && available > 0 && this.rng.chance(0.8)) {
      amount = this.rng.chance(0.1) ? available : Math.max(1, Math.floor((available * this.rng.float()) / 100) * 100);
    }
    const tx = this.allocTx();
    if (this.locked[client] === 0 && available >= amount) {
      this.available[client] = available - amount;
      this.withdrawals.add(this.rng, client, tx);
    }
    return this.row('withdrawal', client, tx, this.formatAmount(amount));
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

  /** A row meant to be rejected: a shape error, or a business rule aimed at on purpose. */
  private odd(): string {
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
        return this.row(r.chance(0.5) ? 'deposit' : 'withdrawal', this.pickClient(), tx, this.formatAmount(this.randomAmount()));
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
        return this.row('withdrawal', this.lockedClients[r.int(this.lockedCount)] as number, this.allocTx(), this.formatAmount(this.randomAmount()));
      }
      case 10: { // INSUFFICIENT_FUNDS
        const client = this.pickUnlockedClient();
        if (this.locked[client] !== 0) return null;
        const amount = Math.max(0, this.available[client] as number) + this.randomAmount();
        return this.row('withdrawal', client, this.allocTx(), this.formatAmount(amount));
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
    const amount = this.formatAmount(LIMIT - x - h);
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

  /** Index in `disputed` of a deposit still disputed and still in the ring, or −1. */
  private findDisputed(): number {
    const set = this.disputed;
    while (set.count > 0) {
      const i = this.rng.int(set.count);
      const slot = set.key[i] as number;
      if (this.depositTx[slot] === set.tx[i] && this.depositState[slot] === DISPUTED) return i;
      set.remove(i); // the ring reused the slot
    }
    return -1;
  }

  private findDeposit(state: number): number {
    for (let tries = 0; tries < 4 && this.depositCount > 0; tries++) {
      const slot = this.rng.int(this.depositCount);
      if (this.depositState[slot] === state) return slot;
    }
    return -1;
  }

  /** Skewed: with u³, 1% of the clients get about a fifth of the rows. */
  private pickClient(): number {
    const u = this.rng.float();
    return Math.floor(u * u * u * this.ids.length);
  }

  /** Few people keep trying a frozen account; an unlocked client if a few tries find one. */
  private pickUnlockedClient(): number {
    let client = this.pickClient();
    for (let tries = 0; tries < 4 && this.locked[client] !== 0; tries++) client = this.pickClient();
    return client;
  }

  private allocTx(): number {
    const bits = this.rng.u32();
    let tx = this.nextTx;
    if ((bits & 31) === 0 && this.spareTx >= 0) {
      tx = this.spareTx; // an id skipped earlier arrives late: ids are unique, not sorted
      this.spareTx = -1;
      return tx;
    }
    if ((bits & 31) < 3) {
      this.spareTx = tx;
      tx += 1 + ((bits >>> 5) & 7);
    }
    this.nextTx = tx + 1 > MAX_TX ? 0 : tx + 1; // wraps only past 4e9 ids: duplicates, still valid input
    return tx;
  }

  /** A positive amount in ten-thousandths, of a realistic shape. */
  private randomAmount(): number {
    const bits = this.rng.u32();
    const decimals = DECIMALS[bits & 15] as number;
    const whole = this.rng.int(POW10[WHOLE_DIGITS[(bits >>> 4) & 15] as number] as number);
    const units = whole * 10_000 + this.rng.int(POW10[decimals] as number) * (POW10[4 - decimals] as number);
    return units === 0 ? 10_000 : units;
  }

  /** Shortest form ('12.5', '3', '.75' now and then), so the row shows the amount's own precision. */
  private formatAmount(units: number): string {
    const whole = Math.floor(units / 10_000);
    const frac = (units - whole * 10_000) | 0; // int32, so the % below stay integer operations
    if (frac === 0) return String(whole);
    const decimals = frac % 1000 === 0 ? 1 : frac % 100 === 0 ? 2 : frac % 10 === 0 ? 3 : 4;
    const fraction = (FRACTIONS[decimals] as string[])[frac / (POW10[4 - decimals] as number)] as string;
    return whole === 0 && this.rng.chance(0.25) ? `.${fraction}` : `${whole}.${fraction}`;
  }

  private referRow(type: string, client: number, tx: number): string {
    const k = this.rng.int(50);
    return this.row(type, client, tx, k < 34 ? '' : k < 49 ? undefined : this.formatAmount(this.randomAmount()));
  }

  private row(type: string, client: number, tx: number, amount: string | undefined): string {
    const id = this.ids[client] as string;
    if (!this.rng.chance(P_DRESSED)) return amount === undefined ? `${type},${id},${tx}` : `${type},${id},${tx},${amount}`;
    const r = this.rng;
    let text = `${this.dress(this.rng.pick(TYPE_CASES.get(type) ?? [type]))},${this.dress(r.chance(0.2) ? `00${id}` : id)},`;
    text += this.dress(r.chance(0.1) ? `0${tx}` : String(tx));
    if (amount === undefined) return text;
    return `${text},${this.dress(amount === '' ? '' : r.pick([`0${amount}`, padDecimals(amount), amount, amount]))}`;
  }

  /** Valid CSV a strict parser might still trip on: quotes, spaces and tabs around the value. */
  private dress(field: string): string {
    switch (this.rng.int(6)) {
      case 0: return `"${field}"`;
      case 1: return ` ${field} `;
      case 2: return `\t${field}`;
      case 3: return `" ${field}\t"`;
      default: return field;
    }
  }
}
