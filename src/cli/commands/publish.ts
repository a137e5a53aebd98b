import { closeSync, fstatSync, openSync } from 'node:fs';
import { type CliIo, ExitCode } from '../cliIo.js';
import { writeAll } from '../../io/writeAll.js';
import { describeError } from '../errors.js';
import { startProgress } from '../progress.js';
import { RejectReason } from '../../domain/rejectReason.js';
import { TxOwnership } from '../../domain/txOwnership.js';
import { ownsTxId } from '../../domain/txType.js';
import { fileChunks } from '../../io/fileChunks.js';
import { contentHash } from '../../journal/contentHash.js';
import { ClusterError } from '../../cluster/clusterError.js';
import { LineGroups } from '../../io/lineGroups.js';
import { RedisTransport } from '../../cluster/redisTransport.js';
import type { Transport } from '../../cluster/transport.js';
import { type Chunk, ChunkBuilder } from '../../cluster/chunkEntry.js';
import type { RedisTarget } from '../../cluster/redisTarget.js';

export interface PublishCommandOptions {
  redis: RedisTarget;
  prefix: string;
  partitions?: number;
  quiet: boolean;
  /** Seconds to wait for an unreachable Redis before giving up. */
  timeout?: number;
  /** Rows of one partition per stream entry. */
  chunkRows?: number;
}

export const DEFAULT_PARTITIONS = 8;
/** Rows of one partition per stream entry: Redis's work is per entry, so a few hundred rows make it small per row. */
export const DEFAULT_CHUNK_ROWS = 256;
/** Line numbers travel as u32. */
const MAX_LINE = 0xffff_ffff;
/** Bytes read (and rows sent, as one pipeline per partition) at a time: one send in flight, so a larger one waits less often behind consumers' commits. */
const CHUNK_BYTES = 1 << 20;
/** How long publish waits for an unreachable Redis by default (it can always be run again: it adds only what is missing). */
export const DEFAULT_PUBLISH_TIMEOUT_S = 30;

/** Grows as ids are claimed: the tx ids one input owns, saved when its publish completes. */
class IdList {
  private ids = new Uint32Array(1 << 16);
  length = 0;

  push(id: number): void {
    if (this.length === this.ids.length) {
      const bigger = new Uint32Array(this.ids.length * 2);
      bigger.set(this.ids);
      this.ids = bigger;
    }
    this.ids[this.length++] = id;
  }

  toBuffer(): Buffer {
    return Buffer.from(this.ids.buffer, 0, this.length * 4);
  }
}

/** The ids every earlier input owns; each must have finished publishing (its ids are saved then). */
async function ownedBefore(transport: Transport, input: number, fileBytes: number): Promise<TxOwnership> {
  const earlier: Buffer[] = [];
  for (let n = 1; n < input; n++) {
    const ids = await transport.ownedIds(n);
    if (ids === undefined) throw new ClusterError(`input ${n} of this cluster was never fully published; publish that file again first (tx ids are decided in publish order)`);
    earlier.push(ids);
  }
  const total = earlier.reduce((sum, ids) => sum + ids.length / 4, 0);
  // Room for this file's ids too (a row is at least ~20 bytes): growing the table costs more than the slack.
  const ownership = new TxOwnership(total + Math.ceil(fileBytes / 20));
  for (const ids of earlier) {
    // A copy: Redis's reply may sit at any offset of a pooled buffer, and a Uint32Array view needs a multiple of 4.
    const view = new Uint32Array(new Uint8Array(ids).buffer);
    for (const id of view) ownership.claim(id);
  }
  return ownership;
}

/**
 * `payrun publish FILE --redis URL`: every row of FILE onto the partition streams, partitioned
 * by client (a row that names no client, by line), in file order. The publisher decides tx-id
 * ownership in file order (docs/cluster-design.md) and marks a row whose id is taken. Rows go
 * out in chunks of one partition's rows (chunkEntry.ts), each with the partition's published
 * line of this input moved in the same script call (which adds a chunk only past that line), so a publish run again (after a kill, with any
 * chunk size) goes on after that line and adds nothing twice.
 */
