/**
 * `/metrics` is public only on a hub bound to loopback or with `--metrics-public`; otherwise it needs
 * a station login (bearer session token or cookie) or the configured `--metrics-token` (what
 * Prometheus sends as `Authorization: Bearer …`). Real hubs bound to 0.0.0.0 and to 127.0.0.1.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopbackHost, metricsAccessFor } from '../../../hub/http/health-routes.ts';
import { ConfigError } from '../../../hub/protocol/errors.ts';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';

const TOKEN = 'prometheus-scrape-token-0123456789';

test('who may read /metrics, from the configuration', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'hub.local', '128.0.0.1']) assert.equal(isLoopbackHost(h), false, h);
  assert.deepEqual(metricsAccessFor({ host: '127.0.0.1', metricsPublic: false, metricsToken: null }), { public: true, token: null });
  assert.deepEqual(metricsAccessFor({ host: '0.0.0.0', metricsPublic: false, metricsToken: null }), { public: false, token: null });
  assert.deepEqual(metricsAccessFor({ host: '0.0.0.0', metricsPublic: true, metricsToken: null }), { public: true, token: null });
  assert.throws(() => metricsAccessFor({ host: '0.0.0.0', metricsPublic: false, metricsToken: 'short' }), ConfigError);
  assert.throws(() => metricsAccessFor({ host: '0.0.0.0', metricsPublic: false, metricsToken: 'has a space in it 1234' }), ConfigError);
});

let lan: TestHub;
let open: TestHub;
let loopback: TestHub;
before(async () => {
  lan = await startTestHub({ config: { host: '0.0.0.0', metricsToken: TOKEN } });
  await lan.hub.registry.addUser({ username: 'lead1', role: 'team-leader', team: 't1', password: 'leader-password-1' });
  await lan.hub.registry.addUser({ username: 'home11', role: 'household', household: 't1-h1', password: 'household-password' });
  open = await startTestHub({ config: { host: '0.0.0.0', metricsPublic: true } });
  loopback = await startTestHub();
});
after(async () => {
  await lan?.stop();
  await open?.stop();
  await loopback?.stop();
});

const get = (th: TestHub, headers: Record<string, string> = {}) =>
  fetch(`${th.httpUrl}/metrics`, { headers }).then(async (r) => ({ status: r.status, type: r.headers.get('content-type'), text: await r.text() }));

test('a hub bound beyond loopback: /metrics needs the station or the metrics token', async () => {
  const anonymous = await get(lan);
  assert.equal(anonymous.status, 401);
  assert.doesNotMatch(anonymous.text, /smokehub_/, 'no metrics leak in the refusal');
  assert.equal((await get(lan, { authorization: 'Bearer wrong-token-0123456789abcdef' })).status, 401);
  assert.equal((await get(lan, { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` })).status, 401);

  const scraped = await get(lan, { authorization: `Bearer ${TOKEN}` });
  assert.equal(scraped.status, 200);
  assert.match(scraped.type ?? '', /^text\/plain; version=0\.0\.4/);
  assert.match(scraped.text, /^smokehub_connections_open\{kind="web"\} \d+$/m);

  const station = await lan.login('admin', lan.adminPassword);
  assert.equal((await get(lan, { authorization: `Bearer ${station}` })).status, 200);
  assert.equal((await get(lan, { cookie: `smokehub_session=${station}` })).status, 200, 'the dashboard with its cookie');
  const leader = await lan.login('lead1', 'leader-password-1');
  const household = await lan.login('home11', 'household-password');
  assert.equal((await get(lan, { authorization: `Bearer ${leader}` })).status, 403);
  assert.equal((await get(lan, { authorization: `Bearer ${household}` })).status, 403);
  // /health stays public (supervisors); the refusals are counted.
  assert.equal((await fetch(`${lan.httpUrl}/health`)).status, 200);
  assert.equal(lan.hub.ctx.metrics.counter('smokehub_http_rejects_total', '').get({ reason: 'bad_credentials' }), 3);
});

test('--metrics-public, or a hub bound to loopback: /metrics without credentials', async () => {
  assert.equal((await get(open)).status, 200);
  const local = await get(loopback);
  assert.equal(local.status, 200);
  assert.match(local.text, /^smokehub_open_files_limit /m);
});
