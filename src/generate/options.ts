/** Generator options and their checks, apart so the stream's state can validate without a cycle. */
export interface GenerateOptions {
  rows: number;
  clients: number;
  seed: number;
  /** The first transaction id (default: a ten-digit id drawn from the seed). */
  firstTx?: number | undefined;
  crlf?: boolean;
  bom?: boolean;
}

export function validateOptions(opts: GenerateOptions): void {
  if (!Number.isSafeInteger(opts.rows) || opts.rows < 0) throw new Error(`rows must be a whole number >= 0, got ${opts.rows}`);
  if (!Number.isSafeInteger(opts.clients) || opts.clients < 1 || opts.clients > 65_536) {
    throw new Error(`clients must be a whole number from 1 to 65536, got ${opts.clients}`);
  }
  if (opts.firstTx !== undefined && (!Number.isSafeInteger(opts.firstTx) || opts.firstTx < 0 || opts.firstTx > 4_294_967_295)) {
    throw new Error(`first tx must be a whole number from 0 to 4294967295, got ${opts.firstTx}`);
  }
  if (!Number.isSafeInteger(opts.seed)) throw new Error(`seed must be a whole number, got ${opts.seed}`);
}
