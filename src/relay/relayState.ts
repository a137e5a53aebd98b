import { closeSync, existsSync, fsync, fsyncSync, ftruncateSync, openSync, readdirSync, readFileSync, rmSync, write } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/accountsOutput.js';
import { ensureDirectory } from '../io/ensureDirectory.js';
import { type Checkpoint, DonePosition, formatDelivered, parseCheckpoint, parseDeliveredLog, RelayStateError } from './deliveredLog.js';

/** What a state directory is bound to: a run with other values would skip or re-key events. */
export interface RelayIdentity {
  /** Names the input in every Idempotency-Key. */
  sourceId: string;
  /** The event types sent ('' = every applied event). */
  types: string;
  batch: number;
}

const IDENTITY = 'relay.json';
const CHECKPOINT = 'checkpoint.json';
const logName = (generation: number): string => `delivered-${generation}.log`;
/** The log is folded into a new checkpoint when it grows past this. */
const COMPACT_BYTES = 4 << 20;
/** Acknowledgements are written and fsynced in groups, at most this long after the 2xx. */
export const GROUP_COMMIT_MS = 50;

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The relay's durable position in `--state DIR` (format in deliveredLog.ts). An event is recorded
 * only after its 2xx (or its dead letter is on disk); records are appended and fsynced in groups
 * every GROUP_COMMIT_MS, so a kill -9 loses at most that window of acknowledgements: those events
 * are sent again with the same key (at least once; once in effect at a provider honouring the key).
 */
export class RelayState {
  readonly position: DonePosition;
  private generation: number;
  private fd: number;
  private logBytes: number;
  private queued: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The group being written and fsynced (off the event loop: requests go on meanwhile). */
  private writing: Promise<void> | undefined;
  /** A failed write of the log: the next record() throws it (the run ends, exit 1). */
  private failure: unknown;

  private constructor(
    readonly dir: string,
    checkpoint: Checkpoint,
    logged: number[],
    wholeBytes: number,
  ) {
    this.position = new DonePosition({ lowWater: checkpoint.lowWater, done: [...checkpoint.done, ...logged] });
    this.generation = checkpoint.generation;
    this.fd = openSync(join(dir, logName(this.generation)), 'a+');
    // A torn append of a killed run is cut off, so the next record starts on a line of its own.
    ftruncateSync(this.fd, wholeBytes);
    this.logBytes = wholeBytes;
  }

  /** Opens (or starts) the state in `dir`; a directory made for another input, --types or --batch is refused. */
  static open(dir: string, identity: RelayIdentity): RelayState {
    ensureDirectory(dir, 'state directory');
    const identityPath = join(dir, IDENTITY);
    if (existsSync(identityPath)) checkIdentity(readFileSync(identityPath, 'utf8'), identity, identityPath);
    else {
      writeFileAtomic(identityPath, `${JSON.stringify({ version: 1, ...identity })}\n`);
      syncDirectory(dir);
    }
    const checkpointPath = join(dir, CHECKPOINT);
    const checkpoint = existsSync(checkpointPath) ? parseCheckpoint(readFileSync(checkpointPath, 'utf8'), checkpointPath) : { generation: 0, lowWater: 0, done: [] };
    // Logs of older generations are folded into the checkpoint already (a kill between the rename and their removal leaves them).
    for (const name of readdirSync(dir)) {
      const m = /^delivered-(\d+)\.log$/.exec(name);
      if (m !== null && Number(m[1]) !== checkpoint.generation) rmSync(join(dir, name), { force: true });
    }
    const path = join(dir, logName(checkpoint.generation));
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    const { lines, wholeBytes } = parseDeliveredLog(text, path);
    return new RelayState(dir, checkpoint, lines, wholeBytes);
  }

  /** The event lines of one delivery are done (2xx, or dead-lettered durably). */
  record(lines: readonly number[]): void {
    if (this.failure !== undefined) throw this.failure;
    this.position.finish(lines);
    this.queued.push(formatDelivered(lines));
    this.timer ??= setTimeout(() => this.writeGroup(), GROUP_COMMIT_MS);
  }

  /** Appends and fsyncs the queued records as one group; one group at a time, the next armed when it ends. */
  private writeGroup(): void {
    this.timer = undefined;
    if (this.writing !== undefined || this.queued.length === 0) return;
    const text = this.queued.join('');
    this.queued = [];
    this.writing = appendAndSync(this.fd, Buffer.from(text)).then(
      () => {
        this.writing = undefined;
        this.logBytes += Buffer.byteLength(text);
        if (this.logBytes > COMPACT_BYTES) this.compact();
        if (this.queued.length > 0) this.timer ??= setTimeout(() => this.writeGroup(), GROUP_COMMIT_MS);
      },
      (error: unknown) => {
        this.writing = undefined;
        this.failure = error;
      },
    );
  }

  /**
   * A new checkpoint naming the next log generation, written atomically; then the old log goes.
   * Killed anywhere in between, the next open reads either the old checkpoint and log, or the new.
   */
  compact(): void {
    const next = this.generation + 1;
    const checkpoint: Checkpoint = { generation: next, lowWater: this.position.lowWater, done: this.position.doneAbove() };
    closeSync(openSync(join(this.dir, logName(next)), 'w'));
    writeFileAtomic(join(this.dir, CHECKPOINT), `${JSON.stringify(checkpoint)}\n`);
    syncDirectory(this.dir);
    closeSync(this.fd);
    rmSync(join(this.dir, logName(this.generation)), { force: true });
    this.generation = next;
    this.fd = openSync(join(this.dir, logName(next)), 'a+');
    this.logBytes = 0;
    this.queued = [];
  }

  /** A clean stop: everything recorded is on disk in a fresh checkpoint (which holds the queued records too). */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
    if (this.failure !== undefined) throw this.failure;
    this.compact();
    closeSync(this.fd);
  }
}

function checkIdentity(text: string, wanted: RelayIdentity, path: string): void {
  let found: Partial<RelayIdentity>;
  try {
    found = JSON.parse(text) as Partial<RelayIdentity>;
  } catch {
    throw new RelayStateError(`state file '${path}' is not JSON`);
  }
  if (found.sourceId !== wanted.sourceId) {
    throw new RelayStateError(`--state '${path.slice(0, -IDENTITY.length - 1)}' belongs to another input (source id ${found.sourceId}, this input's is ${wanted.sourceId}); use another --state directory`);
  }
  if (found.types !== wanted.types) throw new RelayStateError(`--state was made with --types '${found.types || 'all'}', not '${wanted.types || 'all'}'; use another --state directory`);
  if (found.batch !== wanted.batch) throw new RelayStateError(`--state was made with --batch ${found.batch}, not ${wanted.batch}: a batch's idempotency key depends on it`);
}

/** Writes all of `data` at the end of the file (short writes continued), then fsyncs it; on the thread pool. */
function appendAndSync(fd: number, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const from = (offset: number): void =>
      write(fd, data, offset, data.length - offset, null, (error, written) => {
        if (error) return reject(error);
        if (offset + written < data.length) return from(offset + written);
        fsync(fd, (syncError) => (syncError ? reject(syncError) : resolve()));
      });
    from(0);
  });
}
