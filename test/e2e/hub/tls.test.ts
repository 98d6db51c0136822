/**
 * TLS end to end with real parts: the hub's local CA and server certificate in DATA/tls, mqtts with
 * Debian's mosquitto_pub and MQTT.js, https with curl, wss with MQTT.js and headless Chromium (the
 * dashboard), `--plain off`, the operator's own certificate (made with Debian's openssl), a
 * mismatched pair, `smokehub tls show` against `openssl x509 -fingerprint`, renewal at start and
 * while running, and the bridge and the simulator with `--ca`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { X509Certificate, createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, Inbox } from '../../helpers/mqtt-clients.ts';
import { freePort } from '../../helpers/ports.ts';
import { startHub } from '../../../hub/app/hub.ts';
import { ManualClock } from '../../../hub/core/clock.ts';
import { ConfigError } from '../../../hub/protocol/errors.ts';
import { silentLogger } from '../../../hub/observability/logger.ts';
import { formatNames, hubNames } from '../../../hub/tls/tls-names.ts';
import { renewalDecision } from '../../../hub/tls/renewal.ts';
import { HubLink } from '../../../firmware-bridge/hub-link.ts';
import { loadBridgeValues, toBridgeSettings } from '../../../firmware-bridge/bridge-config.ts';
import { Simulator } from '../../../firmware-bridge/simulator.ts';

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DAY = 86_400_000;
let th: TestHub;
let caFile: string;
const pool = new ClientPool();
let seq = 0;
const evt = (type: string) => JSON.stringify({ id: `tls-${++seq}-${Date.now()}`, type });

before(async () => {
  th = await startTestHub({ config: { verifyWindowS: 0 } });
  caFile = join(th.dataDir, 'tls', 'ca.pem');
});
after(async () => {
  await pool.closeAll();
  await th?.stop();
});

function tempDir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'smokehub-tls-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** `node hub/cli/main.ts ARGS` → exit code and output (the CLI as an operator runs it). */
async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SMOKEHUB_')));
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'hub/cli/main.ts', ...args], { cwd: ROOT, env: { ...clean, ...env }, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** The certificate a TLS port serves (no verification: the test compares it with the files). */
function servedCert(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const c = s.getPeerX509Certificate();
      s.destroy();
      if (c) resolve(c);
      else reject(new Error('no peer certificate'));
    });
    s.once('error', reject);
  });
}

/** An EC key and a certificate made with Debian's openssl (an operator's own, or a short-lived one). */
async function opensslKey(path: string): Promise<void> {
  await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}
