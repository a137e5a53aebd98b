/**
 * Money is an integer number of ten-thousandths held in a JS number. Every balance stays within
 * ±LIMIT = 2^53 − 1, where doubles are exact integers, and every sum payrun compares against
 * LIMIT is of two values within ±LIMIT: such a sum is exact whenever it is within ±LIMIT and
 * rounds to at least 2^53 (beyond LIMIT) otherwise, so the OVERFLOW checks are exact too.
 */
const SCALE = 10_000;
export const LIMIT = Number.MAX_SAFE_INTEGER; // 900719925474.0991 in ten-thousandths

/** Renders ten-thousandths with exactly four decimals; '-' only for a negative value. */
export function formatAmount(units: number): string {
  const negative = units < 0;
  const abs = negative ? -units : units;
  const whole = Math.floor(abs / SCALE);
  const frac = abs - whole * SCALE;
  const fracText = frac < 10 ? `000${frac}` : frac < 100 ? `00${frac}` : frac < 1000 ? `0${frac}` : `${frac}`;
  return `${negative ? '-' : ''}${whole}.${fracText}`;
}
