// Preload module for the benchmark: `node --import <file URL of this module> script ...`.
// On exit it writes the process's peak resident set size in KiB (getrusage maxrss, which covers
// every thread of the process, worker threads included) to the file named by $BENCH_RSS_FILE.
// It registers only in the main thread: worker threads inherit --import, but their exit comes
// before the process's peak is final.
import { writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const target = process.env.BENCH_RSS_FILE;
if (isMainThread && target) {
  process.on('exit', () => {
    try {
      writeFileSync(target, `${process.resourceUsage().maxRSS}\n`);
    } catch {
      // Never change the measured program's exit code or output; the harness reports a missing value.
    }
  });
}
