// Preload module for the benchmark: `node --require <this file> script ...`. CommonJS, so that
// measuring does not load Node's ES module loader (~2 MB) into a CLI that starts without it.
// On exit it writes the process's peak resident set size in KiB (getrusage maxrss, which covers
// every thread of the process, worker threads included) to the file named by $BENCH_RSS_FILE.
// It registers only in the main thread: worker threads inherit --require, but their exit comes
// before the process's peak is final.
const { writeFileSync } = require('node:fs');
const { isMainThread } = require('node:worker_threads');

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
