/**
 * A hand-written SVG bar chart of a benchmark run: two panels, rows/s and peak RSS, each with one
 * group of bars per config and one bar per workload, value labels on the bars.
 */
import type { ConfigResult } from './configs.js';
import { formatRows } from './workloads.js';

export interface ChartInput {
  title: string;
  subtitle: string;
  configs: { id: ConfigResult['config']; short: string }[];
  workloads: number[];
  results: ConfigResult[];
}

interface Panel {
  title: string;
  axis: string;
  value(r: ConfigResult): number | null;
  label(v: number): string;
  /** A dashed horizontal line (a target), or null. */
  line: { at: number; text: string } | null;
}

const WIDTH = 960;
const LEFT = 84;
const RIGHT = 24;
const PLOT_H = 250;
const PANEL_H = 370; // title + plot + x labels + axis title
const TOP = 64; // the chart's title and subtitle
const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1'];
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const px = (n: number): string => String(Math.round(n * 10) / 10);

/** A round axis maximum and tick step for values up to max. */
function niceScale(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.2 };
  const raw = max / 5;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * pow >= raw) ?? 10) * pow;
  return { top: Math.ceil(max / step - 1e-9) * step, step };
}

function tickLabel(v: number, step: number): string {
  let digits = 0;
  while (digits < 4 && Math.abs(step * 10 ** digits - Math.round(step * 10 ** digits)) > 1e-9) digits++;
  return v.toFixed(digits);
}

function panel(input: ChartInput, spec: Panel, y0: number): string {
  const out: string[] = [];
  const plotW = WIDTH - LEFT - RIGHT;
  const plotTop = y0 + 36;
  const base = plotTop + PLOT_H;
  const values = input.results.map(spec.value).filter((v): v is number => v !== null);
  const { top, step } = niceScale(Math.max(...values, spec.line?.at ?? 0, 0) * 1.08);
  const y = (v: number): number => base - (v / top) * PLOT_H;

  out.push(`<text x="${LEFT}" y="${y0 + 18}" font-size="15" font-weight="600">${esc(spec.title)}</text>`);
  for (let i = 0; i * step <= top + step / 2; i++) {
    const v = i * step;
    out.push(`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${px(y(v))}" y2="${px(y(v))}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${LEFT - 8}" y="${px(y(v) + 4)}" font-size="11" text-anchor="end" fill="#444">${tickLabel(v, step)}</text>`);
  }
  out.push(`<line x1="${LEFT}" x2="${LEFT}" y1="${plotTop}" y2="${base}" stroke="#333"/>`);
  out.push(`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${base}" y2="${base}" stroke="#333"/>`);
  const midY = plotTop + PLOT_H / 2;
  out.push(`<text x="20" y="${midY}" font-size="12" text-anchor="middle" transform="rotate(-90 20 ${midY})">${esc(spec.axis)}</text>`);

  const groupW = plotW / input.configs.length;
  const barW = Math.min(44, (groupW * 0.8) / input.workloads.length);
  input.configs.forEach((config, g) => {
    const groupX = LEFT + g * groupW + (groupW - barW * input.workloads.length) / 2;
    input.workloads.forEach((rows, w) => {
      const x = groupX + w * barW;
      const r = input.results.find((res) => res.config === config.id && res.rows === rows);
      const v = r === undefined ? null : spec.value(r);
      const cx = px(x + barW / 2);
      if (v === null) {
        const why = r?.skipped != null ? 'skipped' : 'n/a';
        out.push(`<text x="${cx}" y="${base - 4}" font-size="9" text-anchor="middle" fill="#888">${why}</text>`);
        return;
      }
      const h = Math.max(1, base - y(v));
      const color = COLORS[w % COLORS.length] ?? '#888';
      out.push(`<rect x="${px(x + 1)}" y="${px(base - h)}" width="${px(barW - 2)}" height="${px(h)}" fill="${color}"><title>${esc(`${config.short}, ${formatRows(rows)} rows: ${spec.label(v)}`)}</title></rect>`);
      out.push(`<text x="${cx}" y="${px(base - h - 4)}" font-size="10" text-anchor="middle" fill="#222">${esc(spec.label(v))}</text>`);
    });
    out.push(`<text x="${px(LEFT + (g + 0.5) * groupW)}" y="${base + 18}" font-size="12" text-anchor="middle">${esc(config.short)}</text>`);
  });
  out.push(`<text x="${px(LEFT + plotW / 2)}" y="${base + 42}" font-size="12" text-anchor="middle" fill="#444">config</text>`);

  if (spec.line !== null) {
    const ly = px(y(spec.line.at));
    out.push(`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${ly}" y2="${ly}" stroke="#c0392b" stroke-dasharray="6 4"/>`);
    // Keyed like a legend entry at the panel's top right, so the text never sits on the bars.
    const keyX = WIDTH - RIGHT - spec.line.text.length * 6.6 - 34;
    out.push(`<line x1="${px(keyX)}" x2="${px(keyX + 26)}" y1="${y0 + 14}" y2="${y0 + 14}" stroke="#c0392b" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${px(keyX + 32)}" y="${y0 + 18}" font-size="12" fill="#c0392b">${esc(spec.line.text)}</text>`);
  }
  return out.join('\n');
}

function legend(input: ChartInput): string {
  const parts: string[] = [];
  let x = WIDTH - RIGHT;
  for (let w = input.workloads.length - 1; w >= 0; w--) {
    const text = `${formatRows(input.workloads[w] ?? 0)} rows`;
    x -= text.length * 7 + 30;
    parts.push(`<rect x="${x}" y="${TOP + 8}" width="12" height="12" fill="${COLORS[w % COLORS.length] ?? '#888'}"/>`);
    parts.push(`<text x="${x + 17}" y="${TOP + 18}" font-size="12">${esc(text)}</text>`);
  }
  return parts.join('\n');
}

export function svgChart(input: ChartInput): string {
  const height = TOP + 2 * PANEL_H;
  const throughput: Panel = {
    title: 'Throughput: million rows per second (median; higher is better)',
    axis: 'million rows / s',
    value: (r) => (r.rowsPerS === null ? null : r.rowsPerS / 1e6),
    label: (v) => (v >= 10 ? v.toFixed(1) : v.toFixed(2)),
    line: null,
  };
  const memory: Panel = {
    title: 'Peak RSS of the process, MB (max over runs; lower is better)',
    axis: 'peak RSS (MB)',
    value: (r) => r.rssMaxMB,
    label: (v) => v.toFixed(0),
    line: { at: 150, text: 'payrun target: 150 MB on 3.75M rows' },
  };
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT}>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${LEFT}" y="26" font-size="18" font-weight="700">${esc(input.title)}</text>`,
    `<text x="${LEFT}" y="46" font-size="12" fill="#555">${esc(input.subtitle)}</text>`,
    legend(input),
    panel(input, throughput, TOP),
    panel(input, memory, TOP + PANEL_H),
    '</svg>',
    '',
  ].join('\n');
}
