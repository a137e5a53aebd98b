// CommitPipeline: a consumer sends a batch's commit without waiting for it (the next batch is
// decided meanwhile). What must hold: a partition's commits reach Redis one at a time and in
// order (a retried commit is never overtaken), a refused commit drops the partition and the batch
// decided after it is never sent, and a fatal answer is not lost.
import { describe, expect, it } from 'vitest';
import { CommitPipeline, ConsumerMetrics } from '../src/cluster/commitPipeline.js';
import type { PartitionLedger } from '../src/cluster/partitionLedger.js';
import { RedisRefused } from '../src/cluster/redisReply.js';
import type { Commit, CommitResult, Transport } from '../src/cluster/transport.js';

const commitOf = (partition: number, prevId: string, lastId: string): Commit => ({
  partition,
  owner: 'me',
  prevId,
  lastId,
  accounts: new Map(),
  dead: [],
  entries: 1,
});

/** A ledger stand-in: only `committed` is called on it. */
function ledgerStub(): PartitionLedger & { changesIds: string[] } {
  const changesIds: string[] = [];
  return { changesIds, committed: (id: string) => void changesIds.push(id) } as unknown as PartitionLedger & { changesIds: string[] };
}

/** A transport whose commits answer when the test says so (by calling the answer given to `reply`). */
function slowTransport(reply: (commit: Commit, attempt: number) => Promise<CommitResult>) {
  const calls: string[] = [];
  const attempts = new Map<string, number>();
  const transport = {
    commit: (commit: Commit) => {
      const n = attempts.get(commit.lastId) ?? 0;
      attempts.set(commit.lastId, n + 1);
      calls.push(`${commit.partition}:${commit.lastId}#${n}`);
      return reply(commit, n);
    },
  } as unknown as Transport;
  return { transport, calls };
}

/** Resolves once `done()` holds (looked at every 5 ms; the test's own timeout bounds it). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('CommitPipeline', () => {
  it("sends a partition's commits one at a time, in order, each after the previous answered (a retry included)", async () => {
    const answers: (() => void)[] = [];
    const { transport, calls } = slowTransport((commit, attempt) => {
      // The first try of 1-1 fails (a dropped connection, say): retried, and 1-2 must wait for it.
      if (commit.lastId === '1-1' && attempt === 0) return Promise.reject(new Error('connection closed'));
      return new Promise((resolve) => answers.push(() => resolve({ kind: 'ok', changesId: `c${commit.lastId}` })));
    });
    const metrics = new ConsumerMetrics();
    const ledger = ledgerStub();
    const pipeline = new CommitPipeline(transport, metrics, () => undefined, { holds: () => true, drop: async () => undefined });
    pipeline.send(0, ledger, commitOf(0, '', '1-1'), 10);
    pipeline.send(0, ledger, commitOf(0, '1-1', '1-2'), 20);
    pipeline.send(1, ledger, commitOf(1, '', '2-1'), 5);
    // Partition 1 is not held up by partition 0; 1-2 is not sent while 1-1 is being retried.
    await until(() => calls.length >= 3);
    await new Promise((resolve) => setTimeout(resolve, 50)); // room for a wrong send to show
    expect(calls).toEqual(['0:1-1#0', '1:2-1#0', '0:1-1#1']);
    answers.shift()!(); // 2-1
    answers.shift()!(); // 1-1, second try
    await until(() => calls.length >= 4);
    expect(calls).toEqual(['0:1-1#0', '1:2-1#0', '0:1-1#1', '0:1-2#0']);
    answers.shift()!(); // 1-2
    await pipeline.settled();
    expect(ledger.changesIds).toEqual(['c2-1', 'c1-1', 'c1-2']);
    expect([metrics.rows, metrics.commits, metrics.retries]).toEqual([35, 3, 1]);
  });

  it('a refused commit drops the partition, and the batch decided after it is never sent', async () => {
    const { transport, calls } = slowTransport(async (commit) => (commit.lastId === '1-1' ? { kind: 'lease' } : { kind: 'ok', changesId: 'x' }));
    let held = true;
    const dropped: string[] = [];
    const owner = {
      holds: () => held,
      drop: async (p: number, why: string) => {
        held = false;
        dropped.push(`${p}: ${why}`);
      },
    };
    const pipeline = new CommitPipeline(transport, new ConsumerMetrics(), () => undefined, owner);
    const ledger = ledgerStub();
    pipeline.send(0, ledger, commitOf(0, '', '1-1'), 10);
    pipeline.send(0, ledger, commitOf(0, '1-1', '1-2'), 10);
    await pipeline.turn([0]);
    await pipeline.settled();
    expect(calls).toEqual(['0:1-1#0']);
    expect(dropped).toEqual(['0: lease lost before the commit']);
    expect(ledger.changesIds).toEqual([]);
  });

  it('a fatal answer (Redis refused for good) is thrown where the commits are awaited', async () => {
    const { transport } = slowTransport(() => Promise.reject(new RedisRefused('NOPERM', 'redis refused: NOPERM')));
    const pipeline = new CommitPipeline(transport, new ConsumerMetrics(), () => undefined, { holds: () => true, drop: async () => undefined });
    pipeline.send(0, ledgerStub(), commitOf(0, '', '1-1'), 1);
    await pipeline.turn([0]);
    await expect(pipeline.turn([])).rejects.toThrow('NOPERM');
    await expect(pipeline.settled()).rejects.toThrow('NOPERM');
  });
});
