/**
 * The benchmark's input files: `payrun generate` with the generator's default mix, 5000 clients,
 * seed 42, cached as DATA_DIR/tx-ROWS.csv (bench/data/ is git-ignored).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const CLIENTS = 5000;
export const SEED = 42;

export interface Workload {
  rows: number;
  clients: number;
  seed: number;
  file: string;
  bytes: number;
  /** True when this run generated the file, false when it came from the cache. */
  generated: boolean;
  generateS: number | null;
}

/** '1M', '3.75M', '200k'. */
export function formatRows(rows: number): string {
  if (rows >= 1e6) return `${+(rows / 1e6).toFixed(2)}M`;
  if (rows >= 1e3) return `${+(rows / 1e3).toFixed(1)}k`;
  return String(rows);
}

export function ensureWorkload(rows: number, dataDir: string, payrunBin: string, regenerate: boolean): Workload {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, `tx-${rows}.csv`);
  let generated = false;
  let generateS: number | null = null;
  if (regenerate || !existsSync(file)) {
    const tmp = `${file}.tmp`; // renamed when complete, so an interrupted run leaves no bad cache
    process.stderr.write(`bench: generating ${formatRows(rows)} rows -> ${file}\n`);
    const start = performance.now();
    const result = spawnSync(
      process.execPath,
      [payrunBin, 'generate', '-q', '-n', String(rows), '-c', String(CLIENTS), '--seed', String(SEED), tmp],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    if (result.status !== 0) {
      rmSync(tmp, { force: true });
      throw new Error(`payrun generate failed for ${rows} rows (exit ${result.status ?? result.signal})`);
    }
    renameSync(tmp, file);
    generateS = (performance.now() - start) / 1000;
    generated = true;
  }
  return { rows, clients: CLIENTS, seed: SEED, file, bytes: statSync(file).size, generated, generateS };
}
