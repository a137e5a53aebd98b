// A real, throwaway 3-node Redis Cluster for integration tests: three redis-servers started by
// startRedis (each on a free port, in its own temp dir, stopped by pid) with cluster mode on and a
// free cluster-bus port, joined by `redis-cli --cluster create` with no replicas. No vitest imports.
import { spawnSync } from 'node:child_process';
import { freePort, type RedisServer, startRedis } from './redisServer.js';

export interface RedisClusterNodes {
  readonly nodes: RedisServer[];
  /** `redis://127.0.0.1:<port>,...`: every node, as --redis-cluster takes them. */
  readonly urls: string;
  dispose(): Promise<void>;
}

/** True when `redis-cli` can run (the cluster is created with it). */
export function redisCliAvailable(): boolean {
  const r = spawnSync('redis-cli', ['--version'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
  return r.error === undefined && r.status === 0;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function startRedisCluster(size = 3): Promise<RedisClusterNodes> {
  const nodes: RedisServer[] = [];
  const dispose = async (): Promise<void> => {
    for (const node of nodes) await node.dispose();
  };
  try {
    for (let i = 0; i < size; i++) {
      const bus = await freePort();
      nodes.push(await startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(bus), '--cluster-node-timeout', '5000'] }));
    }
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: 60_000 });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ok = nodes.every((n) => /cluster_state:ok/.test(spawnSync('redis-cli', ['-p', String(n.port), 'cluster', 'info'], { encoding: 'utf8' }).stdout));
      if (ok) break;
      if (Date.now() > deadline) throw new Error('the Redis Cluster did not reach cluster_state:ok in 30 s');
      await sleep(200);
    }
    return { nodes, urls: nodes.map((n) => n.url).join(','), dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** Keys held by each node (`DBSIZE`). */
export function keysPerNode(cluster: RedisClusterNodes): number[] {
  return cluster.nodes.map((n) => Number(spawnSync('redis-cli', ['-p', String(n.port), 'dbsize'], { encoding: 'utf8' }).stdout.trim()));
}
