/** The HTTP server on a real port with a real SQLite registry. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { openDatabase, type Db } from '../../../hub/store/database.ts';
import { SqliteRegistryStore } from '../../../hub/store/registry-store.ts';
import { importCsv } from '../../../hub/store/csv-import.ts';
import { Router } from '../../../hub/http/router.ts';
import { createHttpServer } from '../../../hub/http/http-server.ts';
import { registerRegistryRoutes } from '../../../hub/http/registry-routes.ts';
import { LoginChecker } from '../../../hub/auth/login-checker.ts';
import { MetricsRegistry } from '../../../hub/observability/metrics.ts';
import { silentLogger } from '../../../hub/observability/logger.ts';
import { systemClock } from '../../../hub/core/clock.ts';

const HEADER = 'team,household,name,address,phone,lat,lon,device,kind,secret';
const PW = { admin: 'station password 1', lead: 'team lead password', home: 'household password' };

let root: string;
let db: Db;
let store: SqliteRegistryStore;
let server: Server;
let base: string;
let port: number;
const metrics = new MetricsRegistry();
const BIG_JS = 'export const x = ' + JSON.stringify('smoke '.repeat(2000)) + ';\n';

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'smokehub-http-'));
  const dataDir = join(root, 'data');
  const staticDir = join(root, 'www');
  mkdirSync(join(staticDir, 'assets'), { recursive: true });
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>smokehub</title><div id=app></div>');
  writeFileSync(join(staticDir, 'assets', 'app-3f9a1c.js'), BIG_JS);
  writeFileSync(join(staticDir, 'assets', 'style-77aa.css'), 'body{color:red}');
  // As `npm run build` leaves it: a precompressed copy next to the file.
  writeFileSync(join(staticDir, 'assets', 'pre-5b1e.js'), BIG_JS);
  writeFileSync(join(staticDir, 'assets', 'pre-5b1e.js.gz'), gzipSync(BIG_JS));
  writeFileSync(join(root, 'secret.txt'), 'TOP SECRET');
  db = openDatabase(dataDir);
  store = new SqliteRegistryStore(db, { dataDir });
  importCsv(
    store,
    [
      HEADER,
      'T1,H1,Nhà A,1 Lê Lợi,,16.4,107.5,D1,smoke,',
      'T1,H1,Nhà A,1 Lê Lợi,,16.4,107.5,D2,panic,',
      'T1,H2,Nhà B,2 Lê Lợi,,,,D3,heat,',
      'T2,H3,Nhà C,3 Lê Lợi,,,,D4,co,',
    ].join('\n'),
  );
  await store.addUser({ username: 'admin', role: 'station', password: PW.admin });
  await store.addUser({ username: 'lead', role: 'team-leader', team: 'T1', password: PW.lead });
  await store.addUser({ username: 'home', role: 'household', household: 'H1', password: PW.home });
  const router = new Router();
  registerRegistryRoutes(router, {
    registry: store,
    metrics,
    clock: systemClock,
    startedAt: Date.now() - 5000,
    deviceStatus: (id) => (id === 'D1' ? { online: true, lastSeen: 1234 } : { online: false, lastSeen: null }),
  });
  router.post('/api/echo', (req) => ({ body: { got: req.body, user: req.user!.username } }));
  router.post('/api/station-only', () => ({ body: { ok: true } }), { roles: ['station'] });
  router.get('/api/boom', () => {
    throw new Error('handler bug');
  });
  server = createHttpServer({
    router,
    sessions: store,
    logger: silentLogger(),
    metrics,
    staticDir,
    logins: new LoginChecker({
      verifyPassword: (u, p) => store.verifyUserPassword(u, p),
      clock: systemClock,
      logger: silentLogger(),
      metrics,
      guard: { address: { freeFailures: 3, baseDelayMs: 60_000 }, user: { freeFailures: 1000 } },
      refusalFloorMs: 0,
    }),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
  base = `http://127.0.0.1:${port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  db.close();
  rmSync(root, { recursive: true, force: true });
});

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  json: () => any;
}

/** A raw HTTP request: the path and headers are sent exactly as given. */
function raw(method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const b = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, body: b, text: b.toString('utf8'), json: () => JSON.parse(b.toString('utf8')) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function login(username: string, password: string): Promise<{ token: string; cookie: string }> {
  const res = await raw('POST', '/api/login', { 'Content-Type': 'application/json' }, JSON.stringify({ username, password }));
  assert.equal(res.status, 200, res.text);
  const setCookie = String(res.headers['set-cookie']);
  return { token: res.json().token, cookie: setCookie.split(';')[0]! };
}

test('health and metrics are public', async () => {
  const h = await fetch(`${base}/health`);
  assert.equal(h.status, 200);
  const body = (await h.json()) as { status: string; uptimeS: number; version: string };
  assert.equal(body.status, 'ok');
  assert.ok(body.uptimeS >= 5);
  assert.equal(body.version, '0.1.0');
  const m = await fetch(`${base}/metrics`);
  assert.equal(m.status, 200);
  assert.equal(m.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  const text = await m.text();
  assert.match(text, /# TYPE smokehub_http_requests_total counter/);
  assert.match(text, /smokehub_http_requests_total\{route="\/health",status="200"\} 1/);
});

test('login sets an HttpOnly SameSite=Strict cookie; cookie and bearer both authenticate; logout revokes', async () => {
  const res = await raw('POST', '/api/login', { 'Content-Type': 'application/json' }, JSON.stringify({ username: 'lead', password: PW.lead }));
  assert.equal(res.status, 200);
  const body = res.json();
  assert.deepEqual(body.user, { username: 'lead', role: 'team-leader', team: 'T1', household: null });
  assert.match(body.token, /^[A-Za-z0-9_-]{40,}$/);
  const setCookie = String(res.headers['set-cookie']);
  assert.match(setCookie, /^smokehub_session=[A-Za-z0-9_-]+; HttpOnly; SameSite=Strict; Path=\/; Max-Age=604800$/);
  const cookie = setCookie.split(';')[0]!;

  const viaCookie = await raw('GET', '/api/me', { Cookie: cookie });
  assert.equal(viaCookie.status, 200);
  assert.equal(viaCookie.json().user.username, 'lead');
  const viaBearer = await raw('GET', '/api/me', { Authorization: `Bearer ${body.token}` });
  assert.equal(viaBearer.json().user.role, 'team-leader');

  const out = await raw('POST', '/api/logout', { Cookie: cookie, 'Content-Type': 'application/json' });
  assert.equal(out.status, 200);
  assert.match(String(out.headers['set-cookie']), /smokehub_session=; .*Max-Age=0/);
  const after = await raw('GET', '/api/me', { Authorization: `Bearer ${body.token}` });
  assert.equal(after.status, 401);
  assert.equal(after.json().error, 'bad_credentials');
});

test('401 without credentials or with a bad token; 403 for the wrong role', async () => {
  const none = await raw('GET', '/api/households');
  assert.equal(none.status, 401);
  assert.deepEqual(Object.keys(none.json()), ['error', 'message']);
  assert.equal((await raw('GET', '/api/households', { Authorization: 'Bearer nope' })).status, 401);
  assert.equal((await raw('GET', '/api/households', { Cookie: 'smokehub_session=nope' })).status, 401);
  const { token } = await login('lead', PW.lead);
  const r = await raw('POST', '/api/station-only', { Authorization: `Bearer ${token}` });
  assert.equal(r.status, 403);
  assert.equal(r.json().error, 'forbidden');
});

test('wrong passwords: 401 with the same answer for unknown users; repeated failures from one IP get 429 + Retry-After', async () => {
  const bad = await raw('POST', '/api/login', { 'Content-Type': 'application/json' }, JSON.stringify({ username: 'admin', password: 'wrong password' }));
  assert.equal(bad.status, 401);
  const unknown = await raw('POST', '/api/login', { 'Content-Type': 'application/json' }, JSON.stringify({ username: 'ghost', password: 'wrong password' }));
  assert.equal(unknown.status, 401);
  assert.equal(unknown.json().message, bad.json().message);
  const third = await raw('POST', '/api/login', { 'Content-Type': 'application/json' }, JSON.stringify({ username: 'admin', password: 'wrong again' }));
  assert.equal(third.status, 401);
  // Blocked now, even with the right password.
  const blocked = await raw('POST', '/api/login', { 'Content-Type': 'application/json' }, JSON.stringify({ username: 'admin', password: PW.admin }));
  assert.equal(blocked.status, 429);
  assert.equal(blocked.json().error, 'rate_limited');
  assert.ok(Number(blocked.headers['retry-after']) >= 59);
  assert.match(await (await fetch(`${base}/metrics`)).text(), /smokehub_http_logins_total\{result="throttled"\} 1/);
});

test('bad bodies: 400 for bad JSON and wrong fields, 413 for oversize', async () => {
  const { token } = await loginAfterReset();
  const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
  const badJson = await raw('POST', '/api/echo', auth, '{"a":');
  assert.equal(badJson.status, 400);
  assert.equal(badJson.json().error, 'bad_json');
  const ok = await raw('POST', '/api/echo', auth, JSON.stringify({ a: 'Nhà' }));
  assert.deepEqual(ok.json(), { got: { a: 'Nhà' }, user: 'admin' });
  // Prototype poisoning: keys that would reach an object's prototype are refused, never handed on.
  for (const poison of ['{"__proto__":{"admin":true}}', '{"a":{"constructor":{"prototype":{"admin":true}}}}']) {
    const r = await raw('POST', '/api/echo', auth, poison);
    assert.equal(r.status, 400, poison);
    assert.equal(r.json().error, 'bad_json');
  }
  const big = await raw('POST', '/api/echo', auth, JSON.stringify({ a: 'x'.repeat(70 * 1024) }));
  assert.equal(big.status, 413);
  assert.equal(big.json().error, 'oversize');
  // Chunked (no Content-Length): refused while streaming, and the 413 still reaches the client.
  const chunked = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/api/echo', headers: auth, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    for (let i = 0; i < 8; i++) req.write('"' + 'y'.repeat(16 * 1024));
    req.end('"');
  });
  assert.equal(chunked, 413);
  const badLogin = await raw('POST', '/api/login', { 'Content-Type': 'application/json' }, JSON.stringify({ username: 42 }));
  assert.equal(badLogin.status, 400);
  assert.equal(badLogin.json().error, 'bad_field');
  const formLogin = await raw('POST', '/api/login', { 'Content-Type': 'application/x-www-form-urlencoded' }, 'username=admin&password=x');
  assert.equal(formLogin.status, 400);
});

/** The per-IP throttle blocked 127.0.0.1 in the test above; log in through a store session instead. */
async function loginAfterReset(): Promise<{ token: string }> {
  return { token: store.createSession('admin').token };
}

test('unknown /api paths are 404 JSON, a wrong method is 405, a handler bug is a logged 500 and the server lives on', async () => {
  const { token } = await loginAfterReset();
  const nf = await raw('GET', '/api/nope', { Authorization: `Bearer ${token}` });
  assert.equal(nf.status, 404);
  assert.equal(nf.json().error, 'not_found');
  const mm = await raw('DELETE', '/api/households', { Authorization: `Bearer ${token}` });
  assert.equal(mm.status, 405);
  assert.equal(mm.json().error, 'method_not_allowed');
  const boom = await raw('GET', '/api/boom', { Authorization: `Bearer ${token}` });
  assert.equal(boom.status, 500);
  assert.deepEqual(boom.json(), { error: 'internal', message: 'internal error; see the hub log' });
  assert.equal((await raw('GET', '/health')).status, 200);
});

test('CSRF: cookie-authenticated state changes need JSON and a same-origin Origin; bearer requests are exempt', async () => {
  const { token } = await loginAfterReset();
  const cookie = `smokehub_session=${token}`;
  const form = await raw('POST', '/api/echo', { Cookie: cookie, 'Content-Type': 'text/plain' }, '{"a":1}');
  assert.equal(form.status, 403);
  assert.match(form.json().message, /application\/json/);
  const noType = await raw('POST', '/api/echo', { Cookie: cookie });
  assert.equal(noType.status, 403);
  const evil = await raw('POST', '/api/echo', { Cookie: cookie, 'Content-Type': 'application/json', Origin: 'http://evil.example' }, '{"a":1}');
  assert.equal(evil.status, 403);
  assert.match(evil.json().message, /cross-origin/);
  const nullOrigin = await raw('POST', '/api/echo', { Cookie: cookie, 'Content-Type': 'application/json', Origin: 'null' }, '{"a":1}');
  assert.equal(nullOrigin.status, 403);
  const same = await raw('POST', '/api/echo', { Cookie: cookie, 'Content-Type': 'application/json', Origin: `http://127.0.0.1:${port}` }, '{"a":1}');
  assert.equal(same.status, 200);
  const bearer = await raw('POST', '/api/echo', { Authorization: `Bearer ${token}` });
  assert.equal(bearer.status, 200);
  const crossLogin = await raw(
    'POST',
    '/api/login',
    { 'Content-Type': 'application/json', Origin: 'http://evil.example' },
    JSON.stringify({ username: 'x', password: 'y' }),
  );
  assert.equal(crossLogin.status, 403);
});

test('security headers on API and static answers', async () => {
  for (const path of ['/health', '/']) {
    const r = await raw('GET', path);
    assert.match(String(r.headers['content-security-policy']), /default-src 'self'/);
    assert.match(String(r.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['x-frame-options'], 'DENY');
  }
});

test('households are scoped: station all, team-leader its team, household its own; 403 outside, 404 unknown', async () => {
  const station = (await loginAfterReset()).token;
  const lead = store.createSession('lead').token;
  const home = store.createSession('home').token;
  const get = (token: string, path: string) => raw('GET', path, { Authorization: `Bearer ${token}` });

  const all = (await get(station, '/api/households')).json().households;
  assert.deepEqual(
    all.map((h: { id: string }) => h.id),
    ['H1', 'H2', 'H3'],
  );
  const h1 = all[0];
  assert.deepEqual(h1, {
    id: 'H1',
    team: 'T1',
    name: 'Nhà A',
    address: '1 Lê Lợi',
    phone: '',
    lat: 16.4,
    lon: 107.5,
    devices: [
      { id: 'D1', kind: 'smoke', enrolledAt: h1.devices[0].enrolledAt, online: true, lastSeen: 1234 },
      { id: 'D2', kind: 'panic', enrolledAt: h1.devices[1].enrolledAt, online: false, lastSeen: null },
    ],
  });
  assert.deepEqual(
    (await get(station, '/api/households?team=T2')).json().households.map((h: { id: string }) => h.id),
    ['H3'],
  );
  assert.equal((await get(station, '/api/households?team=bad%20id')).status, 400);

  assert.deepEqual(
    (await get(lead, '/api/households')).json().households.map((h: { id: string }) => h.id),
    ['H1', 'H2'],
  );
  assert.equal((await get(lead, '/api/households?team=T2')).status, 403);
  assert.deepEqual(
    (await get(home, '/api/households')).json().households.map((h: { id: string }) => h.id),
    ['H1'],
  );

  assert.equal((await get(station, '/api/households/H3')).json().id, 'H3');
  assert.equal((await get(lead, '/api/households/H2')).json().devices[0].id, 'D3');
  const out = await get(lead, '/api/households/H3');
  assert.equal(out.status, 403);
  assert.equal(out.json().error, 'forbidden');
  assert.equal((await get(home, '/api/households/H2')).status, 403);
  const unknown = await get(station, '/api/households/H404');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json().error, 'not_found');
});

test('static files: content types, immutable hashed assets, gzip, ETag 304, SPA fallback, no traversal', async () => {
  const index = await raw('GET', '/');
  assert.equal(index.status, 200);
  assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(index.headers['cache-control'], 'no-cache');
  assert.match(index.text, /<title>smokehub/);

  const spa = await raw('GET', '/alarms/A123');
  assert.equal(spa.status, 200);
  assert.match(spa.text, /<title>smokehub/);
  assert.equal((await raw('GET', '/assets/missing-123.js')).status, 404, 'a missing asset is not answered with HTML');

  const js = await raw('GET', '/assets/app-3f9a1c.js');
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(js.headers['content-encoding'], undefined);
  assert.equal(js.text, BIG_JS);
  const gz = await raw('GET', '/assets/app-3f9a1c.js', { 'Accept-Encoding': 'gzip, deflate' });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(String(gz.headers.vary).toLowerCase(), 'accept-encoding'); // field names are case-insensitive (RFC 9110)
  assert.ok(gz.body.length < BIG_JS.length / 5);
  assert.equal(gunzipSync(gz.body).toString('utf8'), BIG_JS);
  const pre = await raw('GET', '/assets/pre-5b1e.js', { 'Accept-Encoding': 'gzip' });
  assert.equal(pre.headers['content-encoding'], 'gzip');
  assert.equal(pre.headers['content-type'], 'text/javascript; charset=utf-8', 'a precompressed script keeps its type');
  assert.equal(pre.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(gunzipSync(pre.body).toString('utf8'), BIG_JS);
  const css = await raw('GET', '/assets/style-77aa.css', { 'Accept-Encoding': 'gzip' });
  assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
  assert.equal(css.headers['content-encoding'], undefined, 'tiny files are not compressed');
  const etag = String(js.headers.etag);
  assert.equal((await raw('GET', '/assets/app-3f9a1c.js', { 'If-None-Match': etag })).status, 304);
  const head = await raw('HEAD', '/assets/app-3f9a1c.js');
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);

  for (const path of [
    '/../secret.txt',
    '/%2e%2e/secret.txt',
    '/assets/..%2f..%2fsecret.txt',
    '/assets/%2e%2e/%2e%2e/secret.txt',
    '/..%5csecret.txt',
    '/%00index.html',
    '/.hidden',
  ]) {
    const r = await raw('GET', path);
    assert.ok(!r.text.includes('TOP SECRET'), path);
    assert.ok(r.status === 404 || r.status === 400 || (r.status === 200 && r.text.includes('<title>smokehub')), `${path} → ${r.status}`);
  }
  const post = await raw('POST', '/somewhere');
  assert.equal(post.status, 405);
});

test('requests are counted by route and status', async () => {
  const text = await (await fetch(`${base}/metrics`)).text();
  assert.match(text, /smokehub_http_requests_total\{route="\/api\/households\/:id",status="403"\} [1-9]/);
  assert.match(text, /smokehub_http_requests_total\{route="static",status="200"\} [1-9]/);
  assert.match(text, /smokehub_http_rejects_total\{reason="forbidden"\} [1-9]/);
});
