#!/usr/bin/env node
// The floor: the least any CSV engine must do — read every byte of the file and look at it.
// readSync into one reused 4 MiB buffer, count '\n' bytes, print the count. No parsing, no state.
//   node bench/baselines/byte-scan.mjs FILE
import { closeSync, openSync, readSync } from 'node:fs';

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write('usage: byte-scan.mjs FILE\n');
  process.exit(2);
}

const buf = Buffer.allocUnsafe(4 << 20);
const fd = openSync(file, 'r');
let newlines = 0;
for (;;) {
  const n = readSync(fd, buf, 0, buf.length, null);
  if (n === 0) break;
  for (let i = 0; i < n; i++) if (buf[i] === 10) newlines++;
}
closeSync(fd);
process.stdout.write(`${newlines}\n`);
