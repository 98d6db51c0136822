/**
 * Slow clients against the HTTP server on real sockets: unfinished headers, silent connections and
 * half-sent bodies are closed by the server within the header / request timeouts (the socket
 * destroyed, not half-closed), idle keep-alive connections within the keep-alive timeout, and the
 * connection budget caps connections per address and in total (503 at once, counted).
 * The attacking sockets allow half-open connections and never close their side, as an attacker would.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { Server } from 'node:http';
import { Router } from '../../../hub/http/router.ts';
import { createHttpServer } from '../../../hub/http/http-server.ts';
import { ConnectionBudget } from '../../../hub/app/connection-budget.ts';
import { MetricsRegistry } from '../../../hub/observability/metrics.ts';
import { silentLogger } from '../../../hub/observability/logger.ts';
import { systemClock } from '../../../hub/core/clock.ts';
import type { SessionStore } from '../../../hub/http/session.ts';

const noSessions: SessionStore = {
  verifyUserPassword: async () => null,
  createSession: () => ({ token: 'x', expiresAt: 0 }),
  resolveSession: () => null,
  revokeSession: () => false,
};

const open: Array<{ close(): Promise<void> }> = [];
const sockets: Socket[] = [];
after(async () => {
  for (const s of sockets) s.destroy();
  for (const o of open) await o.close();
});

interface Started {
  server: Server;
  port: number;
  metrics: MetricsRegistry;
  budget: ConnectionBudget | null;
  /** Server-side lifetimes (ms from accept to close) of closed sockets, in close order. */
  lifetimes: number[];
}

async function start(opts: { timeouts: Record<string, number>; budget?: (m: MetricsRegistry) => ConnectionBudget }): Promise<Started> {
  const metrics = new MetricsRegistry();
  const router = new Router();
  router.post('/api/echo', (req) => ({ body: { got: req.body } }), { auth: 'none' });
  router.get('/api/ping', () => ({ body: { ok: true } }), { auth: 'none' });
  const budget = opts.budget?.(metrics) ?? null;
  const server = createHttpServer({ router, sessions: noSessions, logger: silentLogger(), metrics, clock: systemClock, timeouts: opts.timeouts, budget });
  const lifetimes: number[] = [];
  server.on('connection', (s: Socket) => {
    const t0 = Date.now();
    s.once('close', () => lifetimes.push(Date.now() - t0));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  open.push({
    close: () => {
      budget?.stop();
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  });
  return { server, port, metrics, budget, lifetimes };
}

/** A raw client that never closes its side (allowHalfOpen) and records what the server did. */
function attacker(port: number, localAddress = '127.0.0.1'): Promise<{ socket: Socket; got: () => string; ended: () => boolean }> {
  return new Promise((resolve, reject) => {
    let got = '';
    let ended = false;
    const socket = connect({ port, host: '127.0.0.1', localAddress, allowHalfOpen: true });
    sockets.push(socket);
    socket.on('data', (d) => (got += d.toString('latin1')));
    // The server closed: a FIN, or a reset when it closed with unread bytes of ours.
    socket.on('end', () => (ended = true));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') ended = true;
    });
    socket.once('connect', () => resolve({ socket, got: () => got, ended: () => ended }));
    socket.once('error', reject);
  });
}

const connections = (server: Server) => new Promise<number>((r, j) => server.getConnections((e, n) => (e ? j(e) : r(n))));

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - t0;
}

test('unfinished headers, silent connections and half-sent bodies are closed by the server within the timeouts', async () => {
  const HEADERS_MS = 1000;
  const REQUEST_MS = 2000;
  const s = await start({ timeouts: { headersMs: HEADERS_MS, requestMs: REQUEST_MS } });
  const N = 15;
  const t0 = Date.now();
  const slowHeaders = await Promise.all(Array.from({ length: N }, () => attacker(s.port)));
  const silent = await Promise.all(Array.from({ length: N }, () => attacker(s.port)));
  const halfBody = await Promise.all(Array.from({ length: N }, () => attacker(s.port)));
  for (const a of slowHeaders) a.socket.write('GET /api/ping HTTP/1.1\r\nHost: hub\r\n');
  for (const a of halfBody) a.socket.write('POST /api/echo HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":');
  // Slowloris: a byte every 150 ms keeps the sockets busy (an idle timeout alone would not close them).
  const trickle = setInterval(() => {
    for (const a of slowHeaders) if (!a.socket.destroyed) a.socket.write('X');
    for (const a of halfBody) if (!a.socket.destroyed) a.socket.write(' ');
  }, 150);
  try {
    await waitFor('every slow connection closed by the server', () => s.lifetimes.length === 3 * N, REQUEST_MS + 2500);
  } finally {
    clearInterval(trickle);
  }
  const elapsed = Date.now() - t0;
  assert.equal(await connections(s.server), 0);
  assert.ok(elapsed < REQUEST_MS + 2000, `all closed after ${elapsed} ms`);
  // Header-phase sockets go at the header timeout (checked every quarter of it), bodies at the request timeout.
  const sorted = [...s.lifetimes].sort((a, b) => a - b);
  assert.equal(sorted.length, 3 * N);
  const early = sorted.slice(0, 2 * N);
  const late = sorted.slice(2 * N);
  assert.ok(
    early.every((ms) => ms >= HEADERS_MS - 50 && ms < HEADERS_MS + 1000),
    `header-phase lifetimes ${early.join(',')}`,
  );
  assert.ok(
    late.every((ms) => ms >= REQUEST_MS - 50 && ms < REQUEST_MS + 1000),
    `half-body lifetimes ${late.join(',')}`,
  );
  // They were told why, and the server closed its side (an attacker's open side does not hold the socket).
  for (const a of [...slowHeaders, ...silent]) assert.match(a.got(), /^HTTP\/1\.1 408 /);
  await waitFor('the clients to see the close (FIN or reset)', () => [...slowHeaders, ...silent, ...halfBody].every((a) => a.ended()), 1000);
  const rejects = s.metrics.counter('smokehub_http_rejects_total', '');
  assert.equal(rejects.get({ reason: 'request_timeout' }), 3 * N);
});

