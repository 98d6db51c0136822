/**
 * Which web pages may use the hub with a user's browser: the hub's own origins and the configured
 * `--allowed-origins`; requests without Origin (non-browser clients) too. The MQTT WebSocket upgrade
 * at /mqtt is refused with 403 before the upgrade for any other origin (raw upgrade requests on a real
 * hub), and the API's CSRF guard applies the same rule.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import mqtt from 'mqtt';
import { WebSocket } from 'ws';
import { originAllowed, parseAllowedOrigins, normalizeOrigin } from '../../../hub/http/origin.ts';
import { ConfigError } from '../../../hub/protocol/errors.ts';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';

test('originAllowed: own origin over http or https, the configured list, no Origin; nothing else', () => {
  const host = 'hub.local:8080';
  assert.equal(originAllowed(undefined, host), true, 'no Origin: not a browser');
  assert.equal(originAllowed('http://hub.local:8080', host), true);
  assert.equal(originAllowed('https://hub.local:8080', host), true);
  assert.equal(originAllowed('HTTP://HUB.LOCAL:8080', host), true);
  assert.equal(originAllowed('http://hub.local', 'hub.local:80'), true, 'default port');
  assert.equal(originAllowed('https://hub.local', 'hub.local:443'), true, 'default port');
  assert.equal(originAllowed('http://evil.example', host), false);
  assert.equal(originAllowed('http://hub.local:8081', host), false, 'another port is another origin');
  assert.equal(originAllowed('http://hub.local.evil.example:8080', host), false);
  assert.equal(originAllowed('null', host), false, 'sandboxed frames and file: pages');
  assert.equal(originAllowed('ws://hub.local:8080', host), false);
  assert.equal(originAllowed('garbage', host), false);
  assert.equal(originAllowed('http://hub.local:8080', undefined), false, 'no Host to compare with');
  const allowed = parseAllowedOrigins(' https://board.example , http://10.0.0.5:3000/');
  assert.deepEqual(allowed, ['https://board.example', 'http://10.0.0.5:3000']);
  assert.equal(originAllowed('https://board.example', host, allowed), true);
  assert.equal(originAllowed('http://board.example', host, allowed), false, 'the scheme is part of the origin');
  assert.equal(normalizeOrigin('https://board.example:443'), 'https://board.example');
  for (const bad of ['board.example', 'https://board.example/app', 'ftp://board.example', 'https://u:p@board.example', 'null']) {
    assert.throws(() => parseAllowedOrigins(bad), ConfigError, bad);
  }
  assert.deepEqual(parseAllowedOrigins(null), []);
});

let th: TestHub;
before(async () => {
  th = await startTestHub({ config: { allowedOrigins: 'https://board.example' } });
});
after(async () => {
  await th?.stop();
});

/** A raw WebSocket upgrade to /mqtt; resolves with the status line of the answer. */
function upgrade(port: number, origin: string | null): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) {
        resolve(got.split('\r\n')[0]!);
        s.destroy();
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(got.split('\r\n')[0] ?? ''));
    s.write(
      `GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n` +
        (origin === null ? '' : `Origin: ${origin}\r\n`) +
        '\r\n',
    );
  });
}

test('the /mqtt WebSocket upgrade is refused with 403 for a foreign Origin, before any upgrade', async () => {
  const port = th.hub.httpPort;
  assert.match(await upgrade(port, 'http://evil.example'), /^HTTP\/1\.1 403 /);
  assert.match(await upgrade(port, 'null'), /^HTTP\/1\.1 403 /);
  assert.match(await upgrade(port, `http://127.0.0.1:${port + 1}`), /^HTTP\/1\.1 403 /);
  assert.match(await upgrade(port, 'http://board.example'), /^HTTP\/1\.1 403 /);
  assert.match(await upgrade(port, `http://127.0.0.1:${port}`), /^HTTP\/1\.1 101 /);
  assert.match(await upgrade(port, 'https://board.example'), /^HTTP\/1\.1 101 /);
  assert.match(await upgrade(port, null), /^HTTP\/1\.1 101 /, 'no Origin: a non-browser client');
  const rejects = th.hub.ctx.metrics.counter('smokehub_http_rejects_total', '');
  assert.equal(rejects.get({ reason: 'forbidden_origin' }), 4);

  // End to end: what a page on evil.example can do with the ws client, and MQTT.js from the hub's own page.
  const wsStatus = (origin: string) =>
    new Promise<string>((resolve) => {
      const ws = new WebSocket(th.wsUrl, 'mqtt', { headers: { Origin: origin } });
      ws.on('unexpected-response', (_req, res) => {
        resolve(`refused ${res.statusCode}`);
        ws.terminate();
      });
      ws.on('open', () => {
        resolve('open');
        ws.terminate();
      });
      ws.on('error', (err) => resolve(`error ${err.message}`));
    });
  assert.equal(await wsStatus('http://evil.example'), 'refused 403');
  const c = await mqtt.connectAsync(th.wsUrl, {
    username: 'admin',
    password: th.adminPassword,
    clientId: 'origin-own-page',
    reconnectPeriod: 0,
    connectTimeout: 3000,
    wsOptions: { headers: { Origin: `http://127.0.0.1:${port}` } },
  });
  assert.equal(c.connected, true);
  await c.endAsync();
  assert.equal(rejects.get({ reason: 'forbidden_origin' }), 5);
});

test('the API’s CSRF guard applies the same rule to state-changing requests', async () => {
  const login = (origin: string | null) =>
    fetch(`${th.httpUrl}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
      body: JSON.stringify({ username: 'admin', password: th.adminPassword }),
    }).then((r) => r.status);
  assert.equal(await login('http://evil.example'), 403);
  assert.equal(await login('null'), 403);
  assert.equal(await login('https://board.example'), 200, 'a configured origin');
  assert.equal(await login(`http://127.0.0.1:${th.hub.httpPort}`), 200);
  assert.equal(await login(null), 200);
});
