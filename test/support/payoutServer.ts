import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface PayoutServerConfig {
  latencyMs?: number;
  failRate?: number;
  failFirst?: number;
  kinds?: (number | 'slow' | 'drop' | 'drop-early')[];
  retryAfter?: string;
  slowMs?: number;
  badTxMod?: number;
  record?: string;
}

/** One request as the server recorded it (every request but a first-time 2xx; and every acceptance). */
export interface ServerRecord {
  t: number;
  key: string;
  lines: number[];
  clients: number[];
  auth: string | null;
  kind: string;
  status?: number;
}

const SCRIPT = fileURLToPath(new URL('./payoutServer.mjs', import.meta.url));

/** The test payout API in a child process on a free loopback port (payoutServer.mjs). */
export class PayoutServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    private readonly recordPath: string | undefined,
  ) {}

  static start(config: PayoutServerConfig): Promise<PayoutServer> {
    const child = spawn(process.execPath, [SCRIPT, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
    return new Promise((resolve, reject) => {
      let text = '';
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`payout server exited (${code}) before listening`)));
      child.stdout!.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (!text.includes('\n')) return;
        const { port } = JSON.parse(text) as { port: number };
        child.removeAllListeners('exit');
        resolve(new PayoutServer(child, `http://127.0.0.1:${port}/payouts`, config.record));
      });
    });
  }

  /** Stops it (SIGTERM: the records are flushed first) and waits for the exit. */
  stop(): Promise<void> {
    if (this.child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
    });
  }

  /** The records so far (call after stop() for all of them). */
  records(): ServerRecord[] {
    if (this.recordPath === undefined) return [];
    return readFileSync(this.recordPath, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as ServerRecord);
  }
}
