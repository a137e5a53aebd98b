/** The harness's command line. */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CONFIG_IDS } from './configs.js';

export const USAGE = `usage: tsx bench/run.ts [options]      (npm run bench -- [options])

  --quick               one 200k-row workload, 1 run of every config (CI-sized)
  --runs N              runs of every config per workload; medians are reported (default 3; 1 with --quick)
  --sizes A,B,...       workload sizes in data rows (default 1,100000,1000000,3750000,15000000)
  --configs A,B,...     run only these configs (ids as in bench/configs.ts; floor and workers-0 always run)
  --no-naive            skip the naive baseline everywhere
  --naive-max-rows N    run the naive baseline only on workloads of at most N rows (default 3750000)
  --data DIR            where the generated workloads are cached (default bench/data)
  --out DIR             where the JSON and SVG results go (default bench/results; with --quick a temp dir)
  --name NAME           short name in the results' file names (default: from the CPU model and cores)
  --regenerate          generate the workloads again even if cached
  -h, --help            this help
`;

export interface Options {
  quick: boolean;
  runs: number;
  sizes: number[];
  naiveMaxRows: number;
  dataDir: string;
  outDir: string;
  name: string | null;
  regenerate: boolean;
  /** Config ids to run, or null for all. */
  configs: string[] | null;
}

export class UsageError extends Error {}

function count(name: string, text: string, min: number): number {
  const t = text.trim().replace(/_/g, '');
  if (!/^\d+$/.test(t) || Number(t) < min || !Number.isSafeInteger(Number(t))) throw new UsageError(`${name} must be a whole number >= ${min}, got '${text}'`);
  return Number(t);
}

function configList(text: string): string[] {
  const ids = text.split(',').map((id) => id.trim()).filter((id) => id !== '');
  const unknown = ids.find((id) => !(CONFIG_IDS as readonly string[]).includes(id));
  if (unknown !== undefined) throw new UsageError(`--configs: unknown config '${unknown}' (known: ${CONFIG_IDS.join(', ')})`);
  // The floor is what every time is compared with, and --workers 0 is what every output is compared with.
  return [...new Set(['floor', 'workers-0', ...ids])];
}

/** Null after printing the help. */
export function parseOptions(argv: string[], root: string): Options | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: 'boolean', default: false },
        runs: { type: 'string' },
        sizes: { type: 'string' },
        'no-naive': { type: 'boolean', default: false },
        'naive-max-rows': { type: 'string' },
        data: { type: 'string' },
        out: { type: 'string' },
        name: { type: 'string' },
        regenerate: { type: 'boolean', default: false },
        configs: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return null;
  }
  const quick = values.quick;
  if (quick && values.sizes !== undefined) throw new UsageError('--quick and --sizes do not go together');
  const sizes = quick
    ? [200_000]
    : (values.sizes ?? '1,100000,1000000,3750000,15000000').split(',').map((s) => count('--sizes', s, 1));
  const name = values.name;
  if (name !== undefined && !/^[A-Za-z0-9._-]+$/.test(name)) throw new UsageError(`--name may hold only letters, digits, '.', '_' and '-', got '${name}'`);
  return {
    quick,
    runs: values.runs === undefined ? (quick ? 1 : 3) : count('--runs', values.runs, 1),
    sizes: [...new Set(sizes)].sort((a, b) => a - b),
    naiveMaxRows: values['no-naive'] ? 0 : values['naive-max-rows'] === undefined ? 3_750_000 : count('--naive-max-rows', values['naive-max-rows'], 0),
    dataDir: resolve(values.data ?? resolve(root, 'bench', 'data')),
    // A quick (smoke) run never writes into the repository: its results go to a temp dir unless --out says where.
    outDir: resolve(values.out ?? (quick ? join(tmpdir(), 'payrun-bench-quick') : resolve(root, 'bench', 'results'))),
    name: name ?? null,
    regenerate: values.regenerate,
    configs: values.configs === undefined ? null : configList(values.configs),
  };
}
