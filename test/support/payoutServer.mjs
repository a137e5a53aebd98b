// A payout API for the relay's tests and bench: node:http on a free loopback port, run as a child
// process. It dedupes by Idempotency-Key (a key seen before is answered 200 again and counted as a
// duplicate, never accepted twice), injects failures, and records every request as one JSON line.
//
// Config: one JSON argument.
//   latencyMs    every answer waits this long (default 0)
//   failRate     chance that a request fails with one of `kinds` (default 0)
//   failFirst    instead: the first N requests of every key fail (`kinds` in turn, from one chosen by the key)
//   kinds        failures to inject: 429, 503, 500 (with Retry-After: `retryAfter`), 'slow' (accepted,
//                answered after slowMs: beyond the relay's timeout), 'drop' (accepted, then the
//                connection is cut), 'drop-early' (cut before accepting)
//   retryAfter   the Retry-After value of 429 and 503 ('' for none; default '0')
//   badTxMod     events whose tx is a multiple of it are refused with 400 (never accepted)
//   record       file for the request records (none: not recorded)
// Prints {"port":N} on stdout once it listens. SIGTERM: flush the records, exit 0.
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:http';

const config = { latencyMs: 0, failRate: 0, failFirst: 0, kinds: [503], retryAfter: '0', slowMs: 2000, badTxMod: 0, ...JSON.parse(process.argv[2] ?? '{}') };
const started = performance.now();
const accepted = new Set();
const seen = new Map();
const out = config.record ? createWriteStream(config.record) : undefined;
let requests = 0;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function record(entry) {
  out?.write(`${JSON.stringify({ t: Math.round((performance.now() - started) * 1000) / 1000, ...entry })}\n`);
}

function keyNumber(key) {
  let n = 0;
  for (const c of key) n = (n * 31 + c.charCodeAt(0)) >>> 0;
  return n;
}

function failureFor(key) {
  const attempt = (seen.get(key) ?? 0) + 1;
  seen.set(key, attempt);
  // With failFirst, the kinds go round by key and attempt, so that every kind is met.
  if (config.failFirst > 0) return attempt <= config.failFirst ? config.kinds[(keyNumber(key) + attempt - 1) % config.kinds.length] : undefined;
  if (config.failRate > 0 && Math.random() < config.failRate) return config.kinds[Math.floor(Math.random() * config.kinds.length)];
  return undefined;
}

async function handle(request, response) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  requests += 1;
  const key = request.headers['idempotency-key'];
  const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const events = Array.isArray(parsed) ? parsed : [parsed];
  const base = { key, lines: events.map((e) => e.line), clients: events.map((e) => e.client), auth: request.headers.authorization ?? null };
  if (config.latencyMs > 0) await sleep(config.latencyMs);
  if (typeof key !== 'string' || key === '') return answer(response, 422, base, 'no-key');
  if (accepted.has(key)) return answer(response, 200, base, 'duplicate');
  if (config.badTxMod > 0 && events.some((e) => e.tx % config.badTxMod === 0)) return answer(response, 400, base, '400', '{"error":"invalid beneficiary"}');
  const kind = failureFor(key);
  if (kind === 'drop-early') return drop(response, base, kind);
  if (typeof kind === 'number') {
    const headers = config.retryAfter !== '' && (kind === 429 || kind === 503) ? { 'retry-after': config.retryAfter } : {};
    return answer(response, kind, base, String(kind), '{"error":"try later"}', headers);
  }
  accepted.add(key);
  record({ ...base, kind: 'accepted' });
  if (kind === 'drop') return drop(response, base, kind);
  if (kind === 'slow') await sleep(config.slowMs);
  answer(response, 200, base, kind === 'slow' ? 'slow' : 'ok');
}

function answer(response, status, base, kind, body = '{"ok":true}', headers = {}) {
  if (kind !== 'ok') record({ ...base, kind, status });
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(body);
}

function drop(response, base, kind) {
  record({ ...base, kind });
  response.socket?.destroy();
}

const server = createServer((request, response) => {
  handle(request, response).catch((error) => {
    record({ kind: 'server-error', error: String(error) });
    if (!response.headersSent) response.writeHead(500).end();
  });
});
server.keepAliveTimeout = 30_000;
server.listen(config.port ?? 0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
const stop = () => {
  server.close();
  server.closeAllConnections();
  if (out) out.end(() => process.exit(0));
  else process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('message', (m) => {
  if (m === 'stats') process.send?.({ requests, accepted: accepted.size });
});
