/**
 * `GET /api/devices/health` for a province: 16,000 households in 1,600 teams enrolled through
 * importCsv, each with a smoke detector and a panic button (32,000 devices), after a weekly
 * self-test round (16,000 results) and battery telemetry from real MQTT clients. The answer is
 * checked for correctness only; the time per request is reported as a diagnostic (speed figures
 * are not asserted in tests).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { request } from 'node:http';
import { startTestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, sleep } from '../../helpers/mqtt-clients.ts';
import { supervisionExtension } from '../../../hub/supervision/supervision-extension.ts';

const TEAMS = 1600;
const PER_TEAM = 10;

function provinceCsv(): string {
  const rows = ['team,household,name,address,phone,lat,lon,device,kind,secret'];
  for (let t = 0; t < TEAMS; t++) {
    for (let h = 0; h < PER_TEAM; h++) {
      const id = `p${t}-${h}`;
      const lat = (20.9 + Math.floor(t / 40) * 0.009 + (h % 4) * 0.0004).toFixed(6);
      const lon = (107.0 + (t % 40) * 0.0095 + Math.floor(h / 4) * 0.0004).toFixed(6);
      const phone = `0900${String(t * 10 + h).padStart(6, '0')}`;
      rows.push(`T${t},${id},Nhà ${id},${h + 1} Trần Phú,${phone},${lat},${lon},${id}-s,smoke,secret-${id}-s-0123456789abcdef`);
      rows.push(`T${t},${id},Nhà ${id},${h + 1} Trần Phú,${phone},${lat},${lon},${id}-p,panic,secret-${id}-p-0123456789abcdef`);
    }
  }
  return rows.join('\n') + '\n';
}

/** GET with gzip accepted, as a browser asks; returns status, wire bytes, parsed body and elapsed ms. */
function getGzip(url: string, token: string): Promise<{ status: number; wireBytes: number; gzip: boolean; body: any; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(url, { headers: { authorization: `Bearer ${token}`, 'accept-encoding': 'gzip' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const ms = performance.now() - t0;
        const raw = Buffer.concat(chunks);
        const gzip = res.headers['content-encoding'] === 'gzip';
        const text = (gzip ? gunzipSync(raw) : raw).toString('utf8');
        resolve({ status: res.statusCode ?? 0, wireBytes: raw.length, gzip, body: JSON.parse(text), ms });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

test('32,000 devices in one bulk answer, correct after a self-test round and battery telemetry', { timeout: 120_000 }, async (t) => {
  const ext = supervisionExtension({ sweepIntervalMs: 200 });
  const t0 = Date.now();
  const hub = await startTestHub({ csv: provinceCsv(), config: { selfTestTimeoutS: 6, supervisionWindowS: 600 }, extensions: [ext] });
  const pool = new ClientPool();
  t.after(async () => {
    await pool.closeAll();
    await hub.stop();
  });
  const importMs = Date.now() - t0;

  // Two detectors report their battery; one of them answers the self-test round. The round sends
  // 16,000 commands: its answer window is 6 s (1 s missed the one answer once on a loaded machine).
  const a = await pool.device(hub.mqttUrl, { device: 'p7-3-s', secret: 'secret-p7-3-s-0123456789abcdef' });
  const b = await pool.device(hub.mqttUrl, { device: 'p1599-9-s', secret: 'secret-p1599-9-s-0123456789abcdef' });
  await a.subscribeAsync('smokehub/h/p7-3/d/p7-3-s/cmd', { qos: 1 });
  a.on('message', (_topic, payload) => {
    const cmd = JSON.parse(payload.toString());
    if (cmd.cmd === 'test') void a.publishAsync('smokehub/h/p7-3/d/p7-3-s/event', JSON.stringify({ id: `st-${cmd.round}`, type: 'test' }), { qos: 1 });
  });
  await a.publishAsync('smokehub/h/p7-3/d/p7-3-s/telemetry', JSON.stringify({ battery: 64 }), { qos: 1 });
  await b.publishAsync('smokehub/h/p1599-9/d/p1599-9-s/telemetry', JSON.stringify({ battery: 9 }), { qos: 1 });
  await b.publishAsync('smokehub/h/p1599-9/d/p1599-9-s/event', JSON.stringify({ id: 'f-1', type: 'fault' }), { qos: 1 });
  const run = await ext.handle!.jobs.runNow('self-test');
  assert.equal(run.outcome, 'ok', run.error ?? '');
  assert.deepEqual([(run.summary as any).expected, (run.summary as any).passed], [16_000, 1]);

  const login = await fetch(`${hub.httpUrl}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: hub.adminPassword }),
  });
  const token = ((await login.json()) as { token: string }).token;
  await sleep(300); // battery and fault listeners ran long ago; let one sweep persist them too

  const times: number[] = [];
  let last: Awaited<ReturnType<typeof getGzip>> | null = null;
  for (let i = 0; i < 7; i++) {
    last = await getGzip(`${hub.httpUrl}/api/devices/health`, token);
    assert.equal(last.status, 200);
    times.push(last.ms);
  }
  const r = last!;
  assert.equal(r.gzip, true, 'a large answer is compressed for a client that accepts gzip');
  const devices = r.body.devices as any[];
  assert.equal(devices.length, 32_000);
  assert.equal(new Set(devices.map((d) => d.device)).size, 32_000);
  for (let i = 1; i < devices.length; i++) assert.ok(devices[i - 1].device < devices[i].device, 'sorted by device id');
  const by = new Map(devices.map((d) => [d.device, d]));
  assert.deepEqual(by.get('p7-3-s'), {
    ...by.get('p7-3-s'),
    household: 'p7-3',
    team: 'T7',
    kind: 'smoke',
    online: true,
    supervision: 'ok',
    battery: 64,
    fault: false,
  });
  assert.equal(by.get('p7-3-s').lastTest.outcome, 'pass');
  assert.deepEqual(
    [by.get('p1599-9-s').battery, by.get('p1599-9-s').fault, by.get('p1599-9-s').lastTest.outcome, by.get('p1599-9-s').lastTest.reason],
    [9, true, 'fail', 'no-answer'],
  );
  assert.equal(devices.filter((d) => d.kind === 'smoke' && d.lastTest?.outcome === 'fail').length, 15_999);
  assert.equal(devices.filter((d) => d.kind === 'panic' && d.lastTest === null).length, 16_000);
  assert.equal(devices.filter((d) => d.battery !== null).length, 2);

  // One team and one household, scoped the same way.
  const team = await getGzip(`${hub.httpUrl}/api/devices/health?team=T1599`, token);
  assert.equal(team.body.devices.length, 20);
  assert.ok(team.body.devices.every((d: any) => d.team === 'T1599'));
  assert.equal(team.body.devices.find((d: any) => d.device === 'p1599-9-s').battery, 9);

  const warm = times.slice(1).sort((x, y) => x - y);
  t.diagnostic(
    `import of 16,000 households ${importMs} ms; GET /api/devices/health (32,000 devices, ${(r.wireBytes / 1024).toFixed(0)} KB gzip on the wire): ` +
      `first ${times[0]!.toFixed(1)} ms, then median ${((warm[2]! + warm[3]!) / 2).toFixed(1)} ms (min ${warm[0]!.toFixed(1)}, max ${warm[5]!.toFixed(1)}) over 6; one team: ${team.ms.toFixed(1)} ms`,
  );
});
