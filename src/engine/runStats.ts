import { REASON_COUNT } from '../domain/rejectReason.js';

/** Counts for the end-of-run summary. */
export class RunStats {
  rows = 0;
  applied = 0;
  rejected = 0;
  bytes = 0;
  readonly byReason = new Float64Array(REASON_COUNT);
}
