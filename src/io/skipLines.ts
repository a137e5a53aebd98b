/** How many lines (and their bytes) were passed over. */
export interface Skipped {
  lines: number;
  bytes: number;
}

/**
 * The chunks of `source` (whole lines, as wholeLines gives them) without their first `lines`
 * lines: a restarted stream source is fed again from its start, and the lines a journal already
 * holds are read and dropped, never parsed or decided. `done` is called once, when the last of
 * them has passed or the source has ended before it (then with fewer lines). A final line with
 * no terminator counts as a line, as the parser counts it.
 */
export async function* skipLines(source: AsyncIterable<Buffer>, lines: number, done: (skipped: Skipped) => void): AsyncGenerator<Buffer> {
  const skipped: Skipped = { lines: 0, bytes: 0 };
  let skipping = lines > 0;
  if (!skipping) done(skipped);
  for await (const chunk of source) {
    if (!skipping) {
      yield chunk;
      continue;
    }
    let at = 0;
    while (skipped.lines < lines && at < chunk.length) {
      const lf = chunk.indexOf(10, at);
      at = lf < 0 ? chunk.length : lf + 1;
      skipped.lines++;
    }
    skipped.bytes += at;
    if (skipped.lines < lines) continue;
    skipping = false;
    done(skipped);
    if (at < chunk.length) yield chunk.subarray(at);
  }
  if (skipping) done(skipped);
}
