/**
 * What the transaction stream remembers, and the moves every kind of row is built from: picking
 * clients, allocating ids, finding deposits to refer to, writing row text. Valid rows and aimed
 * rejects both extend it, so each can live in its own file yet share one state.
 */
import { formatAmount, padDecimals, randomAmount } from './amounts.js';
import { validateOptions } from './options.js';
import type { GenerateOptions } from './options.js';
import { Prng } from './prng.js';

export const MAX_TX = 4_294_967_295;
const FIRST_TX = 1_000_000_000; // ten-digit ids, as a real ledger has
export const DEPOSIT_RING = 4096;
const PICK_SET = 1024;
const P_DRESSED = 0.015; // valid rows with quotes, padding, case or leading zeros

export const SETTLED = 0;
export const DISPUTED = 1;
export const CHARGED_BACK = 2;

const TYPE_CASES = new Map(
  ['deposit', 'withdrawal', 'dispute', 'resolve', 'chargeback'].map((t) => [t, [t.toUpperCase(), t.charAt(0).toUpperCase() + t.slice(1), t.replace(/[aeiou]/g, (v) => v.toUpperCase())]]),
);

/** A bounded bag of (key, tx) pairs; when full, a random old pair makes room. */
export class PickSet {
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

export abstract class StreamState {
  protected readonly rng: Prng;
  protected readonly ids: string[];
  protected readonly available: Float64Array;
  protected readonly held: Float64Array;
  protected readonly locked: Uint8Array;
  protected readonly lockedClients: Int32Array;
  protected lockedCount = 0;
  protected readonly depositTx = new Float64Array(DEPOSIT_RING);
  protected readonly depositClient = new Int32Array(DEPOSIT_RING);
  protected readonly depositAmount = new Float64Array(DEPOSIT_RING);
  protected readonly depositState = new Uint8Array(DEPOSIT_RING);
  protected depositCount = 0;
  protected depositNext = 0;
  protected readonly disputed = new PickSet(); // key: deposit ring slot
  protected readonly chargedBack = new PickSet(); // key: client index
  protected readonly withdrawals = new PickSet(); // key: client index
  protected readonly queue: string[] = [];
  protected nextTx: number;
  private spareTx = -1;

  constructor(opts: GenerateOptions) {
    validateOptions(opts);
    this.rng = new Prng(opts.seed);
    this.ids = pickClientIds(this.rng, opts.clients);
    this.available = new Float64Array(opts.clients);
    this.held = new Float64Array(opts.clients);
    this.locked = new Uint8Array(opts.clients);
    this.lockedClients = new Int32Array(opts.clients);
    // Ids grow by under 2 per row (gaps included); start low only when ten-digit ids would run out.
    const seeded = opts.rows * 2 <= MAX_TX - FIRST_TX ? FIRST_TX + this.rng.int(10_000_000) : 1;
    // A given first id changes only the ids: the draw above is made all the same, so every other
    // choice (and so the mix) is the seed's, and the file is the default one with its ids shifted.
    this.nextTx = opts.firstTx ?? seeded;
  }

  /** The id after the highest one the rows own so far: where a next file's ids can start (`--first-tx`). */
  get followingTx(): number {
    return this.nextTx;
  }

  /** Index in `disputed` of a deposit still disputed and still in the ring, or −1. */
  protected findDisputed(): number {
    const set = this.disputed;
    while (set.count > 0) {
      const i = this.rng.int(set.count);
      const slot = set.key[i] as number;
      if (this.depositTx[slot] === set.tx[i] && this.depositState[slot] === DISPUTED) return i;
      set.remove(i); // the ring reused the slot
    }
    return -1;
  }

  protected findDeposit(state: number): number {
    for (let tries = 0; tries < 4 && this.depositCount > 0; tries++) {
      const slot = this.rng.int(this.depositCount);
      if (this.depositState[slot] === state) return slot;
    }
    return -1;
  }

  /** Skewed: with u³, 1% of the clients get about a fifth of the rows. */
  protected pickClient(): number {
    const u = this.rng.float();
    return Math.floor(u * u * u * this.ids.length);
  }

  /** Few people keep trying a frozen account; an unlocked client if a few tries find one. */
  protected pickUnlockedClient(): number {
    let client = this.pickClient();
    for (let tries = 0; tries < 4 && this.locked[client] !== 0; tries++) client = this.pickClient();
    return client;
  }

  protected allocTx(): number {
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

  protected referRow(type: string, client: number, tx: number): string {
    const k = this.rng.int(50);
    return this.row(type, client, tx, k < 34 ? '' : k < 49 ? undefined : formatAmount(this.rng, randomAmount(this.rng)));
  }

  protected row(type: string, client: number, tx: number, amount: string | undefined): string {
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
