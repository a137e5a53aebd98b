/** The printed report: a markdown table of every config on every workload, and the issue's targets. */
import { type ConfigResult, NODE_START_MAX_ROWS } from './configs.js';
import { formatRows } from './workloads.js';

const HEADERS = ['workload', 'config', 'median s', 'rows/s', 'MB/s', 'peak RSS MB (med / max)', '× floor', '× faster than naive', 'accounts'];
/** Right-aligned columns (numbers). */
const RIGHT = new Set([2, 3, 4, 5, 6, 7]);

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const fixed = (n: number | null, digits: number, suffix = ''): string => (n === null ? '—' : `${n.toFixed(digits)}${suffix}`);

function accountsCell(r: ConfigResult): string {
  switch (r.accounts) {
    case 'reference':
      return 'reference';
    case 'identical':
      return 'identical';
    case 'differs':
      return 'DIFFERS';
    case 'failed':
      return 'FAILED';
    case 'skipped':
      return '—';
    default:
      return r.note ?? 'n/a';
  }
}

function row(r: ConfigResult): string[] {
  if (r.skipped !== null) return [formatRows(r.rows), r.label, 'skipped', '—', '—', '—', '—', '—', r.skipped];
  return [
    formatRows(r.rows),
    r.label,
    fixed(r.medianS, 3),
    r.rowsPerS === null ? '—' : int(r.rowsPerS),
    fixed(r.mbPerS, 1),
    r.rssMedianMB === null ? '—' : `${r.rssMedianMB.toFixed(0)} / ${(r.rssMaxMB ?? 0).toFixed(0)}`,
    r.config === 'floor' ? '1.00×' : fixed(r.xFloor, 2, '×'),
    r.config === 'naive' ? '1.0×' : r.config === 'node-start' ? '—' : fixed(r.xFasterThanNaive, 1, '×'),
    accountsCell(r),
  ];
}

