/**
 * Reference model of SPEC.md: the test oracle and the source of `generate --expected`.
 *
 * It is written to be obviously right, not fast, and shares no code with the engine: its own
 * line handling, a char-by-char field splitter, BigInt money and plain Maps. If it and the
 * engine disagree, one of them misreads the SPEC, and the two were written apart on purpose.
 */

export type ReferenceReason =
  | 'MALFORMED_ROW' | 'UNKNOWN_TYPE' | 'BAD_CLIENT' | 'BAD_TX' | 'BAD_AMOUNT'
  | 'DUPLICATE_TX' | 'OVERFLOW' | 'ACCOUNT_LOCKED' | 'INSUFFICIENT_FUNDS' | 'UNKNOWN_TX'
  | 'NOT_DISPUTABLE' | 'CHARGED_BACK' | 'ALREADY_DISPUTED' | 'NOT_DISPUTED';

export interface ReferenceResult {
  accountsCsv: string;
  rejectsCsv: string;
  applied: number;
  rejected: number;
}

/** The header is not `type,client,tx,amount`; `line` is its 1-based physical line. */
export class ReferenceHeaderError extends Error {
  constructor(readonly line: number) {
    super("bad header, expected 'type,client,tx,amount'");
    this.name = 'ReferenceHeaderError';
  }
}

const HEADER_NAMES = ['type', 'client', 'tx', 'amount'];
const TYPES = ['deposit', 'withdrawal', 'dispute', 'resolve', 'chargeback'] as const;
type RowType = (typeof TYPES)[number];
const LIMIT = 9_007_199_254_740_991n; // 900719925474.0991 in ten-thousandths
const MAX_CLIENT = 65_535n;
const MAX_TX = 4_294_967_295n;

interface Account {
  available: bigint;
  held: bigint;
  locked: boolean;
}

/** Every well-formed deposit or withdrawal, applied or not: it owns its tx id for good. */
interface Transaction {
  client: number;
  kind: 'deposit' | 'withdrawal';
  amount: bigint;
  applied: boolean;
  state: 'settled' | 'disputed' | 'chargedBack';
}

const isBlankChar = (ch: string | undefined): boolean => ch === ' ' || ch === '\t';

function trimBlank(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isBlankChar(text[start])) start++;
  while (end > start && isBlankChar(text[end - 1])) end--;
  return text.slice(start, end);
}

// Only ASCII letters fold: 'İ'.toLowerCase() and friends must not turn into a valid type.
const asciiLower = (text: string): string => text.replace(/[A-Z]/g, (ch) => ch.toLowerCase());

/** SPEC section 2 quoting. Returns null for broken quoting (MALFORMED_ROW). */
export function splitFields(line: string): string[] | null {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    while (isBlankChar(line[i])) i++;
    let value = '';
    if (line[i] === '"') {
      i++;
      let closed = false;
      while (i < line.length) {
        const ch = line[i] as string;
        i++;
        if (ch !== '"') value += ch;
        else if (line[i] === '"') { value += '"'; i++; }
        else { closed = true; break; }
      }
      if (!closed) return null;
      while (isBlankChar(line[i])) i++;
      if (i < line.length && line[i] !== ',') return null; // text after the closing quote
    } else {
      while (i < line.length && line[i] !== ',') {
        if (line[i] === '"') return null; // quote inside an unquoted field
        value += line[i];
        i++;
      }
    }
    fields.push(trimBlank(value));
    if (i >= line.length) return fields;
    i++; // the comma
  }
}

/** A decimal integer without sign, exponent or fraction, within 0..max; else null. */
function parseId(text: string, max: bigint): number | null {
  if (!/^[0-9]+$/.test(text)) return null;
  const value = BigInt(text);
  return value <= max ? Number(value) : null;
}

/** `digits[.digits]` or `.digits`, at most 4 decimals, 0 < amount <= LIMIT, in ten-thousandths. */
function parseAmount(text: string | undefined): bigint | null {
  const match = text === undefined ? null : /^([0-9]*)(?:\.([0-9]+))?$/.exec(text);
  if (!match) return null;
  const whole = match[1] ?? '';
  const fraction = match[2];
  if (whole === '' && fraction === undefined) return null; // '' or '.'
  if (fraction !== undefined && fraction.length > 4) return null;
  const units = BigInt(whole === '' ? '0' : whole) * 10_000n + BigInt((fraction ?? '').padEnd(4, '0'));
  return units > 0n && units <= LIMIT ? units : null;
}

