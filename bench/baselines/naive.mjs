#!/usr/bin/env node
// The naive baseline, for contrast: the obvious implementation of SPEC.md with the usual tools.
// csv-parse's stream API turns each row into an object, decimal.js does the money, one Map holds
// the account objects and another the transaction objects. Prints the accounts CSV (SPEC
// section 5) on stdout.
//   node bench/baselines/naive.mjs FILE
//
// It is SPEC-exact on well-formed rows. Malformed rows are only ever rejected (never applied and
// they create no account), which is all the accounts depend on, but the reason it would give is
// not tracked. Two deliberate csv-parse settings keep it from going wrong on the generator's files:
// - `quote: null` and quotes stripped per field below: SPEC says a quoted field never spans lines,
//   but csv-parse's RFC quoting lets an unclosed quote (`"deposit,1,2,3.0`) swallow every following
//   line up to the next quote, silently dropping rows.
// - `relax_column_count_less` + `skip_records_with_error` rather than `relax_column_count`, which
//   would silently drop a 5th field and apply `deposit,1,2,1.0,4`.
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import Decimal from 'decimal.js';

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write('usage: naive.mjs FILE\n');
  process.exit(2);
}

const LIMIT = new Decimal('900719925474.0991');
const NEG_LIMIT = LIMIT.negated();
const ZERO = new Decimal(0);
const TYPES = new Set(['deposit', 'withdrawal', 'dispute', 'resolve', 'chargeback']);
const INTEGER = /^\d+$/;
const AMOUNT = /^(?:\d+(?:\.\d{1,4})?|\.\d{1,4})$/;

/** @type {Map<number, { client: number, available: Decimal, held: Decimal, locked: boolean }>} */
const accounts = new Map();
/** @type {Map<number, { client: number, type: string, amount: Decimal, applied: boolean, state: 'settled' | 'disputed' | 'chargedBack' }>} */
const txs = new Map();

/** Trims spaces and tabs, removes surrounding quotes (and un-doubles inner ones), trims again. */
function field(value) {
  if (value === undefined) return '';
  let v = value.trim();
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1).replaceAll('""', '"').trim();
  return v;
}

function account(client) {
  let acc = accounts.get(client);
  if (acc === undefined) {
    acc = { client, available: ZERO, held: ZERO, locked: false };
    accounts.set(client, acc);
  }
  return acc;
}

/** Applies one row; returns the reject reason or null. */
function apply(row) {
  const type = field(row.type).toLowerCase();
  if (!TYPES.has(type)) return 'UNKNOWN_TYPE';
  const clientText = field(row.client);
  const client = Number(clientText);
  if (!INTEGER.test(clientText) || client > 65535) return 'BAD_CLIENT';
  const txText = field(row.tx);
  const txId = Number(txText);
  if (!INTEGER.test(txText) || txId > 4294967295) return 'BAD_TX';
  let amount = ZERO;
  if (type === 'deposit' || type === 'withdrawal') {
    const amountText = field(row.amount);
    if (!AMOUNT.test(amountText)) return 'BAD_AMOUNT';
    amount = new Decimal(amountText);
    if (amount.isZero() || amount.greaterThan(LIMIT)) return 'BAD_AMOUNT';
  }

  const acc = account(client); // every well-formed row creates its client's account
  switch (type) {
    case 'deposit': {
      if (txs.has(txId)) return 'DUPLICATE_TX';
      const tx = { client, type, amount, applied: false, state: 'settled' };
      txs.set(txId, tx);
      const available = acc.available.plus(amount);
      if (available.greaterThan(LIMIT) || available.plus(acc.held).greaterThan(LIMIT)) return 'OVERFLOW';
      acc.available = available;
      tx.applied = true;
      return null;
    }
    case 'withdrawal': {
      if (txs.has(txId)) return 'DUPLICATE_TX';
      const tx = { client, type, amount, applied: false, state: 'settled' };
      txs.set(txId, tx);
      if (acc.locked) return 'ACCOUNT_LOCKED';
      if (acc.available.lessThan(amount)) return 'INSUFFICIENT_FUNDS';
      acc.available = acc.available.minus(amount);
      tx.applied = true;
      return null;
    }
    default: {
      const tx = txs.get(txId);
      if (tx === undefined || !tx.applied || tx.client !== client) return 'UNKNOWN_TX';
      if (tx.type !== 'deposit') return 'NOT_DISPUTABLE';
      if (tx.state === 'chargedBack') return 'CHARGED_BACK';
      if (type === 'dispute') {
        if (tx.state === 'disputed') return 'ALREADY_DISPUTED';
        const held = acc.held.plus(tx.amount);
        const available = acc.available.minus(tx.amount);
        if (held.greaterThan(LIMIT) || available.lessThan(NEG_LIMIT)) return 'OVERFLOW';
        acc.held = held;
        acc.available = available;
        tx.state = 'disputed';
        return null;
      }
      if (tx.state !== 'disputed') return 'NOT_DISPUTED';
      acc.held = acc.held.minus(tx.amount);
      if (type === 'resolve') {
        acc.available = acc.available.plus(tx.amount);
        tx.state = 'settled';
      } else {
        acc.locked = true;
        tx.state = 'chargedBack';
      }
      return null;
    }
  }
}

/** Four decimals, never '-0.0000'. */
function money(d) {
  return d.isZero() ? '0.0000' : d.toFixed(4);
}

const parser = createReadStream(file).pipe(
  parse({
    bom: true,
    columns: (header) => {
      const names = header.map((h) => field(h).toLowerCase());
      if (names.join(',') !== 'type,client,tx,amount') {
        process.stderr.write(`naive: bad header, expected 'type,client,tx,amount' (${file}:1)\n`);
        process.exit(1);
      }
      return names;
    },
    trim: true,
    quote: null,
    relax_column_count_less: true,
    skip_records_with_error: true,
    skip_empty_lines: true,
  }),
);

let rows = 0;
let rejected = 0;
for await (const row of parser) {
  rows++;
  // A whitespace-only line parses as one empty field: a blank line, not a row.
  if (row.client === undefined && field(row.type) === '') {
    rows--;
    continue;
  }
  if (row.client === undefined || row.tx === undefined) {
    rejected++; // fewer than 3 fields: MALFORMED_ROW
    continue;
  }
  if (apply(row) !== null) rejected++;
}

let out = 'client,available,held,total,locked\n';
for (const acc of [...accounts.values()].sort((a, b) => a.client - b.client)) {
  out += `${acc.client},${money(acc.available)},${money(acc.held)},${money(acc.available.plus(acc.held))},${acc.locked}\n`;
}
process.stdout.write(out);
process.stderr.write(`naive: ${rows} rows parsed (rows with more than 4 fields skipped by csv-parse), ${rejected} rejected, ${accounts.size} accounts\n`);
