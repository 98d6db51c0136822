/**
 * The HTTP contract against a real hub: `GET /api/openapi.json` describes every route the hub
 * serves, and what each route answers matches the schema it declares (hub/protocol/http/).
 * Data first: a real smoke alarm from an MQTT detector, a household's answer, the station's
 * acknowledgement and dispatch, a drill, telemetry and notices, so the answers are not empty lists.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from 'typebox/value';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestHub, neighbourhoodCsv, type TestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, sleep } from '../../helpers/mqtt-clients.ts';
import { loadConfig } from '../../../hub/config/config.ts';
import { telemetryExtension } from '../../../hub/telemetry/telemetry-extension.ts';
import { supervisionExtension } from '../../../hub/supervision/supervision-extension.ts';
import { smsExtension } from '../../../hub/sms/sms-extension.ts';
import { importEquipment } from '../../../hub/supervision/equipment-import.ts';
import { addDays, localDate } from '../../../hub/protocol/local-time.ts';

let th: TestHub;
const pool = new ClientPool();
// The default extensions, with a handle on supervision's equipment store (equipment answers are not empty).
const supervision = supervisionExtension();

before(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'smokehub-contract-'));
  const base = { ...loadConfig({ flags: { data: dataDir }, env: {} }), dataDir };
  th = await startTestHub({
    dataDir,
    csv: neighbourhoodCsv(2, 3),
    config: { verifyWindowS: 0 },
    extensions: [telemetryExtension(base), supervision, smsExtension(base)],
  });
  const today = localDate(Date.now(), th.config.timezone);
  const rows = [`t1-h1,extinguisher,EX-1,${addDays(today, 10)}`, 't1-h1,crowbar,,', `t1-h2,extinguisher,EX-2,${addDays(today, -3)}`];
  importEquipment(supervision.handle!.equipment, `household,item,serial,expires\n${rows.join('\n')}\n`, (h) => th.hub.registry.teamOf(h), Date.now());
});
after(async () => {
  await pool.closeAll();
  await th?.stop();
});

type Json = Record<string, any>;

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Resolves `$ref: '#/components/schemas/X'` against the document (the only refs it has). */
function resolveRefs(schema: unknown, doc: Json): unknown {
  if (Array.isArray(schema)) return schema.map((s) => resolveRefs(s, doc));
  if (!schema || typeof schema !== 'object') return schema;
  const o = schema as Json;
  if (typeof o.$ref === 'string') return resolveRefs(doc.components.schemas[o.$ref.replace('#/components/schemas/', '')], doc);
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolveRefs(v, doc)]));
}

function checkAnswer(doc: Json, method: string, path: string, route: string, status: number, body: unknown): void {
  const op = doc.paths[route]?.[method];
  assert.ok(op, `${method.toUpperCase()} ${route} is in the OpenAPI document`);
  const answer = op.responses[String(status)];
  assert.ok(answer, `${method.toUpperCase()} ${path}: status ${status} is documented`);
  const schema = answer.content?.['application/json']?.schema;
  assert.ok(schema, `${method.toUpperCase()} ${route} ${status} has a JSON schema`);
  const s = resolveRefs(schema, doc);
  const errors = [...Value.Errors(s as never, body)].slice(0, 5).map((e) => `${e.instancePath} ${e.message}`);
  assert.deepEqual(errors, [], `${method.toUpperCase()} ${path} → ${status} does not match its schema: ${JSON.stringify(body).slice(0, 400)}`);
}

