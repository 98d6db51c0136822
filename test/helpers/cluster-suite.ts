/**
 * What the cluster end-to-end files share: one PostgreSQL and one redis-server per file, a fresh
 * database (and Redis db number) per test, hub node processes stopped at the end of each test,
 * and the station user. Call `clusterSuite()` inside a `describe`.
 */
import { after, afterEach, before } from 'node:test';
import pg from 'pg';
import { postgresAvailable, startPostgres, type PostgresServer } from './postgres-server.ts';
import { redisAvailable, startRedis, type RedisServer } from './redis-server.ts';
import { freshDatabase } from './pg-database.ts';
import { HubCluster, type HubNode } from './cluster-hubs.ts';
import { ClientPool } from './mqtt-clients.ts';
import { neighbourhoodCsv } from './hub-harness.ts';

export const STATION = { username: 'station1', role: 'station' as const, password: 'station-password-1' };
export const clusterSkip = (!postgresAvailable() && 'PostgreSQL is not installed') || (!redisAvailable() && 'redis-server is not installed');

/** Polls `check` until it holds (bounded). */
export async function until<T>(check: () => Promise<T | undefined | null | false>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The alarms and timeline rows of a cluster's journal. */
export async function journalRows(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const alarms = (await client.query('SELECT id, state FROM alarms ORDER BY raised_at')).rows;
    const timeline = (await client.query('SELECT alarm_id, transition FROM alarm_timeline ORDER BY at, seq')).rows;
    const seen = (await client.query('SELECT device, event_id FROM seen_events')).rows as Array<{ device: string; event_id: string }>;
    return { alarms, timeline, seen };
  } finally {
    await client.end();
  }
}

export function clusterSuite() {
  let postgres: PostgresServer;
  let redis: RedisServer;
  const clusters: HubCluster[] = [];
  const pool = new ClientPool();
  before(async () => {
    postgres = await startPostgres();
    redis = await startRedis();
  });
  afterEach(async () => {
    await pool.closeAll();
    for (const c of clusters.splice(0)) await c.close();
  });
  after(async () => {
    await pool.closeAll();
    for (const c of clusters) await c.close();
    await redis?.stop();
    await postgres?.stop();
  });
  return {
    pool,
    get postgres() {
      return postgres;
    },
    get redis() {
      return redis;
    },
    /** Nodes on a fresh database and Redis db number; 2 teams of 3 households; verify window 3 s, escalation after 4 s. */
    async cluster(nodes: string[], redisDb: number) {
      const url = freshDatabase(postgres, 'cluster');
      const c = new HubCluster(url, `${redis.url}/${redisDb}`, {
        SMOKEHUB_VERIFY_WINDOW_S: '3',
        SMOKEHUB_ESCALATE_AFTER_S: '4',
        SMOKEHUB_SUPERVISION_WINDOW_S: '600',
      });
      clusters.push(c);
      const creds = await c.seed(neighbourhoodCsv(2, 3), [STATION]);
      const started: HubNode[] = [];
      for (const id of nodes) started.push(await c.start(id));
      const cred = (d: string) => creds.find((x) => x.device === d)!;
      return { c, nodes: started, cred, url };
    },
  };
}