export function formatTable(results: ConfigResult[]): string {
  const rows = results.map(row);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((cells) => (cells[i] ?? '').length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (RIGHT.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (RIGHT.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(HEADERS), rule, ...rows.map(line)].join('\n');
}

function find(results: ConfigResult[], rows: number, config: ConfigResult['config']): ConfigResult | undefined {
  return results.find((r) => r.rows === rows && r.config === config && r.skipped === null && r.medianS !== null);
}

const TARGET_ROWS = 3_750_000;
/** The default's median time over the floor's, at most, by workload size. */
const FLOOR_LIMITS: readonly (readonly [rows: number, limit: number])[] = [
  [100_000, 4],
  [1_000_000, 3],
  [3_750_000, 3],
];
/** The default on a tiny file against `node -e 0`, at most. */
const START_LIMIT = 2;
const RSS_LIMIT_MB = 128;
/** A pipe against the same file given as a path, at most. */
const PIPE_TIME_LIMIT = 1.3;
const PIPE_RSS_LIMIT = 1.5;
/** Rows/s is compared across sizes only from here up: below, start-up is most of the time. */
const LINEAR_FROM_ROWS = 1_000_000;
const DEFAULT_NOISE = 0.03; // default vs the fastest explicit --workers: same code, so only noise apart

/**
 * The issue's targets, checked against this run. Informational: the harness's exit code depends
 * only on the accounts.
 */
export function targetLines(results: ConfigResult[], sizes: number[]): string[] {
  const out: string[] = [];
  const mark = (ok: boolean): string => (ok ? 'ok  ' : 'MISS');
  const tiny = sizes.find((rows) => rows <= NODE_START_MAX_ROWS);
  const tinyDefault = tiny === undefined ? undefined : find(results, tiny, 'default');
  const nodeStart = tiny === undefined ? undefined : find(results, tiny, 'node-start');
  if (tinyDefault?.medianS != null && nodeStart?.medianS != null) {
    const ratio = tinyDefault.medianS / nodeStart.medianS;
    out.push(
      `${mark(ratio <= START_LIMIT)} default on a ${formatRows(tiny as number)}-row file: ${tinyDefault.medianS.toFixed(3)} s against node -e 0 ` +
        `${nodeStart.medianS.toFixed(3)} s, ${ratio.toFixed(2)}× (target <= ${START_LIMIT}×)`,
    );
  }
  for (const [rows, limit] of FLOOR_LIMITS) {
    const d = find(results, rows, 'default');
    if (d?.xFloor != null) out.push(`${mark(d.xFloor <= limit)} default vs byte-scan floor on ${formatRows(rows)}: ${d.xFloor.toFixed(2)}× (target <= ${limit}×)`);
  }
  const def = find(results, TARGET_ROWS, 'default');
  if (def !== undefined && def.rowsPerS !== null) {
    out.push(`${mark(def.rowsPerS >= 3e6)} default rows/s on 3.75M: ${int(def.rowsPerS)} (target >= 3,000,000)`);
    if (def.xFasterThanNaive !== null) {
      out.push(`${mark(def.xFasterThanNaive >= 30)} default vs naive on 3.75M: ${def.xFasterThanNaive.toFixed(1)}× faster (target >= 30×)`);
    }
    if (def.rssMaxMB !== null) out.push(`${mark(def.rssMaxMB <= RSS_LIMIT_MB)} default peak RSS on 3.75M: ${def.rssMaxMB.toFixed(0)} MB max (target <= ${RSS_LIMIT_MB} MB)`);
  } else {
    out.push('(no 3.75M-row workload in this run: the throughput, naive and RSS targets are not checked)');
  }

  const perSize = sizes
    .filter((rows) => rows >= LINEAR_FROM_ROWS)
    .map((rows) => find(results, rows, 'default'))
    .filter((r): r is ConfigResult => r?.rowsPerS != null);
  if (perSize.length >= 2) {
    const rates = perSize.map((r) => r.rowsPerS as number);
    const spread = Math.max(...rates) / Math.min(...rates);
    const list = perSize.map((r) => `${formatRows(r.rows)} ${int(r.rowsPerS as number)}`).join(', ');
    out.push(`${mark(spread <= 1.25)} linear cost, default rows/s: ${list}; max/min = ${spread.toFixed(2)} (target <= 1.25)`);
    const rss = perSize.map((r) => `${formatRows(r.rows)} ${(r.rssMaxMB ?? 0).toFixed(0)} MB`).join(', ');
    out.push(`     default peak RSS by size: ${rss} (grows with stored transactions, not with file size)`);
  }

  const pipe = find(results, TARGET_ROWS, 'pipe');
  if (def?.medianS != null && pipe?.medianS != null) {
    const time = pipe.medianS / def.medianS;
    out.push(`${mark(time <= PIPE_TIME_LIMIT)} a pipe on 3.75M (cat FILE, payrun -): ${pipe.medianS.toFixed(3)} s, ${time.toFixed(2)}× the path's time (target <= ${PIPE_TIME_LIMIT}×)`);
    if (pipe.rssMaxMB !== null && def.rssMaxMB !== null) {
      const rss = pipe.rssMaxMB / def.rssMaxMB;
      out.push(`${mark(rss <= PIPE_RSS_LIMIT)} a pipe's peak RSS on 3.75M: ${pipe.rssMaxMB.toFixed(0)} MB, ${rss.toFixed(2)}× the path's (target <= ${PIPE_RSS_LIMIT}×)`);
    }
  }

  for (const rows of sizes) {
    const d = find(results, rows, 'default');
    const explicit = (['workers-0', 'workers-1', 'workers-2'] as const).map((c) => find(results, rows, c)).filter((r) => r !== undefined);
    if (d === undefined || d.medianS === null || explicit.length === 0) continue;
    const fastest = explicit.reduce((a, b) => ((b.medianS as number) < (a.medianS as number) ? b : a));
    const gap = d.medianS / (fastest.medianS as number) - 1;
    out.push(
      `${mark(gap <= DEFAULT_NOISE)} default is the fastest on ${formatRows(rows)}: default ${d.medianS.toFixed(3)} s, ` +
        `fastest explicit ${fastest.label} ${(fastest.medianS as number).toFixed(3)} s (default ${gap >= 0 ? '+' : ''}${(gap * 100).toFixed(1)}%; up to +${DEFAULT_NOISE * 100}% counts as noise)`,
    );
  }
  return out;
}
