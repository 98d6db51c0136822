/**
 * A real Redis (Debian's `redis-server`) for tests and benchmarks: a free port on 127.0.0.1, a temp
 * dir, append-only file on (so a restart keeps what was written), no RDB snapshots. `kill()` is a
 * crash (SIGKILL), `start()` brings it back on the same port and dir, `stop()` ends it and removes the
 * dir. test/run.sh installs `redis-server` when missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';

export interface RedisServer {
  readonly port: number;
  readonly dir: string;
  /** redis://127.0.0.1:PORT */
  readonly url: string;
  readonly running: boolean;
  start(): Promise<void>;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export function redisAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** PING → +PONG over a raw socket (no client library needed). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.write('PING\r\n'));
    let got = '';
    s.on('data', (b) => {
      got += b.toString();
      if (got.includes('\r\n')) {
        s.destroy();
        resolve(got.startsWith('+PONG'));
      }
    });
    s.once('error', () => resolve(false));
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
  });
}

export async function startRedis(opts: { startTimeoutMs?: number } = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'smokehub-redis-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  const timeout = opts.startTimeoutMs ?? 15_000;
  const server: RedisServer = {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return child !== null && child.exitCode === null && child.signalCode === null;
    },
    async start() {
      if (server.running) return;
      const c = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'yes',
          '--appendfsync',
          'everysec',
          '--protected-mode',
          'no',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      child = c;
      live.add(c);
      c.once('exit', () => live.delete(c));
      const deadline = Date.now() + timeout;
      for (;;) {
        if (!server.running) throw new Error('redis-server exited at start');
        if (await ping(port)) return;
        if (Date.now() > deadline) throw new Error(`redis-server did not start in ${timeout} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async kill() {
      const c = child;
      if (!c || !server.running) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
    },
    async stop() {
      await server.kill();
      child = null;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
