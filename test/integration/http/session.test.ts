import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { ManualClock } from '../../../hub/core/clock.ts';
import { Router } from '../../../hub/http/router.ts';
import { createHttpServer } from '../../../hub/http/http-server.ts';
import { extractToken, parseCookies } from '../../../hub/http/session.ts';
import { MetricsRegistry } from '../../../hub/observability/metrics.ts';
import { silentLogger } from '../../../hub/observability/logger.ts';
import { SESSION_IDLE_MS } from '../../../hub/store/registry-store.ts';
import { tempRegistry } from '../../helpers/registry-kit.ts';

test('cookie and bearer parsing', () => {
  assert.deepEqual(
    [...parseCookies('a=1; smokehub_session=tok%2Dx; b="q"; junk; =x')],
    [
      ['a', '1'],
      ['smokehub_session', 'tok-x'],
      ['b', 'q'],
    ],
  );
  assert.deepEqual(extractToken({ authorization: 'Bearer abc', cookie: 'smokehub_session=def' }), { token: 'abc', via: 'bearer' });
  assert.deepEqual(extractToken({ cookie: 'other=1; smokehub_session=def' }), { token: 'def', via: 'cookie' });
  assert.equal(extractToken({ authorization: 'Basic Zm9vOmJhcg==' }), null);
  assert.equal(extractToken({}), null);
});

test('a used session slides: the cookie is re-sent with a fresh Max-Age; an idle one expires (401)', async (t) => {
  const clock = new ManualClock(Date.UTC(2026, 2, 1));
  const { store } = tempRegistry(t, clock);
  await store.addUser({ username: 'op', role: 'station', password: 'operator password' });
  const server = createHttpServer({ router: new Router(), sessions: store, logger: silentLogger(), metrics: new MetricsRegistry(), clock });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  const get = (headers: Record<string, string>) =>
    new Promise<{ status: number; setCookie: string | undefined }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/api/me', headers, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, setCookie: res.headers['set-cookie']?.[0] }));
      });
      req.on('error', reject);
      req.end();
    });
  const { token } = store.createSession('op');
  const cookie = { Cookie: `smokehub_session=${token}` };
  const fresh = await get(cookie);
  assert.equal(fresh.status, 200);
  assert.equal(fresh.setCookie, undefined, 'not re-sent on every request');
  clock.advance(3 * 24 * 3600_000);
  const slid = await get(cookie);
  assert.equal(slid.status, 200);
  assert.match(slid.setCookie ?? '', new RegExp(`^smokehub_session=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_IDLE_MS / 1000}$`));
  clock.advance(SESSION_IDLE_MS - 1000);
  assert.equal((await get(cookie)).status, 200, 'still alive just before the slid expiry');
  clock.advance(SESSION_IDLE_MS + 1);
  assert.equal((await get(cookie)).status, 401);
  assert.equal((await get({ Authorization: `Bearer ${token}` })).status, 401);
});

test('GET /api/me without credentials (the dashboard\'s "logged in?" probe) logs at debug; a presented bad token and other refusals still warn', async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: 'debug', base: undefined }, sink);
  const clock = new ManualClock(Date.UTC(2026, 2, 1));
  const { store } = tempRegistry(t, clock);
  const router = new Router();
  router.get('/api/private', () => ({ body: { ok: true } }));
  const server = createHttpServer({ router, sessions: store, logger, metrics: new MetricsRegistry(), clock });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  const get = (path: string, headers: Record<string, string> = {}) =>
    new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end();
    });
  const refusals = (path: string) => lines.filter((l) => l.path === path && l.status === 401);
  const PINO_DEBUG = 20;
  const PINO_WARN = 40;

  assert.equal(await get('/api/me'), 401);
  assert.equal(await get('/api/me?x=1'), 401);
  assert.deepEqual(
    refusals('/api/me').map((l) => l.level),
    [PINO_DEBUG, PINO_DEBUG],
    'the probe is a debug line, not a warning',
  );
  lines.length = 0;
  assert.equal(await get('/api/me', { Cookie: 'smokehub_session=not-a-session' }), 401);
  assert.equal(await get('/api/me', { Authorization: 'Bearer not-a-token' }), 401);
  assert.deepEqual(
    refusals('/api/me').map((l) => [l.level, l.msg]),
    [
      [PINO_WARN, 'http request refused'],
      [PINO_WARN, 'http request refused'],
    ],
    'an unknown or expired token is worth a warning',
  );
  lines.length = 0;
  assert.equal(await get('/api/private'), 401);
  assert.deepEqual(
    refusals('/api/private').map((l) => l.level),
    [PINO_WARN],
    'only /api/me is the probe',
  );
});
