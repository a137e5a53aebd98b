import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/accountsOutput.js';
import { ensureDirectory } from '../io/ensureDirectory.js';
import { writeFully } from '../io/writeFully.js';
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
    this.position.finish(lines);
    this.queued.push(formatDelivered(lines));
    this.timer ??= setTimeout(() => this.flush(), GROUP_COMMIT_MS);
  }

  /** Writes and fsyncs the queued records; folds the log into a checkpoint when it is large. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queued.length === 0) return;
    const text = this.queued.join('');
    this.queued = [];
    writeFully(this.fd, text);
    fsyncSync(this.fd);
    this.logBytes += Buffer.byteLength(text);
    if (this.logBytes > COMPACT_BYTES) this.compact();
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

  /** A clean stop: everything recorded is on disk in a fresh checkpoint. */
  close(): void {
    this.flush();
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
