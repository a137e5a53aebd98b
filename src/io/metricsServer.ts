import { createServer, type Server } from 'node:http';

/** A port --metrics-port cannot have: one line, before anything else starts. */
export class MetricsPortError extends Error {}

/**
 * Serves `text()` as Prometheus text at any path on 127.0.0.1:port (`--metrics-port` of consume
 * and relay). Listening comes first, before the command connects anywhere, so a busy port ends
 * it at once with one line.
 */
export function serveMetrics(port: number, text: () => string): Promise<Server> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    response.end(text());
  });
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'EADDRINUSE' ? 'address already in use' : error.code === 'EACCES' ? 'permission denied' : error.message;
      reject(new MetricsPortError(`cannot listen on 127.0.0.1:${port} for --metrics-port: ${reason}`));
    });
    server.listen(port, '127.0.0.1', () => {
      server.unref();
      resolve(server);
    });
  });
}
