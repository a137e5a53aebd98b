import type { Engine } from './engine.js';
import { SerialEngine } from './serialEngine.js';
import { ShardedEngine } from './shardedEngine.js';

/** `--workers 0` runs in the calling thread; N > 0 shards clients over N worker threads. */
export function createEngine(workers: number): Engine {
  return workers === 0 ? new SerialEngine() : new ShardedEngine(workers);
}
