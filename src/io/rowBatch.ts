/**
 * The rows of one chunk of input in columns: what the parser decided about each row plus where
 * its text is, so rejected rows can be written verbatim without keeping strings for the others.
 */
export class RowBatch {
  count = 0;
  /** The chunk the rows were parsed from; start/end index into it. */
  buf: Buffer = Buffer.alloc(0);
  type: Uint8Array;
  /** RejectReason of the row shape (0 = well-formed), later the business reason. */
  reason: Uint8Array;
  client: Uint16Array;
  tx: Uint32Array;
  amount: Float64Array;
  line: Float64Array;
  start: Uint32Array;
  end: Uint32Array;

  constructor(capacity = 4096) {
    this.type = new Uint8Array(capacity);
    this.reason = new Uint8Array(capacity);
    this.client = new Uint16Array(capacity);
    this.tx = new Uint32Array(capacity);
    this.amount = new Float64Array(capacity);
    this.line = new Float64Array(capacity);
    this.start = new Uint32Array(capacity);
    this.end = new Uint32Array(capacity);
  }

  get capacity(): number {
    return this.type.length;
  }

  reset(buf: Buffer): void {
    this.buf = buf;
    this.count = 0;
  }

  /** Makes room for one more row, doubling the columns when full. */
  ensureRoom(): void {
    if (this.count < this.type.length) return;
    const size = this.type.length * 2;
    this.type = grown(this.type, new Uint8Array(size));
    this.reason = grown(this.reason, new Uint8Array(size));
    this.client = grown(this.client, new Uint16Array(size));
    this.tx = grown(this.tx, new Uint32Array(size));
    this.amount = grown(this.amount, new Float64Array(size));
    this.line = grown(this.line, new Float64Array(size));
    this.start = grown(this.start, new Uint32Array(size));
    this.end = grown(this.end, new Uint32Array(size));
  }
}

function grown<T extends Uint8Array | Uint16Array | Uint32Array | Float64Array>(from: T, to: T): T {
  to.set(from as never);
  return to;
}
