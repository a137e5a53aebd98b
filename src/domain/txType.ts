/** Transaction types. 0 is "not a known type"; the numbering is part of the worker protocol. */
export const TxType = {
  Unknown: 0,
  Deposit: 1,
  Withdrawal: 2,
  Dispute: 3,
  Resolve: 4,
  Chargeback: 5,
} as const;

export type TxType = (typeof TxType)[keyof typeof TxType];

/** Deposits and withdrawals own a tx id and carry an amount; the other three refer to one. */
export function ownsTxId(type: number): boolean {
  return type === TxType.Deposit || type === TxType.Withdrawal;
}

/**
 * Set on a row's type in a batch's type column when another row already owns its tx id, as
 * decided upstream (the main thread or worker for sharded ledgers, the publisher for a cluster).
 */
export const DUPLICATE_FLAG = 0x80;