test('every answer matches its declared schema; the OpenAPI document lists every route', async () => {
  const admin = await th.login('admin', th.adminPassword);
  const api = (path: string, init?: RequestInit) => th.api(admin, path, init);
  const post = (path: string, body: unknown) => api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  const docRes = await fetch(`${th.httpUrl}/api/openapi.json`);
  assert.equal(docRes.status, 200);
  const doc = (await docRes.json()) as Json;
  assert.equal(doc.openapi, '3.1.0');
  for (const [route, ops] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const [method, op] of Object.entries(ops)) {
      assert.ok(op.summary, `${method} ${route} has a summary`);
      assert.ok(Array.isArray(op.security), `${method} ${route} says how it is authenticated`);
    }
  }

  // A detector raises a real alarm; a neighbour answers; the station acknowledges and dispatches.
  const smoke = await pool.device(th.mqttUrl, th.device('t1-h1-smoke'), { clean: true });
  await smoke.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/telemetry', JSON.stringify({ battery: 91, smoke: 4, temperature: 31 }), { qos: 1 });
  await smoke.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: 'contract-1', type: 'smoke' }), { qos: 1 });
  const alarmId = await until('the alarm', async () => {
    const r = await api('/api/alarms?state=open');
    return r.body.alarms?.[0]?.alarm as string | undefined;
  });
  const answers: Array<[string, string, string, number, unknown]> = [];
  const record = (method: string, path: string, route: string, r: { status: number; body: unknown }) => answers.push([method, path, route, r.status, r.body]);

  record(
    'post',
    `/api/alarms/${alarmId}/respond`,
    '/api/alarms/{id}/respond',
    await post(`/api/alarms/${alarmId}/respond`, { household: 't1-h2', response: 'coming' }),
  );
  record('post', `/api/alarms/${alarmId}/acknowledge`, '/api/alarms/{id}/acknowledge', await post(`/api/alarms/${alarmId}/acknowledge`, {}));
  record('post', `/api/alarms/${alarmId}/dispatch`, '/api/alarms/{id}/dispatch', await post(`/api/alarms/${alarmId}/dispatch`, { etaMin: 7, note: 'xe 2' }));
  const drill = await post('/api/drills', { team: 't2' });
  record('post', '/api/drills', '/api/drills', drill);
  record('post', `/api/drills/${drill.body.alarm}/end`, '/api/drills/{id}/end', await post(`/api/drills/${drill.body.alarm}/end`, {}));

  const gets: Array<[string, string]> = [
    ['/api/me', '/api/me'],
    ['/api/households', '/api/households'],
    ['/api/households/t1-h1', '/api/households/{id}'],
    ['/api/alarms', '/api/alarms'],
    [`/api/alarms/${alarmId}`, '/api/alarms/{id}'],
    ['/api/drills', '/api/drills'],
    [`/api/drills/${drill.body.alarm}`, '/api/drills/{id}'],
    ['/api/devices/health', '/api/devices/health'],
    ['/api/households/t1-h1/health', '/api/households/{id}/health'],
    ['/api/households/t1-h1/self-test', '/api/households/{id}/self-test'],
    ['/api/notices', '/api/notices'],
    ['/api/jobs', '/api/jobs'],
    ['/api/reports/daily', '/api/reports/daily'],
    ['/api/supervision/offline', '/api/supervision/offline'],
    ['/api/equipment', '/api/equipment'],
    ['/api/telemetry?household=t1-h1&field=battery', '/api/telemetry'],
    ['/api/households/t1-h1/telemetry/latest', '/api/households/{id}/telemetry/latest'],
    ['/api/telemetry/events?household=t1-h1', '/api/telemetry/events'],
    ['/health', '/health'],
  ];
  // Telemetry reaches its store asynchronously: wait until the series has the reading.
  await until('the telemetry reading', async () => {
    const r = await api('/api/households/t1-h1/telemetry/latest');
    return r.body.devices?.length > 0 ? true : undefined;
  });
  for (const [path, route] of gets) record('get', path, route, await api(path));

  for (const [method, path, route, status, body] of answers) {
    assert.ok(status < 300, `${method.toUpperCase()} ${path} → ${status} ${JSON.stringify(body).slice(0, 200)}`);
    checkAnswer(doc, method, path, route, status, body);
  }
  // The lists the dashboard draws are not empty: the schemas were checked against real items.
  const body = (route: string) => answers.find((a) => a[2] === route)![4] as Json;
  assert.ok(body('/api/alarms').alarms.length >= 2);
  assert.ok(body('/api/alarms/{id}').timeline.length >= 3);
  assert.equal(body('/api/devices/health').devices.length, 12);
  // Equipment with its days left and the reminder's horizon (the dashboard's expiring/expired badges).
  const hh = body('/api/households/{id}/health');
  assert.deepEqual(
    hh.equipment.map((e: Json) => [e.item, e.daysLeft]),
    [
      ['crowbar', null],
      ['extinguisher', 10],
    ],
  );
  assert.equal(hh.horizonDays, 30);
  const eq = body('/api/equipment');
  assert.equal(eq.horizonDays, 30);
  assert.deepEqual(
    eq.items.map((e: Json) => [e.household, e.item, e.daysLeft]),
    [
      ['t1-h1', 'crowbar', null],
      ['t1-h1', 'extinguisher', 10],
      ['t1-h2', 'extinguisher', -3],
    ],
  );

  // Every route the hub answers is documented, and nothing else: what the table holds is what it serves.
  const documented = Object.entries(doc.paths as Record<string, Json>).flatMap(([route, ops]) => Object.keys(ops).map((m) => `${m} ${route}`));
  for (const [method, , route] of answers) assert.ok(documented.includes(`${method} ${route}`), `${method} ${route}`);
  for (const extra of ['post /api/login', 'post /api/logout', 'get /metrics', 'get /api/openapi.json', 'post /api/alarms/{id}/resolve']) {
    assert.ok(documented.includes(extra), extra);
  }
  const served = new Set(answers.map(([m, , r]) => `${m} ${r}`));
  const undocumentedServed = [...served].filter((x) => !documented.includes(x));
  assert.deepEqual(undocumentedServed, []);
});

test('a request that breaks its route schema is refused with the hub’s codes, before the handler', async () => {
  const admin = await th.login('admin', th.adminPassword);
  const post = (path: string, body: string) =>
    fetch(`${th.httpUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body });
  const badEta = await post('/api/alarms/x/dispatch', JSON.stringify({ etaMin: 999 }));
  assert.equal(badEta.status, 400);
  const j = (await badEta.json()) as Json;
  assert.equal(j.error, 'bad_field');
  assert.match(j.message, /etaMin/);
  const badResponse = await post('/api/alarms/x/respond', JSON.stringify({ response: 'maybe' }));
  assert.equal(badResponse.status, 400);
  assert.equal(((await badResponse.json()) as Json).error, 'bad_field');
  const noBody = await post('/api/drills', '');
  assert.equal(noBody.status, 400);
  const longName = await fetch(`${th.httpUrl}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'x'.repeat(65), password: 'p' }),
  });
  assert.equal(longName.status, 400);
  assert.equal(((await longName.json()) as Json).error, 'bad_field');
});