async function opensslCa(dir: string): Promise<{ cert: string; key: string }> {
  const key = join(dir, 'op-ca-key.pem');
  const cert = join(dir, 'op-ca.pem');
  await opensslKey(key);
  await run('openssl', [
    'req',
    '-x509',
    '-new',
    '-key',
    key,
    '-subj',
    '/CN=Operator Test CA',
    '-days',
    '30',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
    '-out',
    cert,
  ]);
  return { cert, key };
}
async function opensslServer(
  dir: string,
  ca: { cert: string; key: string },
  opts: { name: string; days: number; san: string },
): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${opts.name}-key.pem`);
  const cert = join(dir, `${opts.name}.pem`);
  const csr = join(dir, `${opts.name}.csr`);
  const ext = join(dir, `${opts.name}.ext`);
  await opensslKey(key);
  await run('openssl', ['req', '-new', '-key', key, '-subj', `/CN=${opts.name}`, '-out', csr]);
  writeFileSync(ext, `subjectAltName=${opts.san}\nextendedKeyUsage=serverAuth\n`);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-set_serial',
    '0x5eed',
    '-days',
    String(opts.days),
    '-extfile',
    ext,
    '-out',
    cert,
  ]);
  return { cert, key };
}

test("the first start creates DATA/tls: a local CA and a server certificate for the hub's names, keys mode 0600", async () => {
  const dir = join(th.dataDir, 'tls');
  for (const f of ['ca-key.pem', 'hub-key.pem']) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, `${f} is 0600`);
  for (const f of ['ca.pem', 'hub.pem']) assert.ok(statSync(join(dir, f)).isFile(), f);
  assert.equal(statSync(dir).mode & 0o077, 0, 'DATA/tls is private to the hub user');
  assert.equal(th.hub.tls.createdCa, true);
  const verify = await run('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'hub.pem')]);
  assert.match(verify.stdout, /hub\.pem: OK/);
  const san = (await run('openssl', ['x509', '-in', join(dir, 'hub.pem'), '-noout', '-ext', 'subjectAltName'])).stdout;
  for (const name of ['IP Address:127.0.0.1', 'DNS:localhost', `DNS:${hostname().toLowerCase()}`]) assert.ok(san.includes(name), `${name} in ${san}`);
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') assert.ok(san.includes(`IP Address:${a.address}`), `${a.address} in ${san}`);
  }
  const served = await servedCert(th.hub.mqttsPort);
  assert.equal(served.fingerprint256, new X509Certificate(readFileSync(join(dir, 'hub.pem'))).fingerprint256, 'mqtts serves DATA/tls/hub.pem');
});

test('mosquitto_pub --cafile publishes a device event over mqtts and an MQTT.js subscriber over mqtts gets the alert; a client without the CA is refused and counted', async () => {
  const neighbour = await pool.device(th.mqttsUrl, th.device('t1-h2-smoke'), { ca: readFileSync(caFile) });
  const inbox = new Inbox(neighbour);
  await neighbour.subscribeAsync('smokehub/h/t1-h2/alert', { qos: 1 });
  const c = th.device('t1-h1-smoke');
  await run(
    'mosquitto_pub',
    [
      '--cafile',
      caFile,
      '-h',
      '127.0.0.1',
      '-p',
      String(th.hub.mqttsPort),
      '-V',
      'mqttv311',
      '-i',
      c.device,
      '-u',
      c.device,
      '-P',
      c.secret,
      '-t',
      `smokehub/h/${c.household}/d/${c.device}/event`,
      '-q',
      '1',
      '-m',
      evt('smoke'),
    ],
    { timeout: 10_000 },
  );
  const alert = await inbox.next((m) => m.json().state === 'active', 5000, 'alert over mqtts');
  assert.equal(alert.json().origin.device, 't1-h1-smoke');
  for (const v of th.hub.alarms.openViews()) th.hub.alarms.resolve(v.alarm, { by: { kind: 'user', id: 'test', role: 'station' }, via: 'http' });

  const failures = () => th.hub.ctx.metrics.counter('smokehub_tls_handshake_failures_total', '').get({ server: 'mqtts' });
  const before = failures();
  await assert.rejects(
    mqtt.connectAsync(th.mqttsUrl, { clientId: c.device, username: c.device, password: c.secret, reconnectPeriod: 0, connectTimeout: 5000 }),
    /unable to verify the first certificate/,
  );
  await assert.rejects(
    run(
      'mosquitto_pub',
      ['-h', '127.0.0.1', '-p', String(th.hub.mqttsPort), '--capath', '/etc/ssl/certs', '-i', c.device, '-u', c.device, '-P', c.secret, '-t', 'x', '-m', 'x'],
      { timeout: 10_000 },
    ),
  );
  const deadline = Date.now() + 5000;
  while (failures() < before + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(failures() >= before + 2, `refused handshakes counted (${failures() - before})`);
});

test('curl --cacert gets /health over https (by IP and by localhost); without the CA curl refuses', async () => {
  const health = await run('curl', ['-sS', '--fail', '--cacert', caFile, `${th.httpsUrl}/health`]);
  assert.equal(JSON.parse(health.stdout).status, 'ok');
  const byName = await run('curl', ['-sS', '--fail', '--cacert', caFile, `https://localhost:${th.hub.httpsPort}/health`]);
  assert.equal(JSON.parse(byName.stdout).status, 'ok');
  await assert.rejects(run('curl', ['-sS', '--fail', `${th.httpsUrl}/health`]), /certificate/i);
  // The CA for phones, from the hub itself.
  const ca = await run('curl', ['-sS', '--fail', '-D', '-', `${th.httpUrl}/ca.crt`]);
  assert.match(ca.stdout, /content-type: application\/x-x509-ca-cert/i);
  assert.ok(ca.stdout.includes(readFileSync(caFile, 'utf8').trim()));
});

