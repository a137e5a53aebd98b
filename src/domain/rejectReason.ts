/**
 * Reject reasons, numbered in the order SPEC section 4 checks them: row-shape codes first,
 * then business codes. 0 means "applied". The numbering is part of the worker protocol.
 */
export const RejectReason = {
  None: 0,
  // Row shape: the row is not well-formed and names no account.
  MalformedRow: 1,
  UnknownType: 2,
  BadClient: 3,
  BadTx: 4,
  BadAmount: 5,
  // Business: the row is well-formed.
  DuplicateTx: 6,
  Overflow: 7,
  AccountLocked: 8,
  InsufficientFunds: 9,
  UnknownTx: 10,
  NotDisputable: 11,
  ChargedBack: 12,
  AlreadyDisputed: 13,
  NotDisputed: 14,
} as const;

export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];

/**
 * The row was well-formed (applied, or rejected by a business rule): it names an account, which
 * exists from then on, and it reached the ledger. False for the row-shape codes (SPEC section 4).
 * Every code is listed, so a new one must be classified here.
 */
export function namesAccount(reason: RejectReason): boolean {
  switch (reason) {
    case RejectReason.None:
    case RejectReason.DuplicateTx:
    case RejectReason.Overflow:
    case RejectReason.AccountLocked:
    case RejectReason.InsufficientFunds:
    case RejectReason.UnknownTx:
    case RejectReason.NotDisputable:
    case RejectReason.ChargedBack:
    case RejectReason.AlreadyDisputed:
    case RejectReason.NotDisputed:
      return true;
    case RejectReason.MalformedRow:
    case RejectReason.UnknownType:
    case RejectReason.BadClient:
    case RejectReason.BadTx:
    case RejectReason.BadAmount:
      return false;
    default:
      return unknownReason(reason);
  }
}

/** Compile-time: every code was listed above. Run time: a number that is no code. */
function unknownReason(reason: never): never {
  throw new RangeError(`unknown reject reason ${String(reason)}`);
}

/** The code as it appears in the rejects file and the summary, indexed by RejectReason. */
export const REASON_CODES: readonly string[] = [
  'APPLIED',
  'MALFORMED_ROW',
  'UNKNOWN_TYPE',
  'BAD_CLIENT',
  'BAD_TX',
  'BAD_AMOUNT',
  'DUPLICATE_TX',
  'OVERFLOW',
  'ACCOUNT_LOCKED',
  'INSUFFICIENT_FUNDS',
  'UNKNOWN_TX',
  'NOT_DISPUTABLE',
  'CHARGED_BACK',
  'ALREADY_DISPUTED',
  'NOT_DISPUTED',
];

export const REASON_COUNT = REASON_CODES.length;

export function reasonCode(reason: number): string {
  const code = REASON_CODES[reason];
  if (code === undefined) throw new RangeError(`unknown reject reason ${reason}`);
  return code;
}
