/**
 * A real InfluxDB 1.x (Debian's influxd) for tests and benchmarks: temp dir, free ports on
 * 127.0.0.1, reporting off. `kill()` stops it like a crash (SIGKILL), `start()` brings it back on the
 * same port and data dir, `stop()` ends it for good and removes the dir. Install with
 * `apt-get install influxdb` (test/run.sh does it when influxd is missing).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';

export interface InfluxdOptions {
  /** Turn on HTTP authentication with this admin user (created on first start). */
  auth?: { username: string; password: string };
  /** HTTP port (default: a free one). */
  port?: number;
  /** Give up waiting for /ping after this long (default 20 s). */
  startTimeoutMs?: number;
}

export interface Influxd {
  readonly port: number;
  readonly dir: string;
  /** http://127.0.0.1:PORT (add /DB for the hub's --influx). */
  readonly baseUrl: string;
  readonly running: boolean;
  /** The running influxd's process id (benchmarks read its CPU time). */
  readonly pid: number | undefined;
  /** (Re)starts on the same port and data dir; resolves when /ping answers 204. */
  start(): Promise<void>;
  /** SIGKILL, like a crash or a power cut of the database host. */
  kill(): Promise<void>;
  /** Ends it and removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
  /** Runs InfluxQL through the HTTP API (as the admin user when auth is on). */
  query(q: string, db?: string): Promise<InfluxQueryResult>;
  /** Writes line protocol straight to /write (precision ms). */
  writeLines(db: string, body: string, rp?: string): Promise<void>;
}

export interface InfluxQueryResult {
  results: Array<{
    statement_id: number;
    error?: string;
    series?: Array<{ name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }>;
  }>;
}

const live = new Set<ChildProcess>();
const alive = (c: ChildProcess | null): c is ChildProcess => c !== null && c.exitCode === null && c.signalCode === null;
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export function influxdAvailable(): boolean {
  return spawnSync('influxd', ['version'], { stdio: 'ignore' }).status === 0;
}

export async function startInfluxd(opts: InfluxdOptions = {}): Promise<Influxd> {
  if (!influxdAvailable()) throw new Error('influxd is not installed: apt-get install influxdb (test/run.sh installs it)');
  const dir = mkdtempSync(join(tmpdir(), 'smokehub-influxd-'));
  const port = opts.port ?? (await freePort());
  const rpcPort = await freePort();
  const config = join(dir, 'influxdb.conf');
  const authOn = Boolean(opts.auth);
  writeFileSync(
    config,
    `reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"

[meta]
  dir = "${join(dir, 'meta')}"

[data]
  dir = "${join(dir, 'data')}"
  wal-dir = "${join(dir, 'wal')}"
  query-log-enabled = false

[coordinator]
  log-queries-after = "0s"

[retention]
  enabled = true

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:${port}"
  auth-enabled = ${authOn}
  log-enabled = false
  max-body-size = 0

[continuous_queries]
  enabled = true
  log-enabled = false

[subscriber]
  enabled = false

[logging]
  level = "warn"
`,
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let stopped = false;
  let stderrTail = '';
  const authHeader = (): Record<string, string> =>
    opts.auth ? { Authorization: `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')}` } : {};

  const waitReady = async (): Promise<void> => {
    const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
    while (Date.now() < deadline) {
      if (!alive(child)) throw new Error(`influxd exited during start-up: ${stderrTail.slice(-800)}`);
      try {
        const res = await fetch(`${baseUrl}/ping`, { signal: AbortSignal.timeout(1000) });
        if (res.status === 204) return;
      } catch {
        /* not yet */
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`influxd did not answer /ping within ${opts.startTimeoutMs ?? 20_000} ms: ${stderrTail.slice(-800)}`);
  };

  const handle: Influxd = {
    port,
    dir,
    baseUrl,
    get running() {
      return alive(child);
    },
    get pid() {
      return alive(child) ? child!.pid : undefined;
    },
    async start() {
      if (stopped) throw new Error('influxd handle was stopped');
      if (alive(child)) return;
      const c = spawn('influxd', ['-config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      child = c;
      live.add(c);
      c.stderr!.on('data', (d: Buffer) => {
        stderrTail = (stderrTail + d.toString()).slice(-4000);
      });
      exited = new Promise((resolve) =>
        c.once('exit', () => {
          live.delete(c);
          resolve();
        }),
      );
      try {
        await waitReady();
      } catch (err) {
        c.kill('SIGKILL');
        await exited;
        throw err;
      }
    },
    async kill() {
      if (alive(child)) {
        child.kill('SIGKILL');
        await exited;
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (alive(child)) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child?.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
    async query(q, db) {
      const body = new URLSearchParams({ q, epoch: 'ms', ...(db ? { db } : {}) });
      const res = await fetch(`${baseUrl}/query`, { method: 'POST', body, headers: authHeader() });
      if (!res.ok) throw new Error(`influx query failed: HTTP ${res.status} ${await res.text()}`);
      return (await res.json()) as InfluxQueryResult;
    },
    async writeLines(db, body, rp) {
      const qs = new URLSearchParams({ db, precision: 'ms', ...(rp ? { rp } : {}) });
      const res = await fetch(`${baseUrl}/write?${qs}`, { method: 'POST', body, headers: authHeader() });
      if (res.status !== 204) throw new Error(`influx write failed: HTTP ${res.status} ${await res.text()}`);
    },
  };

  try {
    await handle.start();
    if (opts.auth) {
      // With no user yet, InfluxDB 1.x lets the first admin be created without credentials.
      const body = new URLSearchParams({
        q: `CREATE USER "${opts.auth.username}" WITH PASSWORD '${opts.auth.password.replace(/'/g, "\\'")}' WITH ALL PRIVILEGES`,
      });
      const res = await fetch(`${baseUrl}/query`, { method: 'POST', body });
      if (!res.ok) throw new Error(`creating the influx admin user failed: HTTP ${res.status} ${await res.text()}`);
    }
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}