test('the session cookie is Secure over https (not on plain http); no HSTS while plain HTTP is on', async () => {
  const body = JSON.stringify({ username: 'admin', password: th.adminPassword });
  const secure = await run('curl', [
    '-sS',
    '--fail',
    '--cacert',
    caFile,
    '-D',
    '-',
    '-o',
    '/dev/null',
    '-H',
    'content-type: application/json',
    '--data',
    body,
    `${th.httpsUrl}/api/login`,
  ]);
  const cookie = /^set-cookie: (.*)$/im.exec(secure.stdout)?.[1] ?? '';
  assert.match(cookie, /smokehub_session=.*; Secure/, secure.stdout);
  assert.doesNotMatch(secure.stdout, /strict-transport-security/i);
  const plain = await fetch(`${th.httpUrl}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assert.equal(plain.status, 200);
  assert.doesNotMatch(plain.headers.get('set-cookie') ?? '', /Secure/);
});

test('wss /mqtt works with MQTT.js (ca): the station logged in over wss gets an alarm published over mqtts', async () => {
  const station = await pool.connect(th.wssUrl, { clientId: `station-wss-${++seq}`, username: 'admin', password: th.adminPassword, ca: readFileSync(caFile) });
  const inbox = new Inbox(station);
  await station.subscribeAsync('smokehub/station/alarm', { qos: 1 });
  const origin = await pool.device(th.mqttsUrl, th.device('t2-h1-panic'), { ca: readFileSync(caFile) });
  await origin.publishAsync('smokehub/h/t2-h1/d/t2-h1-panic/event', evt('panic'), { qos: 1 });
  const m = await inbox.next((x) => x.json().origin?.device === 't2-h1-panic', 5000, 'station alarm over wss');
  assert.equal(m.json().kind, 'panic');
  await assert.rejects(
    mqtt.connectAsync(th.wssUrl, { clientId: 'no-ca', username: 'admin', password: th.adminPassword, reconnectPeriod: 0, connectTimeout: 5000 }),
    /unable to verify the first certificate/,
  );
  for (const v of th.hub.alarms.openViews()) th.hub.alarms.resolve(v.alarm, { by: { kind: 'user', id: 'test', role: 'station' }, via: 'http' });
});

test('smokehub tls show prints the paths, names, expiry and the CA fingerprint openssl computes', async () => {
  const r = await cli(['tls', 'show', '--data', th.dataDir]);
  assert.equal(r.code, 0, r.stderr);
  const openssl = (await run('openssl', ['x509', '-in', caFile, '-noout', '-fingerprint', '-sha256'])).stdout.trim();
  const fp = /Fingerprint=([0-9A-F:]+)/.exec(openssl)![1]!;
  assert.match(r.stdout, new RegExp(`CA SHA-256 fingerprint\\s+${fp}\\n`));
  assert.ok(r.stdout.includes(caFile) && r.stdout.includes(join(th.dataDir, 'tls', 'hub.pem')), r.stdout);
  assert.match(r.stdout, /names\s+IP:127\.0\.0\.1, .*DNS:localhost/);
  const notAfter = new X509Certificate(readFileSync(join(th.dataDir, 'tls', 'hub.pem'))).validTo;
  assert.ok(r.stdout.includes(new Date(notAfter).toISOString().slice(0, 16).replace('T', ' ')), `expiry ${notAfter} in ${r.stdout}`);
  const none = await cli(['tls', 'show', '--data', tempDirPlain()]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no TLS certificate in .* yet/);
});

function tempDirPlain(): string {
  const d = mkdtempSync(join(tmpdir(), 'smokehub-tls-empty-'));
  after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('--plain off: the plain MQTT and HTTP ports refuse connections, TLS serves with HSTS', async (t) => {
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const hub = await startTestHub({ config: { plain: 'off', mqttPort, httpPort } });
  t.after(() => hub.stop());
  const refused = (port: number) =>
    new Promise<string>((resolve) => {
      const s = netConnect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve('connected')));
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
  assert.equal(await refused(mqttPort), 'ECONNREFUSED');
  assert.equal(await refused(httpPort), 'ECONNREFUSED');
  const c = hub.device('t1-h1-smoke');
  await assert.rejects(
    run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mqttPort), '-i', c.device, '-u', c.device, '-P', c.secret, '-t', 'x', '-m', 'x'], {
      timeout: 10_000,
    }),
  );
  const ca = join(hub.dataDir, 'tls', 'ca.pem');
  const r = await run('curl', ['-sS', '--fail', '--cacert', ca, '-D', '-', `${hub.httpsUrl}/health`]);
  assert.match(r.stdout, /^strict-transport-security: max-age=31536000/im);
  const device = await pool.device(hub.mqttsUrl, c, { ca: readFileSync(ca) });
  assert.ok(device.connected);
  await device.endAsync(true);
});

test("a mismatched or broken --tls-cert/--tls-key is one clear start-up error; the operator's own pair is served", async (t) => {
  const dir = tempDir(t);
  const ca = await opensslCa(dir);
  const good = await opensslServer(dir, ca, { name: 'hub-op', days: 30, san: 'IP:127.0.0.1,DNS:localhost' });
  const otherKey = join(dir, 'other-key.pem');
  await opensslKey(otherKey);
  const data = join(dir, 'data');
  const base = [
    'start',
    '--data',
    data,
    '--host',
    '127.0.0.1',
    '--mqtt-port',
    '0',
    '--http-port',
    '0',
    '--mqtts-port',
    '0',
    '--https-port',
    '0',
    '--log-level',
    'silent',
  ];
  const mismatched = await cli([...base, '--tls-cert', good.cert, '--tls-key', otherKey]);
  assert.equal(mismatched.code, 1);
  assert.equal(mismatched.stderr.trim().split('\n').length, 1, mismatched.stderr);
  assert.match(mismatched.stderr, /^smokehub start: --tls-cert .*hub-op\.pem and --tls-key .*other-key\.pem do not belong together/);
  const garbage = join(dir, 'garbage.pem');
  writeFileSync(garbage, 'not a certificate\n');
  const broken = await cli([...base, '--tls-cert', garbage, '--tls-key', good.key]);
  assert.equal(broken.code, 1);
  assert.equal(broken.stderr.trim().split('\n').length, 1, broken.stderr);
  assert.match(broken.stderr, /--tls-cert .*garbage\.pem is not a valid PEM certificate/);
  const half = await cli([...base, '--tls-cert', good.cert]);
  assert.match(half.stderr, /--tls-cert and --tls-key go together: --tls-key is missing/);

  const hub = await startTestHub({ config: { tlsCert: good.cert, tlsKey: good.key } });
  t.after(() => hub.stop());
  const health = await run('curl', ['-sS', '--fail', '--cacert', ca.cert, `${hub.httpsUrl}/health`]);
  assert.equal(JSON.parse(health.stdout).status, 'ok');
  assert.equal(existsSync(join(hub.dataDir, 'tls', 'ca.pem')), false, 'no local CA made when the operator brings a certificate');
  const shown = await cli(['tls', 'show', '--data', hub.dataDir, '--tls-cert', good.cert, '--tls-key', good.key]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.ok(shown.stdout.includes(new X509Certificate(readFileSync(good.cert)).fingerprint256), shown.stdout);
  await assert.rejects(
    startHub({ ...hub.config, dataDir: join(dir, 'data2'), tlsKey: otherKey }, { logger: silentLogger() }),
    (e: unknown) => e instanceof ConfigError,
  );
});

test('a server certificate about to expire is renewed at start; the CA stays', async (t) => {
  const dataDir = tempDir(t);
  const first = await startTestHub({ dataDir });
  const caFp = first.hub.tls.material.ca!.fingerprint256;
  await first.stop();
  const tls = join(dataDir, 'tls');
  // Replace the server certificate by one (signed by the hub's CA with openssl) that expires tomorrow.
  const short = await opensslServer(
    tls,
    { cert: join(tls, 'ca.pem'), key: join(tls, 'ca-key.pem') },
    { name: 'short', days: 1, san: 'IP:127.0.0.1,DNS:localhost' },
  );
  writeFileSync(join(tls, 'hub.pem'), readFileSync(short.cert));
  writeFileSync(join(tls, 'hub-key.pem'), readFileSync(short.key), { mode: 0o600 });
  const shortFp = new X509Certificate(readFileSync(short.cert)).fingerprint256;

  const second = await startTestHub({ dataDir });
  t.after(() => second.stop());
  const renewed = new X509Certificate(readFileSync(join(tls, 'hub.pem')));
  assert.notEqual(renewed.fingerprint256, shortFp, 'hub.pem was replaced');
  assert.ok(Date.parse(renewed.validTo) > Date.now() + 300 * DAY, `renewed until ${renewed.validTo}`);
  assert.equal(second.hub.tls.material.ca!.fingerprint256, caFp, 'the CA is kept');
  assert.equal(second.hub.tls.createdCa, false);
  assert.equal((await servedCert(second.hub.httpsPort)).fingerprint256, renewed.fingerprint256);
  const health = await run('curl', ['-sS', '--fail', '--cacert', join(tls, 'ca.pem'), `${second.httpsUrl}/health`]);
  assert.equal(JSON.parse(health.stdout).status, 'ok');
});

test('a running hub renews its certificate at the daily check and serves it without a restart', async (t) => {
  const dataDir = tempDir(t);
  const seed = await startTestHub({ dataDir });
  const config = seed.config;
  await seed.stop();
  // A server certificate (signed by the hub's CA with openssl, for all of the hub's names) that has
  // 31 days left: kept at start, due for renewal (under 30 days) at the next daily check.
  const tls = join(dataDir, 'tls');
  const names = formatNames(hubNames({ hostname: hostname(), interfaces: networkInterfaces(), listenHost: config.host }));
  const month = await opensslServer(tls, { cert: join(tls, 'ca.pem'), key: join(tls, 'ca-key.pem') }, { name: 'month', days: 31, san: names });
  writeFileSync(join(tls, 'hub.pem'), readFileSync(month.cert));
  writeFileSync(join(tls, 'hub-key.pem'), readFileSync(month.key), { mode: 0o600 });
  const monthFp = new X509Certificate(readFileSync(month.cert)).fingerprint256;

  const clock = new ManualClock(Date.now());
  const hub = await startHub(config, { logger: silentLogger(), tlsClock: clock });
  t.after(() => hub.stop());
  assert.equal((await servedCert(hub.mqttsPort)).fingerprint256, monthFp, 'kept at start (31 days left)');
  const ca = readFileSync(join(tls, 'ca.pem'));
  const open = await pool.connect(`mqtts://127.0.0.1:${hub.mqttsPort}`, { clientId: 'station-open', username: 'admin', password: seed.adminPassword, ca });
  clock.advance(DAY); // the daily check: 30 days left, less than that by now
  await hub.tls.check();
  const onDisk = new X509Certificate(readFileSync(join(tls, 'hub.pem')));
  assert.notEqual(onDisk.fingerprint256, monthFp, 'hub.pem renewed');
  assert.ok(Date.parse(onDisk.validTo) > Date.now() + 300 * DAY);
  assert.equal((await servedCert(hub.mqttsPort)).fingerprint256, onDisk.fingerprint256, 'mqtts serves the renewed certificate');
  assert.equal((await servedCert(hub.httpsPort)).fingerprint256, onDisk.fingerprint256, 'https serves the renewed certificate');
  assert.ok(open.connected, 'an open connection keeps going');
  const fresh = await pool.connect(`mqtts://127.0.0.1:${hub.mqttsPort}`, { clientId: 'station-new', username: 'admin', password: seed.adminPassword, ca });
  assert.ok(fresh.connected, 'the renewed certificate verifies against the same CA');
  await Promise.all([open.endAsync(true), fresh.endAsync(true)]);
});

test('the bridge with --ca connects over mqtts and gets alerts; the simulator with --ca connects too', async (t) => {
  const cred = th.device('t1-h3-smoke');
  const settings = toBridgeSettings(
    loadBridgeValues({
      flags: { hub: th.mqttsUrl, household: cred.household, device: cred.device, secret: cred.secret, serial: '/dev/null', ca: caFile },
      env: {},
    }),
  );
  assert.equal(settings.ca, readFileSync(caFile, 'utf8'));
  const link = new HubLink({
    url: settings.hub,
    ca: settings.ca,
    household: settings.household,
    device: settings.device,
    secret: settings.secret,
    logger: silentLogger(),
  });
  t.after(() => link.stop());
  const connected = new Promise<void>((resolve) => link.once('connected', () => resolve()));
  const alerted = new Promise<string>((resolve) => link.on('alert', (v) => resolve(v.origin.device)));
  link.start();
  await connected;
  const origin = await pool.device(th.mqttUrl, th.device('t1-h1-panic'));
  await origin.publishAsync('smokehub/h/t1-h1/d/t1-h1-panic/event', evt('panic'), { qos: 1 });
  assert.equal(await alerted, 't1-h1-panic');
  for (const v of th.hub.alarms.openViews()) th.hub.alarms.resolve(v.alarm, { by: { kind: 'user', id: 'test', role: 'station' }, via: 'http' });
  assert.throws(
    () =>
      toBridgeSettings(
        loadBridgeValues({
          flags: { hub: th.mqttUrl, household: cred.household, device: cred.device, secret: cred.secret, serial: '/dev/null', ca: caFile },
          env: {},
        }),
      ),
    /--ca is for a TLS hub URL/,
  );
  assert.throws(
    () =>
      toBridgeSettings(
        loadBridgeValues({
          flags: { hub: th.mqttsUrl, household: cred.household, device: cred.device, secret: cred.secret, serial: '/dev/null', ca: '/nonexistent/ca.pem' },
          env: {},
        }),
      ),
    /cannot read --ca \/nonexistent\/ca\.pem: no such file/,
  );

  const sim = new Simulator({
    hub: th.mqttsUrl,
    ca: readFileSync(caFile, 'utf8'),
    credentials: [th.device('t2-h2-smoke'), th.device('t2-h3-smoke')],
    logger: silentLogger(),
    rate: 0.01,
  });
  t.after(() => sim.stop());
  await sim.start();
  const deadline = Date.now() + 10_000;
  while (sim.stats().connected < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(sim.stats().connected, 2, 'both simulated devices connected over mqtts');
});

test('the dashboard works over https and wss: login, live connection, an alarm card from an mqtts event', { timeout: 60_000 }, async (t) => {
  const { ensureDashboardBuilt, login } = await import('../dashboard/browser.ts');
  const { chromium } = await import('playwright-core');
  await ensureDashboardBuilt();
  // Chromium trusts the hub's certificate by its public key (what installing the CA does on a phone).
  const der = new X509Certificate(readFileSync(join(th.dataDir, 'tls', 'hub.pem'))).publicKey.export({ type: 'spki', format: 'der' });
  const spki = createHash('sha256').update(der).digest('base64');
  const b = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      `--ignore-certificate-errors-spki-list=${spki}`,
    ],
  });
  t.after(() => b.close());
  const page = await (await b.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-GB' })).newPage();
  await login(page, th.httpsUrl, 'admin', th.adminPassword);
  assert.equal(new URL(page.url()).protocol, 'https:');
  await page.locator('.live-pill[data-live="online"]').waitFor({ timeout: 10_000 });
  const c = th.device('t2-h3-smoke');
  await run(
    'mosquitto_pub',
    [
      '--cafile',
      caFile,
      '-h',
      '127.0.0.1',
      '-p',
      String(th.hub.mqttsPort),
      '-V',
      'mqttv311',
      '-i',
      c.device,
      '-u',
      c.device,
      '-P',
      c.secret,
      '-t',
      `smokehub/h/${c.household}/d/${c.device}/event`,
      '-q',
      '1',
      '-m',
      evt('smoke'),
    ],
    { timeout: 10_000 },
  );
  await page.locator('.alarm-card').first().waitFor({ timeout: 10_000 });
  assert.match(await page.locator('.alarm-card').first().innerText(), /Nhà Nguyễn 2\.3/);
  const cookies = await page.context().cookies();
  assert.equal(cookies.find((k) => k.name === 'smokehub_session')?.secure, true, 'the browser holds a Secure session cookie');
  for (const v of th.hub.alarms.openViews()) th.hub.alarms.resolve(v.alarm, { by: { kind: 'user', id: 'test', role: 'station' }, via: 'http' });
});

