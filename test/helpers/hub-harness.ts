/**
 * Starts a real hub in this process on free ports with a temp data dir, enrols a small
 * neighbourhood from CSV, and stops everything (and removes the dir) in `stop()`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type HubConfig } from '../../hub/config/config.ts';
import { startHub, type RunningHub, type StartHubOptions } from '../../hub/app/hub.ts';
import type { Clock } from '../../hub/core/clock.ts';
import type { HubExtension } from '../../hub/app/context.ts';
import { importCsv } from '../../hub/store/csv-import.ts';
import { SqliteRegistryStore } from '../../hub/store/registry-store.ts';
import { createLogger, silentLogger } from '../../hub/observability/logger.ts';

export interface Credential {
  household: string;
  device: string;
  secret: string;
}

export interface TestHub {
  hub: RunningHub;
  config: HubConfig;
  mqttUrl: string;
  wsUrl: string;
  httpUrl: string;
  /** The TLS ports (certificate: DATA/tls/ca.pem, unless the test gave its own). */
  mqttsUrl: string;
  wssUrl: string;
  httpsUrl: string;
  dataDir: string;
  credentials: Credential[];
  adminPassword: string;
  /** The credential of a device by id. */
  device(id: string): Credential;
  /** Logs in over HTTP (asserts 200) and returns the session token. */
  login(username: string, password: string): Promise<string>;
  /** An API call with a bearer token; the body parsed as JSON (null when empty). */
  api(token: string, path: string, init?: RequestInit): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

/**
 * A neighbourhood CSV: `teams` teams (t1, t2, ...) of `perTeam` households (t1-h1, ...), each with a
 * smoke detector (…-smoke) and a panic button (…-panic); secrets blank (generated).
 */
export function neighbourhoodCsv(teams = 2, perTeam = 3): string {
  const rows = ['team,household,name,address,phone,lat,lon,device,kind,secret'];
  for (let t = 1; t <= teams; t++) {
    for (let h = 1; h <= perTeam; h++) {
      const id = `t${t}-h${h}`;
      const lat = (20.95 + t * 0.01 + h * 0.0003).toFixed(6);
      const lon = (107.08 + h * 0.0003).toFixed(6);
      const name = `Nhà Nguyễn ${t}.${h}`;
      const address = `"${h} Lê Lợi, tổ ${t}"`;
      const phone = `09${String(t).padStart(4, '0')}${String(h).padStart(4, '0')}`; // 0900010002: a valid local mobile number
      rows.push(`t${t},${id},${name},${address},${phone},${lat},${lon},${id}-smoke,smoke,`);
      rows.push(`t${t},${id},${name},${address},${phone},${lat},${lon},${id}-panic,panic,`);
    }
  }
  return rows.join('\n') + '\n';
}

export async function startTestHub(
  opts: {
    config?: Partial<HubConfig>;
    csv?: string;
    clock?: Clock;
    extensions?: HubExtension[];
    dataDir?: string;
    fsyncFile?: StartHubOptions['fsyncFile'];
    loginRefusalFloorMs?: number;
  } = {},
): Promise<TestHub> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'smokehub-test-'));
  const config: HubConfig = {
    ...loadConfig({ flags: { data: dataDir }, env: {} }),
    host: '127.0.0.1',
    mqttPort: 0,
    httpPort: 0,
    mqttsPort: 0,
    httpsPort: 0,
    verifyWindowS: 0,
    ...opts.config,
  };
  const logger = process.env.SMOKEHUB_TEST_LOG ? createLogger({ level: process.env.SMOKEHUB_TEST_LOG }) : silentLogger();
  const hub = await startHub(config, {
    clock: opts.clock,
    logger,
    extensions: opts.extensions,
    fsyncFile: opts.fsyncFile,
    loginRefusalFloorMs: opts.loginRefusalFloorMs,
  });
  let credentials: Credential[] = [];
  try {
    if (!(hub.registry instanceof SqliteRegistryStore)) throw new Error('the hub harness starts a single box');
    credentials = importCsv(hub.registry, opts.csv ?? neighbourhoodCsv()).credentials;
  } catch (err) {
    await hub.stop();
    throw err;
  }
  let adminPassword = hub.adminPassword;
  if (!adminPassword) {
    adminPassword = (await hub.registry.setPassword('admin', 'admin-password-for-tests')).password;
  }
  const keep = Boolean(opts.dataDir);
  return {
    hub,
    config,
    mqttUrl: `mqtt://127.0.0.1:${hub.mqttPort}`,
    wsUrl: `ws://127.0.0.1:${hub.httpPort}/mqtt`,
    httpUrl: `http://127.0.0.1:${hub.httpPort}`,
    mqttsUrl: `mqtts://127.0.0.1:${hub.mqttsPort}`,
    wssUrl: `wss://127.0.0.1:${hub.httpsPort}/mqtt`,
    httpsUrl: `https://127.0.0.1:${hub.httpsPort}`,
    dataDir,
    credentials,
    adminPassword,
    device(id: string): Credential {
      const c = credentials.find((x) => x.device === id);
      if (!c) throw new Error(`no credential for device ${id}`);
      return c;
    },
    async login(username: string, password: string): Promise<string> {
      const r = await fetch(`http://127.0.0.1:${hub.httpPort}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      if (r.status !== 200) throw new Error(`login of ${username} answered ${r.status}: ${await r.text()}`);
      return (await r.json()).token;
    },
    async api(token: string, path: string, init: RequestInit = {}) {
      const r = await fetch(`http://127.0.0.1:${hub.httpPort}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
      });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : null };
    },
    async stop() {
      await hub.stop();
      if (!keep) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