function formatMoney(units: bigint): string {
  const sign = units < 0n ? '-' : '';
  const abs = units < 0n ? -units : units;
  return `${sign}${abs / 10_000n}.${String(abs % 10_000n).padStart(4, '0')}`;
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export class ReferenceModel {
  private lineNumber = 0;
  private headerSeen = false;
  private readonly accounts = new Map<number, Account>();
  // Split by the low byte of the id: one V8 Map holds at most 2^24 entries, a long file has more.
  private readonly transactionsByLowByte = Array.from({ length: 256 }, () => new Map<number, Transaction>());
  private readonly rejectLines: string[] = [];
  private applied = 0;

  /** One physical line without its terminator, in file order; the first may start with a BOM. */
  pushLine(line: string): void {
    this.lineNumber++;
    const text = this.lineNumber === 1 && line.startsWith('\uFEFF') ? line.slice(1) : line;
    if (/^[ \t]*$/.test(text)) return;
    if (!this.headerSeen) {
      const names = splitFields(text);
      const ok = names !== null && names.length === 4 && names.every((name, i) => asciiLower(name) === HEADER_NAMES[i]);
      if (!ok) throw new ReferenceHeaderError(this.lineNumber);
      this.headerSeen = true;
      return;
    }
    const reason = this.applyRow(text);
    if (reason === null) this.applied++;
    else this.rejectLines.push(`${this.lineNumber},${reason},${csvField(text)}\n`);
  }

  result(): ReferenceResult {
    const clients = [...this.accounts.keys()].sort((a, b) => a - b);
    let accountsCsv = 'client,available,held,total,locked\n';
    for (const client of clients) {
      const account = this.accounts.get(client) as Account;
      const total = account.available + account.held;
      accountsCsv += `${client},${formatMoney(account.available)},${formatMoney(account.held)},${formatMoney(total)},${account.locked}\n`;
    }
    return {
      accountsCsv,
      rejectsCsv: `line,reason,row\n${this.rejectLines.join('')}`,
      applied: this.applied,
      rejected: this.rejectLines.length,
    };
  }

  /** Returns null when the row is applied, else the first reason of SPEC section 4 that applies. */
  private applyRow(text: string): ReferenceReason | null {
    const fields = splitFields(text);
    if (fields === null || fields.length < 3 || fields.length > 4) return 'MALFORMED_ROW';
    const typeName = asciiLower(fields[0] as string);
    const type = TYPES.find((name) => name === typeName);
    if (type === undefined) return 'UNKNOWN_TYPE';
    const client = parseId(fields[1] as string, MAX_CLIENT);
    if (client === null) return 'BAD_CLIENT';
    const tx = parseId(fields[2] as string, MAX_TX);
    if (tx === null) return 'BAD_TX';
    let amount = 0n;
    if (type === 'deposit' || type === 'withdrawal') {
      const parsed = parseAmount(fields[3]);
      if (parsed === null) return 'BAD_AMOUNT';
      amount = parsed;
    }

    // Well-formed from here on: the client has an account whatever happens next.
    let account = this.accounts.get(client);
    if (account === undefined) {
      account = { available: 0n, held: 0n, locked: false };
      this.accounts.set(client, account);
    }
    if (type === 'deposit' || type === 'withdrawal') return this.move(type, client, tx, amount, account);
    return this.referTo(type, client, tx, account);
  }

  private transactions(tx: number): Map<number, Transaction> {
    return this.transactionsByLowByte[tx & 255] as Map<number, Transaction>;
  }

  private move(kind: 'deposit' | 'withdrawal', client: number, tx: number, amount: bigint, account: Account): ReferenceReason | null {
    const transactions = this.transactions(tx);
    if (transactions.has(tx)) return 'DUPLICATE_TX';
    const transaction: Transaction = { client, kind, amount, applied: false, state: 'settled' };
    transactions.set(tx, transaction);
    if (kind === 'deposit') {
      if (account.available + amount > LIMIT || account.available + account.held + amount > LIMIT) return 'OVERFLOW';
      account.available += amount;
    } else {
      if (account.locked) return 'ACCOUNT_LOCKED';
      if (account.available < amount) return 'INSUFFICIENT_FUNDS';
      account.available -= amount;
    }
    transaction.applied = true;
    return null;
  }

  private referTo(type: RowType, client: number, tx: number, account: Account): ReferenceReason | null {
    const target = this.transactions(tx).get(tx);
    if (target === undefined || !target.applied || target.client !== client) return 'UNKNOWN_TX';
    if (target.kind !== 'deposit') return 'NOT_DISPUTABLE';
    if (target.state === 'chargedBack') return 'CHARGED_BACK';
    if (type === 'dispute') {
      if (target.state === 'disputed') return 'ALREADY_DISPUTED';
      if (account.held + target.amount > LIMIT || account.available - target.amount < -LIMIT) return 'OVERFLOW';
      account.available -= target.amount;
      account.held += target.amount;
      target.state = 'disputed';
      return null;
    }
    if (target.state !== 'disputed') return 'NOT_DISPUTED';
    account.held -= target.amount;
    if (type === 'resolve') {
      account.available += target.amount;
      target.state = 'settled';
    } else {
      account.locked = true;
      target.state = 'chargedBack';
    }
    return null;
  }
}

/** Runs the whole text: lines end at `\n`, one trailing `\r` belongs to the terminator. */
export function referenceRun(input: string): ReferenceResult {
  const model = new ReferenceModel();
  for (const line of input.split('\n')) model.pushLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  return model.result();
}
