import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Folders are layers: each may import only the layers listed for it (README, Architecture).
 * `cli` is the top and may import anything; nothing imports `cli`.
 */
const ALLOWED: Record<string, readonly string[]> = {
  domain: [],
  io: ['domain'],
  engine: ['io', 'domain'],
  journal: ['io', 'domain'],
  generate: ['engine', 'io', 'domain'],
  workers: ['engine', 'io', 'domain'],
  session: ['journal', 'engine', 'io', 'domain'],
  cluster: ['journal', 'engine', 'io', 'domain'],
  relay: ['cluster', 'io', 'domain'],
  cli: ['relay', 'cluster', 'session', 'workers', 'generate', 'journal', 'engine', 'io', 'domain'],
};

const SRC = resolve(import.meta.dirname, '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

interface Edge {
  from: string;
  to: string;
  /** Loaded only when it runs (`await import(...)`), or erased by the compiler (`import type`). */
  lazy: boolean;
}

const STATIC_IMPORT = /^(?:import|export)\s+(type\s+)?(?:[^;'"]*?\sfrom\s+)?'([^']+)'/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*'([^']+)'\s*\)/g;

/** Every import of every source file: the relative ones as edges between files, and the packages. */
function imports(file: string): { spec: string; lazy: boolean }[] {
  const text = readFileSync(file, 'utf8');
  return [
    ...[...text.matchAll(STATIC_IMPORT)].map((m) => ({ spec: m[2]!, lazy: m[1] !== undefined })),
    ...[...text.matchAll(DYNAMIC_IMPORT)].map((m) => ({ spec: m[1]!, lazy: true })),
  ];
}

function importEdges(): Edge[] {
  return sourceFiles(SRC).flatMap((file) =>
    imports(file)
      .filter(({ spec }) => spec.startsWith('.'))
      .map(({ spec, lazy }) => ({ from: relative(SRC, file), to: relative(SRC, resolve(dirname(file), spec.replace(/\.js$/, '.ts'))), lazy })),
  );
}

const layerOf = (path: string): string => path.split('/')[0]!;

describe('layers', () => {
  const edges = importEdges();

  it('every source file sits in a known layer', () => {
    const unknown = sourceFiles(SRC)
      .map((file) => relative(SRC, file))
      .filter((path) => !(layerOf(path) in ALLOWED));
    expect(unknown).toEqual([]);
  });

  it('every import goes to the same layer or one the table allows', () => {
    const bad = edges
      .filter(({ from, to }) => layerOf(from) !== layerOf(to) && !ALLOWED[layerOf(from)]!.includes(layerOf(to)))
      .map(({ from, to }) => `${from} -> ${to}`);
    expect(bad).toEqual([]);
  });

  it('no two files import each other, directly or round about', () => {
    const graph = new Map<string, string[]>();
    for (const { from, to } of edges) graph.set(from, [...(graph.get(from) ?? []), to]);
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (node: string, path: string[]): void => {
      if (state.get(node) === 'done') return;
      if (state.get(node) === 'open') {
        cycles.push([...path.slice(path.indexOf(node)), node].join(' -> '));
        return;
      }
      state.set(node, 'open');
      for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
      state.set(node, 'done');
    };
    for (const node of graph.keys()) visit(node, []);
    expect(cycles).toEqual([]);
  });

  it('the batch run loads no cluster, stream, session or journal code until it needs it', () => {
    const staticGraph = new Map<string, string[]>();
    for (const { from, to, lazy } of edges) if (!lazy) staticGraph.set(from, [...(staticGraph.get(from) ?? []), to]);
    const loaded = new Set<string>();
    const load = (file: string): void => {
      if (loaded.has(file)) return;
      loaded.add(file);
      for (const next of staticGraph.get(file) ?? []) load(next);
    };
    load('cli/main.ts');
    load('cli/commands/run.ts');
    // Two leaves of the journal layer are allowed: the --fsync choices and the error class describeError knows.
    const leaves = new Set(['journal/fsyncMode.ts', 'journal/journalDefaults.ts', 'journal/journalError.ts']);
    const eager = [...loaded].filter((file) => /^(cluster|session|journal)\/|commands\/(?!run\.ts)/.test(file) && !leaves.has(file));
    expect(eager).toEqual([]);
    const packages = [...loaded].flatMap((file) => imports(join(SRC, file)).filter(({ spec, lazy }) => !lazy && !spec.startsWith('.')));
    expect([...new Set(packages.map(({ spec }) => spec).filter((spec) => !spec.startsWith('node:')))].sort()).toEqual(['commander']);
  });
});
