/**
 * Hub nodes of a cluster, each a child process (`test/helpers/hub-child.ts`, i.e. `startHub` as
 * `smokehub start` runs it) with `--postgres`/`--redis` given by env, its own data directory (the
 * same hub.key copied into each), free ports, and its own node id. `seedCluster` enrols a CSV and
 * users into the cluster's PostgreSQL the way `smokehub import --postgres` does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PgRegistryStore } from '../../hub/cluster/pg-registry.ts';
import { HUB_KEY_FILE, loadOrCreateHubKey } from '../../hub/store/credentials.ts';
import { importCsvAsync } from '../../hub/store/csv-import.ts';

export interface HubNode {
  readonly id: string;
  readonly dataDir: string;
  readonly child: ChildProcess;
  readonly mqttUrl: string;
  readonly httpUrl: string;
  readonly mqttPort: number;
  readonly httpPort: number;
  /** kill -9: the node dies (no leases released, no presence written). */
  kill(): Promise<void>;
  /** SIGTERM: a clean stop. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export class HubCluster {
  readonly keyDir = mkdtempSync(join(tmpdir(), 'smokehub-cluster-key-'));
  private readonly nodes: HubNode[] = [];
  private readonly dirs: string[] = [this.keyDir];

  constructor(
    readonly postgresUrl: string,
    readonly redisUrl: string,
    private readonly env: Record<string, string> = {},
  ) {
    loadOrCreateHubKey(this.keyDir);
  }

  /** Enrols `csv` and `users` into PostgreSQL; returns the devices' generated credentials. */
  async seed(
    csv: string,
    users: Array<{ username: string; role: 'station' | 'team-leader' | 'household'; password: string; team?: string; household?: string }>,
  ) {
    const store = await PgRegistryStore.open({ url: this.postgresUrl, hubKey: loadOrCreateHubKey(this.keyDir) });
    try {
      const r = await importCsvAsync(store, csv);
      for (const u of users) await store.addUser(u);
      return r.credentials;
    } finally {
      await store.close();
    }
  }

  /** Starts node `id` (a fresh data directory unless `dataDir` is given: a restart). */
  async start(id: string, opts: { dataDir?: string; env?: Record<string, string> } = {}): Promise<HubNode> {
    const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), `smokehub-${id}-`));
    if (!opts.dataDir) {
      this.dirs.push(dataDir);
      copyFileSync(join(this.keyDir, HUB_KEY_FILE), join(dataDir, HUB_KEY_FILE));
    }
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/hub-child.ts'], {
      env: {
        ...process.env,
        SMOKEHUB_DATA: dataDir,
        SMOKEHUB_HOST: '127.0.0.1',
        SMOKEHUB_MQTT_PORT: '0',
        SMOKEHUB_HTTP_PORT: '0',
        SMOKEHUB_POSTGRES: this.postgresUrl,
        SMOKEHUB_REDIS: this.redisUrl,
        SMOKEHUB_NODE_ID: id,
        ...this.env,
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    live.add(child);
    child.once('exit', () => live.delete(child));
    const line = await new Promise<string>((resolve, reject) => {
      const rl = createInterface({ input: child.stdout! });
      rl.once('line', resolve);
      child.once('exit', (code, signal) => reject(new Error(`hub node ${id} exited with ${code ?? signal} before it listened`)));
      setTimeout(() => reject(new Error(`hub node ${id} did not start within 30 s`)), 30_000).unref();
    });
    const { mqttPort, httpPort } = JSON.parse(line) as { mqttPort: number; httpPort: number };
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    const node: HubNode = {
      id,
      dataDir,
      child,
      mqttPort,
      httpPort,
      mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
      httpUrl: `http://127.0.0.1:${httpPort}`,
      kill: async () => {
        child.kill('SIGKILL');
        await exited;
      },
      stop: async () => {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(t);
      },
    };
    this.nodes.push(node);
    return node;
  }

  /** Every node killed, every directory removed. */
  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** Logs in over HTTP; returns the bearer token. */
export async function login(node: HubNode, username: string, password: string): Promise<string> {
  const r = await fetch(`${node.httpUrl}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (r.status !== 200) throw new Error(`login of ${username} on ${node.id}: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { token: string }).token;
}

export async function api(node: HubNode, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(`${node.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}