export async function publishCommand(file: string, options: PublishCommandOptions, io: CliIo): Promise<number> {
  const started = performance.now();
  let transport: RedisTransport | undefined;
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ClusterError(`'${file}' is not a regular file (publish numbers an input by its content)`);
    const shown = options.redis.display;
    transport = new RedisTransport(options.redis, {
      prefix: options.prefix,
      patient: true,
      giveUpAfterMs: (options.timeout ?? DEFAULT_PUBLISH_TIMEOUT_S) * 1000,
      onConnection: (state, detail) => {
        if (!options.quiet) void writeAll(io.stderr, state === 'down' ? `payrun: redis ${shown} unreachable (${detail}); retrying\n` : `payrun: redis ${shown} is back\n`);
      },
    });
    await Promise.race([transport.givenUp, publishRows(file, fd, stat.size, transport, options, io, started)]);
    return ExitCode.Ok;
  } catch (error) {
    const line = transport?.gaveUp === true
      ? `payrun: cannot reach redis at ${options.redis.display}: ${transport.unreachable ?? 'connection lost'} (gave up after ${options.timeout ?? DEFAULT_PUBLISH_TIMEOUT_S} s; publishing again adds only what is missing)`
      : describeError(error, file);
    await writeAll(io.stderr, `${line}\n`);
    return ExitCode.Fatal;
  } finally {
    if (fd !== undefined) closeSync(fd);
    await transport?.close();
  }
}

/** The publish itself, once the file is open and Redis is configured. */
async function publishRows(file: string, fd: number, size: number, transport: RedisTransport, options: PublishCommandOptions, io: CliIo, started: number): Promise<void> {
  const partitions = (await transport.partitions(options.partitions ?? DEFAULT_PARTITIONS))!;
  if (options.partitions !== undefined && options.partitions !== partitions) {
    throw new ClusterError(`the cluster under prefix '${options.prefix}' has ${partitions} partitions; --partitions ${options.partitions} cannot change that`);
  }
  const input = await transport.inputNumber(contentHash(fd));
  const ownership = await ownedBefore(transport, input, size);
  const claimed = new IdList();
  const groups = new LineGroups();
  const progress = await startProgress(io.stderr, !options.quiet, size);
  const counts = { added: 0, existing: 0, rows: 0 };
  // Where an earlier run of this publish got to, partition by partition: rows up to there are on the streams already.
  const resume = await transport.publishedLines(input, partitions);
  const chunkRows = options.chunkRows ?? DEFAULT_CHUNK_ROWS;
  const open = Array.from({ length: partitions }, () => new ChunkBuilder(input, chunkRows));
  let ready = new Map<number, Chunk[]>();
  const take = (p: number, chunk: Chunk): void => {
    let list = ready.get(p);
    if (list === undefined) ready.set(p, (list = []));
    list.push(chunk);
  };
  try {
    // One read's full chunks on their way to Redis while the next is parsed (rows are copied into their chunks: the reader reuses its buffers).
    let inFlight: Promise<void> = Promise.resolve();
    const send = async (nextOffset: number, rowCount: number): Promise<void> => {
      const chunks = ready;
      ready = new Map();
      await inFlight;
      inFlight = transport.publish(chunks).then((result) => {
        counts.added += result.added;
        counts.rows += rowCount;
        progress.update(nextOffset, counts.rows);
      });
    };
    for await (const read of fileChunks(fd, CHUNK_BYTES)) {
      const bytes = Buffer.from(read.buffer, read.byteOffset, read.length);
      const { batch, place } = groups.take(bytes);
      const { reason, type, client, tx, line, start, end } = batch;
      for (let i = 0; i < batch.count; i++) {
        const at = place.base + line[i]!;
        if (at > MAX_LINE) throw new ClusterError(`'${file}' has more than ${MAX_LINE} lines; publish it in parts`);
        const wellFormed = reason[i] === RejectReason.None;
        let duplicate = false;
        if (wellFormed && ownsTxId(type[i]!)) {
          if (ownership.claim(tx[i]!)) claimed.push(tx[i]!);
          else duplicate = true;
        }
        const p = (wellFormed ? client[i]! : at) % partitions;
        if (at <= resume[p]!) {
          counts.existing++;
          continue;
        }
        if (open[p]!.add(at, bytes, start[i]!, end[i]!, duplicate)) take(p, open[p]!.take());
      }
      await send(place.nextOffset, batch.count);
    }
    open.forEach((builder, p) => {
      if (builder.count > 0) take(p, builder.take());
    });
    await send(size, 0);
    await inFlight;
  } finally {
    progress.stop();
  }
  await transport.saveOwnedIds(input, claimed.toBuffer());
  const seconds = (performance.now() - started) / 1000;
  if (!options.quiet) {
    const already = counts.existing > 0 ? ` (${counts.existing} were already there)` : '';
    await writeAll(
      io.stderr,
      `payrun: published ${counts.rows} rows of ${file} as input ${input} to ${partitions} partitions of '${options.prefix}'${already} in ${seconds.toFixed(2)} s (${Math.round(counts.rows / Math.max(seconds, 1e-9))} rows/s)\n`,
    );
  }
}
