/** How accounts and histories are printed: CSV (the default), one JSON array, or one JSON object per line. */
export const OUTPUT_FORMATS = ['csv', 'json', 'ndjson'] as const;

export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Objects already rendered as JSON text, as one array (one element a line, so it reads and diffs well) or one per line. */
export function joinJson(objects: readonly string[], format: 'json' | 'ndjson'): string {
  if (format === 'ndjson') return objects.length === 0 ? '' : `${objects.join('\n')}\n`;
  return objects.length === 0 ? '[]\n' : `[\n${objects.join(',\n')}\n]\n`;
}
