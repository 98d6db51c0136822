/**
 * A real PostgreSQL (Debian's `postgresql`, binaries in /usr/lib/postgresql/N/bin) for tests and
 * benchmarks: `initdb` in a temp dir, a free port on 127.0.0.1, no Unix socket, trust auth, fsync
 * on. The server refuses to run as root, so as root it runs as the `postgres` user (`runuser`).
 * `kill()` stops it like a crash (SIGKILL), `start()` brings it back on the same port and data dir,
 * `stop()` ends it for good and removes the dir. test/run.sh installs `postgresql` when missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
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
  start(): Promise<void>;
  /** SIGKILL of the postmaster, like a power cut of the database host. */
  kill(): Promise<void>;
  /** A fast clean shutdown, then nothing left (the dir removed). Safe to call twice. */
  stop(): Promise<void>;
  /** Runs SQL with psql as the superuser; returns stdout. */
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

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startPostgres(opts: { startTimeoutMs?: number } = {}): Promise<PostgresServer> {
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
  const sql = (query: string, db = 'postgres'): string => {
    const args = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', db, '-c', query];
    const r = spawnSync('psql', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  /** Kills what is left of the server (its backends, a postmaster runuser left behind) and waits until none is. */
  const gone = async (): Promise<void> => {
    const pattern = `postgres -D ${data}`;
    for (let i = 0; i < 100; i++) {
      spawnSync('pkill', ['-KILL', '-f', pattern]);
      if (spawnSync('pgrep', ['-f', pattern]).status !== 0) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const accepts = (): boolean => {
    try {
      sql('SELECT 1');
      return true;
    } catch {
      return false;
    }
  };

  const server: PostgresServer = {
    port,
    dir,
    url: (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`,
    get running() {
      return child !== null && child.exitCode === null && child.signalCode === null;
    },
    async start() {
      if (server.running) return;
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
      let stderr = '';
      c.stderr!.on('data', (b: Buffer) => {
        stderr = (stderr + b.toString()).slice(-4000);
      });
      c.once('exit', () => live.delete(c));
      const deadline = Date.now() + timeout;
      // Ready when it accepts SQL (the port opens before recovery ends).
      for (;;) {
        if (!server.running) throw new Error(`postgres exited at start: ${stderr}`);
        if ((await portOpen(port)) && accepts()) return;
        if (Date.now() > deadline) throw new Error(`postgres did not start in ${timeout} ms: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async kill() {
      const c = child;
      if (!c || !server.running) return;
      // The postmaster's children die with it (SIGKILL leaves shared memory to the next start's check).
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
      await gone();
    },
    async stop() {
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
