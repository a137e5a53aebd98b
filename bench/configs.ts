/** What the harness runs on every workload, and the shape of what it reports per config. */
import { join } from 'node:path';
import type { Command } from './measure.js';

export type ConfigId = 'node-start' | 'floor' | 'naive' | 'workers-0' | 'workers-1' | 'workers-2' | 'default' | 'pipe' | 'journal-off' | 'journal-batch' | 'journal-always';
export type ConfigKind = 'start' | 'floor' | 'naive' | 'payrun';

export interface Config {
  id: ConfigId;
  kind: ConfigKind;
  /** For the table. */
  label: string;
  /** For the chart's x axis. */
  short: string;
  /** Run only on workloads of at most this many rows (and not shown for the others). */
  maxRows?: number;
  command(file: string): Command;
}

/** `node -e 0` runs on workloads up to this size: what payrun's start-up on a tiny file is compared with. */
export const NODE_START_MAX_ROWS = 1000;

/** Every config id, for --configs. */
export const CONFIG_IDS: readonly ConfigId[] = ['node-start', 'floor', 'naive', 'workers-0', 'workers-1', 'workers-2', 'default', 'pipe', 'journal-off', 'journal-batch', 'journal-always'];

export function configs(root: string): Config[] {
  const payrun = join(root, 'bin', 'payrun');
  const run = (id: ConfigId, label: string, short: string, workers: string[]): Config => ({
    id,
    kind: 'payrun',
    label,
    short,
    command: (file) => ({ script: payrun, args: [...workers, '-q', file] }),
  });
  return [
    {
      id: 'node-start',
      kind: 'start',
      label: 'node -e 0',
      short: 'node -e 0',
      maxRows: NODE_START_MAX_ROWS,
      command: () => ({ script: '-e', args: ['0'] }),
    },
    {
      id: 'floor',
      kind: 'floor',
      label: 'byte-scan floor',
      short: 'floor',
      command: (file) => ({ script: join(root, 'bench', 'baselines', 'byte-scan.mjs'), args: [file] }),
    },
    {
      id: 'naive',
      kind: 'naive',
      label: 'naive baseline',
      short: 'naive',
      command: (file) => ({ script: join(root, 'bench', 'baselines', 'naive.mjs'), args: [file] }),
    },
    run('workers-0', 'payrun --workers 0', 'workers 0', ['--workers', '0']),
    run('workers-1', 'payrun --workers 1', 'workers 1', ['--workers', '1']),
    run('workers-2', 'payrun --workers 2', 'workers 2', ['--workers', '2']),
    run('default', 'payrun (default)', 'default', []),
    {
      // The same file through a real pipe (`cat FILE | payrun -`): no size known up front, no mmap-like reads.
      id: 'pipe',
      kind: 'payrun',
      label: 'payrun - (piped by cat)',
      short: 'pipe',
      command: (file) => ({ script: payrun, args: ['-q', '-'], stdinFile: file }),
    },
    ...(['off', 'batch', 'always'] as const).map(
      (mode): Config => ({
        id: `journal-${mode}`,
        kind: 'payrun',
        label: `payrun --journal --fsync ${mode}`,
        short: `journal ${mode}`,
        command: (file) => ({ script: join(root, 'bench', 'support', 'journaled.mjs'), args: [mode, '-q', file] }),
      }),
    ),
  ];
}

/** How a config's accounts output compares with `payrun --workers 0` on the same workload. */
export type AccountsVerdict = 'reference' | 'identical' | 'differs' | 'n/a' | 'failed' | 'skipped';

export interface RunRecord {
  wallS: number;
  rssKiB: number | null;
  exitCode: number;
}

export interface ConfigResult {
  /** The workload's data-row count. */
  rows: number;
  config: ConfigId;
  label: string;
  short: string;
  command: string | null;
  /** Why the config did not run on this workload, or null. */
  skipped: string | null;
  runs: RunRecord[];
  medianS: number | null;
  rowsPerS: number | null;
  mbPerS: number | null;
  rssMedianMB: number | null;
  rssMaxMB: number | null;
  /** medianS / the floor's medianS on the same workload. */
  xFloor: number | null;
  /** The naive baseline's medianS / medianS on the same workload. */
  xFasterThanNaive: number | null;
  accounts: AccountsVerdict;
  accountsSha256: string | null;
  note: string | null;
}