test('pure helpers: the names a certificate needs, and when it is renewed', () => {
  const names = hubNames({
    hostname: 'SmokeHub-Pi',
    interfaces: {
      lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true, netmask: '255.0.0.0', mac: '', cidr: null }],
      wlan0: [
        { address: '192.168.1.10', family: 'IPv4', internal: false, netmask: '255.255.255.0', mac: '', cidr: null },
        { address: 'fe80::1', family: 'IPv6', internal: false, netmask: 'ffff:ffff:ffff:ffff::', mac: '', cidr: null, scopeid: 3 },
        { address: '2001:db8:0:0::5', family: 'IPv6', internal: false, netmask: 'ffff:ffff:ffff:ffff::', mac: '', cidr: null, scopeid: 0 },
      ],
    },
    listenHost: '0.0.0.0',
  });
  assert.deepEqual(names, { dns: ['localhost', 'smokehub-pi', 'smokehub-pi.local'], ips: ['127.0.0.1', '::1', '192.168.1.10', '2001:db8::5'] });
  const now = Date.UTC(2026, 5, 1);
  const cert = { notBefore: now - DAY, notAfter: now + 100 * DAY, names };
  assert.deepEqual(renewalDecision(cert, now, names), { renew: false });
  assert.equal(renewalDecision(cert, now + 71 * DAY, names).renew, true, 'under 30 days left');
  assert.equal(renewalDecision(cert, now + 101 * DAY, names).renew, true, 'expired');
  const moved = renewalDecision(cert, now, { ...names, ips: [...names.ips, '10.0.0.7'] });
  assert.ok(moved.renew && moved.detail.includes('IP:10.0.0.7'), 'a new address');
  const behind = renewalDecision(cert, now - 30 * DAY, names);
  assert.ok(!behind.renew && behind.warning?.includes('clock'), 'a clock behind the issue date: kept, with a warning');
});
