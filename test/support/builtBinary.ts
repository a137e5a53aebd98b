import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';

/** The project root, the installed command, and the compiled CLI it runs. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin', 'payrun');
export const MAIN_JS = join(ROOT, 'dist', 'cli', 'main.js');

/**
 * For a suite that runs the real built binary: fails clearly if dist/ is not built, and gives a
 * temp dir (removed afterwards). Returns a getter, since the dir exists only once the suite runs.
 */
export function useBuiltBinary(prefix: string): () => string {
  let tmp = '';
  beforeAll(() => {
    if (!existsSync(MAIN_JS)) {
      throw new Error(`${MAIN_JS} is missing: build first (npm run build, or npx tsc -p tsconfig.build.json)`);
    }
    tmp = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });
  return () => tmp;
}
