// A real, throwaway redis-server for integration tests: a free port on 127.0.0.1, its own temp
// dir, append-only file fsynced on every write (so a restart reloads everything acknowledged),
// no RDB snapshots. Stopped by pid; every server still running is SIGKILLed when the test process
// exits, so a failed test never leaves one behind. No vitest imports here.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_SERVER = process.env.PAYRUN_REDIS_SERVER ?? 'redis-server';
export const REDIS_MISSING_MESSAGE = 'redis-server not installed: skipping cluster tests; apt-get install -y redis-server';

/** True when `redis-server` can be run (on PATH, or PAYRUN_REDIS_SERVER). */
export function redisAvailable(): boolean {
  const r = spawnSync(REDIS_SERVER, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
  return r.error === undefined && r.status === 0 && /Redis server/i.test(r.stdout.toString('utf8'));
}

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The server's working dir (AOF, log). */
  readonly dir: string;
  /** The pid of the running server (changes on restart). */
  readonly pid: number;
  /** SIGTERM and wait for the exit (a clean shutdown flushes the AOF). */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** stop() then start again on the same port and dir: the AOF is reloaded. */
  restart(): Promise<void>;
  /** stop() and remove the dir. */
  dispose(): Promise<void>;
  /** The server's log so far (for failure messages). */
  log(): string;
}

export interface StartRedisOptions {
  /** How long to wait for the server to answer PING (default 15 s). */
  readyTimeoutMs?: number;
  /** Extra redis-server arguments. */
  args?: string[];
  /** Start it with `--requirepass` (the readiness PING authenticates first; `url` holds no password). */
  requirepass?: string;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: a SIGKILL is all there is time for.
  process.on('exit', () => {
    for (const child of running) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** A port the OS just gave out (bound on 0, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('no port from listen(0)'));
        return;
      }
      const { port } = address;
      server.close(() => resolve(port));
    });
  });
}

/** One PING over a raw socket (after AUTH, given a password): resolves true on `+PONG`, false on anything else (or no answer in 1 s). */
export function ping(port: number, password?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 1000);
    const auth = password === undefined ? '' : `*2\r\n$4\r\nAUTH\r\n$${Buffer.byteLength(password)}\r\n${password}\r\n`;
    const expected = password === undefined ? '+PONG\r\n' : '+OK\r\n+PONG\r\n';
    const lines = password === undefined ? 1 : 2;
    socket.on('connect', () => socket.write(`${auth}PING\r\n`));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.split('\r\n').length > lines) done(reply.startsWith(expected));
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(reply.startsWith(expected)));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts a redis-server on a free port in a new temp dir and waits until it answers PING. */
export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisServer> {
  installExitHook();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'payrun-redis-'));
  const logFile = join(dir, 'redis.log');
  const readyTimeoutMs = opts.readyTimeoutMs ?? 15_000;
  let child: ChildProcess | undefined;
  let disposed = false;

  const readLog = (): string => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };

  const launch = async (): Promise<void> => {
    const args = [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--dir', dir,
      '--appendonly', 'yes',
      '--appendfsync', 'always',
      '--appendfilename', 'appendonly.aof',
      '--save', '',
      '--daemonize', 'no',
      '--protected-mode', 'no',
      '--logfile', logFile,
      '--loglevel', 'notice',
      '--databases', '1',
      ...(opts.requirepass !== undefined ? ['--requirepass', opts.requirepass] : []),
      ...(opts.args ?? []),
    ];
    const c = spawn(REDIS_SERVER, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr?.setEncoding('utf8');
    c.stderr?.on('data', (text: string) => (stderr += text));
    running.add(c);
    c.once('exit', () => running.delete(c));
    const spawnError = new Promise<Error>((resolve) => c.once('error', resolve));
    child = c;
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (c.exitCode !== null || c.signalCode !== null) {
        throw new Error(`redis-server on port ${port} exited (${c.exitCode ?? c.signalCode}) before answering PING: ${stderr}${readLog()}`);
      }
      const failed = await Promise.race([spawnError, sleep(0).then(() => undefined)]);
      if (failed) throw new Error(`cannot run ${REDIS_SERVER}: ${failed.message}`);
      if (await ping(port, opts.requirepass)) return;
      if (Date.now() > deadline) {
        c.kill('SIGKILL');
        throw new Error(`redis-server on port ${port} did not answer PING within ${readyTimeoutMs} ms: ${stderr}${readLog()}`);
      }
      await sleep(50);
    }
  };

  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    const c = child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    // By pid, as asked: the ChildProcess is only what tells us it exited.
    try {
      process.kill(c.pid!, sig);
    } catch {
      // already gone
    }
    const gone = exited(c);
    const timeout = sleep(sig === 'SIGKILL' ? 10_000 : 20_000).then(() => 'timeout' as const);
    if ((await Promise.race([gone, timeout])) === 'timeout') {
      c.kill('SIGKILL');
      await exited(c);
    }
  };

  await launch();

  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get pid(): number {
      return child?.pid ?? -1;
    },
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    async restart(): Promise<void> {
      if (disposed) throw new Error('redis-server disposed');
      await signal('SIGTERM');
      // The port is ours again at once (SO_REUSEADDR), but retry a little in case it is not.
      for (let attempt = 0; ; attempt++) {
        try {
          await launch();
          return;
        } catch (error) {
          if (attempt >= 5) throw error;
          await sleep(200);
        }
      }
    },
    async dispose(): Promise<void> {
      disposed = true;
      await signal('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    log: readLog,
  };
  return server;
}
