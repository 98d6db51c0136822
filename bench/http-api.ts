/**
 * HTTP API throughput: `GET /api/alarms?limit=100` (the station's history list: 100 closed drills,
 * read from the journal, scoped, serialised) and `GET /health`, logged in with a bearer token,
 * driven by autocannon (BENCH_HTTP_CONNECTIONS connections, BENCH_HTTP_S seconds each).
 * Baseline, same run: a bare node:http server answering the same bytes (what the machine gives
 * with no framework, no journal and no auth), so the ratio says what the hub's HTTP stack costs
 * and is comparable between runs on a noisy machine.
 *
 * Writes bench/results/http-api.json (BENCH_HTTP_RESULTS=FILE elsewhere).
 */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startHubProcess, stopHubProcess, writeResults, runAsMain } from './lib/hub-process.ts';
import { printTable, round } from './lib/stats.ts';

const SECONDS = Number(process.env.BENCH_HTTP_S ?? 10);
const CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 10);
const DRILLS = 100;

async function api(port: number, method: string, path: string, token: string | null, body?: unknown): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text };
}

async function drive(name: string, url: string, headers: Record<string, string>): Promise<Record<string, string | number>> {
  const r = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, headers });
  return {
    target: name,
    req_per_s_mean: round(r.requests.average, 0),
    latency_p50_ms: round(r.latency.p50, 2),
    latency_p99_ms: round(r.latency.p99, 2),
    non_2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

export async function run(): Promise<unknown> {
  const dataDir = mkdtempSync(join(tmpdir(), 'smokehub-bench-http-'));
  const csv = join(dataDir, 'homes.csv');
  const lines = ['team,household,name,address,phone,lat,lon,device,kind,secret'];
  for (let h = 0; h < 10; h++) lines.push(`T1,H${h},Nhà ${h},${h} Lê Lợi,,10.77,106.70,D${h},smoke,`);
  writeFileSync(csv, lines.join('\n') + '\n');
  execFileSync(process.execPath, ['--import', 'tsx', 'hub/cli/main.ts', 'import', csv, '--data', dataDir], { stdio: 'ignore' });
  const hub = await startHubProcess(dataDir);
  let plain: ReturnType<typeof createServer> | null = null;
  const rows: Array<Record<string, string | number>> = [];
  try {
    const login = await api(hub.httpPort, 'POST', '/api/login', null, { username: 'admin', password: hub.adminPassword });
    if (login.status !== 200) throw new Error(`login: ${login.status} ${login.text}`);
    const token = login.json.token as string;
    for (let i = 0; i < DRILLS; i++) {
      const d = await api(hub.httpPort, 'POST', '/api/drills', token, { team: 'T1', household: `H${i % 10}` });
      if (d.status !== 201) throw new Error(`drill: ${d.status} ${d.text}`);
      const end = await api(hub.httpPort, 'POST', `/api/drills/${d.json.alarm}/end`, token, {});
      if (end.status !== 200) throw new Error(`end drill: ${end.status} ${end.text}`);
    }
    const list = await api(hub.httpPort, 'GET', '/api/alarms?limit=100', token);
    if (list.status !== 200 || list.json.alarms.length !== DRILLS) throw new Error(`list: ${list.status} ${list.text.slice(0, 200)}`);
    const bytes = Buffer.from(list.text);
    plain = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(bytes);
    });
    await new Promise<void>((r) => plain!.listen(0, '127.0.0.1', () => r()));
    const plainPort = (plain.address() as { port: number }).port;
    const auth = { authorization: `Bearer ${token}` };
    rows.push(await drive('plain node:http, same bytes (baseline)', `http://127.0.0.1:${plainPort}/`, {}));
    rows.push(await drive('hub GET /api/alarms?limit=100', `http://127.0.0.1:${hub.httpPort}/api/alarms?limit=100`, auth));
    rows.push(await drive('hub GET /health', `http://127.0.0.1:${hub.httpPort}/health`, {}));
    const base = Number(rows[0]!.req_per_s_mean);
    for (const r of rows) r.ratio_to_baseline = round(Number(r.req_per_s_mean) / base, 3);
    printTable(`HTTP API throughput (${CONNECTIONS} connections, ${SECONDS} s each; /api/alarms answers ${bytes.length} bytes)`, rows);
    const out = { seconds: SECONDS, connections: CONNECTIONS, alarmsBodyBytes: bytes.length, rows };
    writeResults(process.env.BENCH_HTTP_RESULTS ?? 'bench/results/http-api.json', out);
    return out;
  } finally {
    plain?.close();
    await stopHubProcess(hub.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

runAsMain(import.meta.url, run);
