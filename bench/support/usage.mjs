// Preload module for the cluster benchmark: `node --import <file URL of this module> script ...`.
// On exit it writes the process's peak resident set size (KiB) and CPU time (user and system, µs)
// as JSON to the file named by $BENCH_USAGE_FILE. Main thread only (see peak-rss.cjs).
import { writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const target = process.env.BENCH_USAGE_FILE;
if (isMainThread && target) {
  process.on('exit', () => {
    try {
      const usage = process.resourceUsage();
      writeFileSync(target, `${JSON.stringify({ maxRssKiB: usage.maxRSS, userMicros: usage.userCPUTime, systemMicros: usage.systemCPUTime })}\n`);
    } catch {
      // Never change the measured program's exit code or output; the harness reports a missing value.
    }
  });
}
