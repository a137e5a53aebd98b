// Runs payrun in this process with a fresh --journal directory (removed afterwards), so every
// timed run journals the whole input rather than finding it applied already. In-process, so the
// peak-RSS preload measures payrun itself. Usage: journaled.mjs <fsync mode> <payrun args...>
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../dist/cli/main.js';

const [mode, ...args] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), 'payrun-bench-journal-'));
try {
  process.exitCode = await main(['--journal', dir, '--fsync', mode, ...args], { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
