/**
 * Amounts in ten-thousandths and their text. Kept exact in doubles (below 2^53) so the generator
 * can aim at the limit, and written in the shortest form so each row shows its own precision.
 */
import type { Prng } from './prng.js';

export const LIMIT = 9_007_199_254_740_991; // 900719925474.0991 in ten-thousandths, exact in a double
export const LIMIT_TEXT = '900719925474.0991';

const POW10 = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000];
// FRACTIONS[d][f] is f written with d digits: '.' + FRACTIONS[2][5] is '.05'.
const FRACTIONS = POW10.slice(0, 5).map((size, digits) => Array.from({ length: size }, (_, f) => String(f).padStart(digits, '0')));
// Amount shapes, picked by 4 random bits each: whole part mostly 4-6 digits, mostly 4 decimals
// (rows of about 35 bytes on average).
const WHOLE_DIGITS = [1, 2, 3, 4, 4, 4, 5, 5, 5, 5, 5, 6, 6, 6, 6, 7];
const DECIMALS = [0, 1, 2, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4];

/** '7' → '7.00', '1.5' → '1.50': the same amount with more decimals, never more than four. */
export function padDecimals(amount: string): string {
  const dot = amount.indexOf('.');
  return dot < 0 ? `${amount}.00` : amount.length - dot <= 4 ? `${amount}0` : amount;
}

/** A positive amount in ten-thousandths, of a realistic shape. */
export function randomAmount(rng: Prng): number {
  const bits = rng.u32();
  const decimals = DECIMALS[bits & 15] as number;
  const whole = rng.int(POW10[WHOLE_DIGITS[(bits >>> 4) & 15] as number] as number);
  const units = whole * 10_000 + rng.int(POW10[decimals] as number) * (POW10[4 - decimals] as number);
  return units === 0 ? 10_000 : units;
}

/** Shortest form ('12.5', '3', '.75' now and then), so the row shows the amount's own precision. */
export function formatAmount(rng: Prng, units: number): string {
  const whole = Math.floor(units / 10_000);
  const frac = (units - whole * 10_000) | 0; // int32, so the % below stay integer operations
  if (frac === 0) return String(whole);
  const decimals = frac % 1000 === 0 ? 1 : frac % 100 === 0 ? 2 : frac % 10 === 0 ? 3 : 4;
  const fraction = (FRACTIONS[decimals] as string[])[frac / (POW10[4 - decimals] as number)] as string;
  return whole === 0 && rng.chance(0.25) ? `.${fraction}` : `${whole}.${fraction}`;
}