test('a request sent in pieces within the timeouts is answered; an idle keep-alive connection is closed after the keep-alive timeout', async () => {
  const s = await start({ timeouts: { headersMs: 1500, requestMs: 3000, keepAliveMs: 400 } });
  const a = await attacker(s.port);
  a.socket.write('POST /api/echo HTTP/1.1\r\nHost: hub\r\n');
  await new Promise((r) => setTimeout(r, 300));
  a.socket.write('Content-Type: application/json\r\nContent-Length: 8\r\n\r\n{"a"');
  await new Promise((r) => setTimeout(r, 300));
  a.socket.write(':12}');
  await waitFor('the answer', () => a.got().includes('{"got":{"a":12}}'), 3000);
  assert.match(a.got(), /^HTTP\/1\.1 200 /);
  const answeredAt = Date.now();
  await waitFor('the idle keep-alive connection closed', () => a.ended(), 3000);
  const idle = Date.now() - answeredAt;
  assert.ok(idle >= 300 && idle < 2500, `closed ${idle} ms after the answer`);
  await waitFor('server side closed', async () => (await connections(s.server)) === 0, 2000);
});

test('the connection budget caps web connections per address and in total: 503 at once, counted, and the descriptor given back', async () => {
  const s = await start({
    timeouts: { headersMs: 10_000, requestMs: 10_000 },
    budget: (metrics) =>
      new ConnectionBudget({ fdLimit: null, enrolledDevices: () => 0, maxWeb: 8, maxWebPerAddress: 5, clock: systemClock, logger: silentLogger(), metrics }),
  });
  // 7 from 127.0.0.2: 5 admitted, 2 refused (per address).
  const fromOne = await Promise.all(Array.from({ length: 7 }, () => attacker(s.port, '127.0.0.2')));
  await waitFor('two refusals', () => fromOne.filter((a) => a.ended()).length === 2, 3000);
  for (const a of fromOne.filter((x) => x.ended())) assert.match(a.got(), /^HTTP\/1\.1 503 /);
  // 5 more from other addresses: 3 fit the total of 8, 2 refused (total).
  const others = await Promise.all(['127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7'].map((ip) => attacker(s.port, ip)));
  await waitFor('two more refusals', () => others.filter((a) => a.ended()).length === 2, 3000);
  await waitFor('8 open on the server', async () => (await connections(s.server)) === 8, 2000);
  const refused = s.metrics.counter('smokehub_connections_refused_total', '');
  assert.equal(refused.get({ reason: 'web_per_address' }), 2);
  assert.equal(refused.get({ reason: 'web_total' }), 2);
  assert.equal(s.budget!.counts.web, 8);
  // Closing admitted connections gives their places back.
  for (const a of fromOne.filter((x) => !x.ended()).slice(0, 3)) a.socket.destroy();
  await waitFor('places given back', () => s.budget!.counts.web === 5, 2000);
  const again = await attacker(s.port, '127.0.0.2');
  again.socket.write('GET /api/ping HTTP/1.1\r\nHost: hub\r\n\r\n');
  await waitFor('answer on a freed place', () => again.got().includes('"ok":true'), 2000);
});

test('web connections never take the descriptors held back for enrolled devices (beyond a small floor)', async () => {
  // Limit 80 = 32 spare + 40 devices + 8 left for the web; the process' other descriptors are not counted here.
  const s = await start({
    timeouts: { headersMs: 10_000, requestMs: 10_000 },
    budget: (metrics) =>
      new ConnectionBudget({
        fdLimit: 80,
        countFds: () => null,
        enrolledDevices: () => 40,
        maxWeb: 1000,
        maxWebPerAddress: 1000,
        webFloor: 4,
        clock: systemClock,
        logger: silentLogger(),
        metrics,
      }),
  });
  const web = await Promise.all(Array.from({ length: 12 }, () => attacker(s.port)));
  await waitFor('four refusals', () => web.filter((a) => a.ended()).length === 4, 3000);
  assert.equal(s.budget!.counts.web, 8);
  assert.equal(s.metrics.counter('smokehub_connections_refused_total', '').get({ reason: 'device_reserve' }), 4);
  assert.equal(s.metrics.gauge('smokehub_connections_reserved_for_devices', '').get(), 40);
});
