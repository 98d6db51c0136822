/**
 * A real PostgreSQL (Debian's `postgresql`, binaries in /usr/lib/postgresql/N/bin) for tests and
 * benchmarks: `initdb` in a temp dir, a free port on 127.0.0.1, no Unix socket, trust auth, fsync
 * on. The server refuses to run as root, so as root it runs as the `postgres` user (`runuser`).
 * `kill()` stops it like a crash (SIGKILL), `start()` brings it back on the same port and data dir
 * and resolves once it accepts connections (crash recovery done), `stop()` ends it for good and
 * removes the dir. `sql()` waits (bounded) while a started server is still starting up.
 * test/run.sh installs `postgresql` when missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';

export interface PostgresServer {
  readonly port: number;
  readonly dir: string;
  /** postgres://postgres@127.0.0.1:PORT/DB (default DB `postgres`). */
  url(db?: string): string;
  readonly running: boolean;
  /** Starts it (again); resolves once it accepts SQL. Calls while a start runs share it. */
  start(): Promise<void>;
  /** SIGKILL of the postmaster, then of its backends, like a power cut of the database host; resolves once all are gone. */
  kill(): Promise<void>;
  /** A fast clean shutdown, then nothing left (the dir removed). Safe to call twice. */
  stop(): Promise<void>;
  /**
   * Runs SQL with psql as the superuser; returns stdout. While the server runs but does not accept
   * connections yet (starting up, recovering), retries the connection for up to `readyTimeoutMs`
   * (30 s); a server that is not running fails at once.
   */
  sql(query: string, db?: string): string;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** The newest installed server's bin dir, or null. */
export function postgresBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0]!, 'bin') : null;
}

export function postgresAvailable(): boolean {
  return postgresBinDir() !== null;
}

const asRoot = process.getuid?.() === 0;
/**
 * As root, the server binaries run as the unprivileged `postgres` user — spawned with its uid and
 * gid directly (not through runuser), so that the postmaster is this process's child and is reaped
 * when it dies: a zombie postmaster would keep its `postmaster.pid` lock "alive" for the next start.
 */
function runAs(): { uid?: number; gid?: number } {
  if (!asRoot) return {};
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** Whether a process runs (a zombie, dead but not yet reaped, does not). */
function processAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function childPids(pid: number): number[] {
  const r = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** psql could not connect because the server is not ready yet (rather than the SQL failing). */
const NOT_READY = /the database system is (starting up|in recovery mode|not yet accepting connections|shutting down)|Connection refused/;

const pause = new Int32Array(new SharedArrayBuffer(4));

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startPostgres(opts: { startTimeoutMs?: number; readyTimeoutMs?: number } = {}): Promise<PostgresServer> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  const dir = mkdtempSync(join(tmpdir(), 'smokehub-pg-'));
  const data = join(dir, 'data');
  const user = runAs();
  if (user.uid !== undefined) {
    chmodSync(dir, 0o755);
    chownSync(dir, user.uid, user.gid!);
  }
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-instructions'], {
    encoding: 'utf8',
    cwd: dir,
    ...user,
  });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  const port = await freePort();
  let child: ChildProcess | null = null;
  const timeout = opts.startTimeoutMs ?? 30_000;
  const readyTimeout = opts.readyTimeoutMs ?? 30_000;
  let starting: Promise<void> | null = null;
  let stopped = false;
  const psql = (query: string, db: string) => {
    const args = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', db, '-c', query];
    return spawnSync('psql', args, { encoding: 'utf8' });
  };
  const sql = (query: string, db = 'postgres'): string => {
    const deadline = Date.now() + readyTimeout;
    for (;;) {
      const r = psql(query, db);
      if (r.status === 0) return r.stdout.trim();
      // Only a connection that was refused is tried again (the SQL never ran), and only while the server runs.
      const notReady = /connection to server .* failed/.test(r.stderr) && NOT_READY.test(r.stderr);
      if (!notReady || !server.running || Date.now() > deadline) throw new Error(`psql failed: ${r.stderr}`);
      // sql() is synchronous (its callers are): a short blocking pause between two polls.
      Atomics.wait(pause, 0, 0, 100);
    }
  };
  /** Kills a postmaster left behind (one started through runuser was not this process's child) and waits until none is. */
  const gone = async (): Promise<void> => {
    const pattern = `postgres -D ${data}`;
    for (let i = 0; i < 100; i++) {
      spawnSync('pkill', ['-KILL', '-f', pattern]);
      if (spawnSync('pgrep', ['-f', pattern]).status !== 0) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const accepts = (): boolean => psql('SELECT 1', 'postgres').status === 0;

  /** Spawns the postmaster (unless it runs) and waits until it accepts SQL (the port opens before recovery ends). */
  const startOnce = async (): Promise<void> => {
    let stderr = '';
    if (!server.running) {
      const args = [
        '-D',
        data,
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-k',
        '',
        '-c',
        'fsync=on',
        '-c',
        'max_connections=200',
        '-c',
        'log_min_messages=warning',
      ];
      const c = spawn(join(bin, 'postgres'), args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir, ...user });
      child = c;
      live.add(c);
      c.stderr!.on('data', (b: Buffer) => {
        stderr = (stderr + b.toString()).slice(-4000);
      });
      c.once('exit', () => live.delete(c));
    }
    const deadline = Date.now() + timeout;
    for (;;) {
      if (!server.running) throw new Error(`postgres exited at start: ${stderr}`);
      if ((await portOpen(port)) && accepts()) return;
      if (Date.now() > deadline) throw new Error(`postgres did not start in ${timeout} ms: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const server: PostgresServer = {
    port,
    dir,
    url: (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`,
    get running() {
      return child !== null && child.exitCode === null && child.signalCode === null;
    },
    start() {
      if (stopped) return Promise.reject(new Error('postgres: start() after stop()'));
      starting ??= startOnce().finally(() => {
        starting = null;
      });
      return starting;
    },
    async kill() {
      await starting?.catch(() => undefined);
      const c = child;
      if (!c || !server.running) return;
      const backends = c.pid === undefined ? [] : childPids(c.pid);
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
      // The backends outlive the postmaster until they notice its death; a power cut ends them too,
      // and the next start needs them gone (they hold the old shared memory).
      const deadline = Date.now() + 10_000;
      for (;;) {
        const left = backends.filter(processAlive);
        if (left.length === 0) break;
        if (Date.now() > deadline) throw new Error(`postgres backends ${left.join(', ')} still alive after the kill`);
        for (const pid of left) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone meanwhile
          }
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      await gone();
    },
    async stop() {
      stopped = true;
      await starting?.catch(() => undefined);
      const c = child;
      if (c && server.running) {
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGINT'); // fast shutdown
        const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
      await gone();
      child = null;
      rmSync(dir, { recursive: true, force: true });
    },
    sql,
  };
  await server.start();
  return server;
}
