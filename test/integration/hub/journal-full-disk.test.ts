/**
 * A real full filesystem under the hub's data dir (a small tmpfs, mounted by the test, which runs as
 * root): every event the hub PUBACKs is in the journal after kill -9 and a restart; an event whose
 * write could not land is announced from memory but not acknowledged, so its device keeps it and
 * sends it again (hub/app/journal-writer.ts, hub/broker/mqtt-broker.ts `authorizePublish`).
 *
 * SQLite reuses the WAL file's pages after a checkpoint: on a full disk a commit that fits in them
 * still succeeds (and is durable). So that the journal write really needs new space, each scenario
 * truncates the WAL (`wal_checkpoint(TRUNCATE)`) just before filling the disk.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import type { MqttClient } from 'mqtt';
import { openDatabase, DB_FILE } from '../../../hub/store/database.ts';
import { SqliteRegistryStore } from '../../../hub/store/registry-store.ts';
import { importCsv } from '../../../hub/store/csv-import.ts';
import { RESERVE_FILE } from '../../../hub/store/disk-reserve.ts';
import { neighbourhoodCsv } from '../../helpers/hub-harness.ts';
import { ClientPool, Inbox, sleep } from '../../helpers/mqtt-clients.ts';
import { freePort } from '../../helpers/ports.ts';

const root = mkdtempSync(join(tmpdir(), 'smokehub-fulldisk-'));
const mounts: string[] = [];
const children = new Set<ChildProcess>();
const pool = new ClientPool();

after(async () => {
  await pool.closeAll();
  await Promise.all([...children].map(killHard));
  for (const m of mounts.reverse()) {
    try {
      execFileSync('umount', [m], { stdio: 'pipe' });
    } catch {
      try {
        execFileSync('umount', ['-l', m], { stdio: 'pipe' });
      } catch (err) {
        console.error(`could not unmount ${m}: ${(err as Error).message}`);
      }
    }
  }
  rmSync(root, { recursive: true, force: true });
});

/** Mounts an 8 MiB tmpfs (unmounted in `after`); `refused` says why when mounting is not allowed. */
function mountTmpfs(name: string): { dir: string } | { refused: string } {
  const dir = join(root, name);
  mkdirSync(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    return {
      refused: `mount -t tmpfs refused (${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}): this test needs root and mount rights`,
    };
  }
  mounts.push(dir);
  return { dir };
}

/** Enrols one team of four households (smoke + panic each); returns the device credentials. */
function enrol(dataDir: string): (device: string) => { device: string; secret: string } {
  const db = openDatabase(dataDir);
  const store = new SqliteRegistryStore(db, { dataDir });
  const creds = importCsv(store, neighbourhoodCsv(1, 4)).credentials;
  db.close();
  return (d) => {
    const c = creds.find((x) => x.device === d);
    if (!c) throw new Error(`no credential for ${d}`);
    return c;
  };
}

interface Child {
  child: ChildProcess;
  mqttUrl: string;
  httpUrl: string;
}

async function startChild(dataDir: string, ports: { mqtt: number; http: number }, reserveBytes: number): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/hub-child.ts'], {
    env: {
      ...process.env,
      SMOKEHUB_DATA: dataDir,
      SMOKEHUB_HOST: '127.0.0.1',
      SMOKEHUB_MQTT_PORT: String(ports.mqtt),
      SMOKEHUB_HTTP_PORT: String(ports.http),
      SMOKEHUB_VERIFY_WINDOW_S: '0',
      HUB_CHILD_EXTENSIONS: 'none', // no telemetry store on the tiny disk
      HUB_CHILD_RESERVE_BYTES: String(reserveBytes),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`hub exited with ${code}`)));
    setTimeout(() => reject(new Error('hub did not start in 20 s')), 20_000).unref();
  });
  return { child, mqttUrl: `mqtt://127.0.0.1:${ports.mqtt}`, httpUrl: `http://127.0.0.1:${ports.http}` };
}

function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Waits for `check` to return a value (not undefined/false) within `ms`. */
async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, ms: number, what: string): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** Empties the WAL into the database file and truncates it, so the next commit must allocate space. */
function truncateWal(dataDir: string): void {
  const db = new Database(join(dataDir, DB_FILE));
  db.pragma('busy_timeout = 5000');
  const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
  db.close();
  assert.equal(r!.busy, 0, 'the WAL was checkpointed and truncated');
  assert.equal(statSync(join(dataDir, `${DB_FILE}-wal`)).size, 0, 'the WAL is empty');
}

/** Writes a filler file until the filesystem refuses with ENOSPC; returns its path. */
function fillDisk(dir: string): string {
  const path = join(dir, 'filler.bin');
  const fd = openSync(path, 'w');
  try {
    for (const size of [1 << 20, 64 << 10, 4096, 512, 1]) {
      const buf = Buffer.alloc(size, 0xa5);
      for (;;) {
        try {
          if (writeSync(fd, buf) < size) break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  assert.equal(statfsSync(dir).bavail, 0, 'the filesystem is full');
  return path;
}

/** A QoS 1 publish whose PUBACK time is recorded. */
function publishTracked(client: MqttClient, topic: string, payload: string): { ackedAt: () => number | null; acked: Promise<number> } {
  let at: number | null = null;
  const acked = new Promise<number>((resolve, reject) => {
    client.publish(topic, payload, { qos: 1 }, (err) => {
      if (err) return reject(err);
      at = performance.now();
      resolve(at);
    });
  });
  acked.catch(() => {});
  return { ackedAt: () => at, acked };
}

async function health(httpUrl: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${httpUrl}/health`);
  return { status: res.status, body: await res.json() };
}

async function metric(httpUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/** What the journal holds (read from the SQLite file, the hub stopped). */
function readJournal(dataDir: string): {
  seen: Set<string>;
  alarms: Array<{ id: string; household: string; kind: string }>;
  timeline: Array<{ alarm_id: string; transition: string }>;
} {
  const db = new Database(join(dataDir, DB_FILE), { readonly: true });
  try {
    const seen = new Set(
      (db.prepare('SELECT device, event_id FROM seen_events').all() as Array<{ device: string; event_id: string }>).map((r) => `${r.device}/${r.event_id}`),
    );
    const alarms = db.prepare('SELECT id, household, kind FROM alarms').all() as Array<{ id: string; household: string; kind: string }>;
    const timeline = db.prepare('SELECT alarm_id, transition FROM alarm_timeline ORDER BY seq').all() as Array<{ alarm_id: string; transition: string }>;
    return { seen, alarms, timeline };
  } finally {
    db.close();
  }
}

const eventTopic = (device: string) => `smokehub/h/${device.replace(/-(smoke|panic)$/, '')}/d/${device}/event`;
const smoke = (id: string) => JSON.stringify({ id, type: 'smoke' });

test('no reserve, disk full: the alarm goes out, the PUBACK waits; after kill -9 and a restart the resent event lands', async (t) => {
  const m = mountTmpfs('a');
  if ('refused' in m) return t.skip(m.refused);
  const dataDir = join(m.dir, 'data');
  const cred = enrol(dataDir);
  const ports = { mqtt: await freePort(), http: await freePort() };
  let hub = await startChild(dataDir, ports, 0);
  assert.equal(existsSync(join(dataDir, RESERVE_FILE)), false, 'reserveBytes 0: no reserve file');

  const neighbour = await pool.device(hub.mqttUrl, cred('t1-h2-smoke'));
  const nIn = new Inbox(neighbour);
  await neighbour.subscribeAsync('smokehub/h/t1-h2/alert', { qos: 1 });
  // The device keeps reconnecting (same ports after the restart) and resends its unacknowledged event.
  const origin = await pool.device(hub.mqttUrl, cred('t1-h1-smoke'), { reconnectPeriod: 100 });

  truncateWal(dataDir);
  const filler = fillDisk(m.dir);
  const sentAt = performance.now();
  const pub = publishTracked(origin, eventTopic('t1-h1-smoke'), smoke('full-a-1'));

  const alert = (await nIn.next((x) => x.json().origin?.household === 't1-h1', 3000, "the neighbour's alert (announced from memory)")).json();
  t.diagnostic(`alert announced ${(performance.now() - sentAt).toFixed(0)} ms after the publish on a full disk (alarm ${alert.alarm}, state ${alert.state})`);
  const h = await until(
    async () => {
      const r = await health(hub.httpUrl);
      return r.status === 503 && r;
    },
    3000,
    '/health 503',
  );
  assert.deepEqual([h.body.status, h.body.reasons], ['degraded', ['journal']]);
  assert.ok((await metric(hub.httpUrl, 'smokehub_journal_errors_total')) > 0, 'journal errors counted');
  // Bounded negative check: no PUBACK within 2 s of the publish.
  await sleep(Math.max(0, 2000 - (performance.now() - sentAt)));
  assert.equal(pub.ackedAt(), null, 'no PUBACK while the journal entry cannot be written');
  assert.ok((await metric(hub.httpUrl, 'smokehub_journal_backlog')) >= 1, 'the write waits in memory');

  await killHard(hub.child);
  unlinkSync(filler);
  const restartAt = performance.now();
  hub = await startChild(dataDir, ports, 0);
  const listeningAt = performance.now();
  const ackedAt = await Promise.race([pub.acked, sleep(10_000).then(() => Promise.reject(new Error('no PUBACK within 10 s of the restart')))]);
  t.diagnostic(
    `after the restart: hub listening ${(listeningAt - restartAt).toFixed(0)} ms after spawn, resent event PUBACKed ${(ackedAt - listeningAt).toFixed(0)} ms after it listened`,
  );
  assert.equal((await health(hub.httpUrl)).status, 200, 'healthy after the restart');

  await pool.closeAll();
  await killHard(hub.child);
  const j = readJournal(dataDir);
  assert.ok(j.seen.has('t1-h1-smoke/full-a-1'), 'the acknowledged event is in seen_events');
  const raised = j.alarms.filter((a) => a.household === 't1-h1' && a.kind === 'smoke');
  assert.equal(raised.length, 1, 'one smoke alarm of t1-h1 is journalled');
  assert.ok(
    j.timeline.some((e) => e.alarm_id === raised[0]!.id),
    'with its timeline',
  );
  t.diagnostic(`alarm id announced from memory before the kill: ${alert.alarm}; journalled after the restart: ${raised[0]!.id}`);
});

test('no reserve, disk full: freeing space lets the waiting write land without a restart (PUBACK, /health 200)', async (t) => {
  const m = mountTmpfs('c');
  if ('refused' in m) return t.skip(m.refused);
  const dataDir = join(m.dir, 'data');
  const cred = enrol(dataDir);
  const ports = { mqtt: await freePort(), http: await freePort() };
  const hub = await startChild(dataDir, ports, 0);
  const neighbour = await pool.device(hub.mqttUrl, cred('t1-h2-smoke'));
  const nIn = new Inbox(neighbour);
  await neighbour.subscribeAsync('smokehub/h/t1-h2/alert', { qos: 1 });
  const origin = await pool.device(hub.mqttUrl, cred('t1-h1-smoke'));

  truncateWal(dataDir);
  const filler = fillDisk(m.dir);
  const sentAt = performance.now();
  const pub = publishTracked(origin, eventTopic('t1-h1-smoke'), smoke('full-c-1'));
  await nIn.next(() => true, 3000, "the neighbour's alert (announced from memory)");
  await until(async () => (await health(hub.httpUrl)).status === 503, 3000, '/health 503');
  await sleep(Math.max(0, 2000 - (performance.now() - sentAt)));
  assert.equal(pub.ackedAt(), null, 'no PUBACK while the disk is full');
  const retriesBefore = await metric(hub.httpUrl, 'smokehub_journal_retries_total');
  assert.ok(retriesBefore >= 1, `the hub retries every second (${retriesBefore} retries so far)`);
  // Free the space just after a failed retry: the worst case, the next retry is a second away.
  await until(async () => (await metric(hub.httpUrl, 'smokehub_journal_retries_total')) > retriesBefore, 3000, 'the next retry');

  unlinkSync(filler);
  const freedAt = performance.now();
  const ackedAt = await Promise.race([pub.acked, sleep(5000).then(() => Promise.reject(new Error('no PUBACK within 5 s of freeing space')))]);
  const healthyAt = await until(async () => (await health(hub.httpUrl)).status === 200 && performance.now(), 5000, '/health back to 200');
  t.diagnostic(
    `space freed just after a failed retry → PUBACK ${(ackedAt - freedAt).toFixed(0)} ms, → /health 200 ${(healthyAt - freedAt).toFixed(0)} ms (retry every 1000 ms)`,
  );
  assert.equal(await metric(hub.httpUrl, 'smokehub_journal_backlog'), 0, 'nothing waits any more');
  // The normal path again: the next event is acknowledged at once.
  const next = publishTracked(origin, eventTopic('t1-h1-smoke'), JSON.stringify({ id: 'full-c-2', type: 'clear' }));
  const nextAt = await Promise.race([next.acked, sleep(3000).then(() => Promise.reject(new Error('no PUBACK for the next event')))]);
  t.diagnostic(`next event PUBACKed ${(nextAt - ackedAt).toFixed(0)} ms after the first`);

  await pool.closeAll();
  await killHard(hub.child);
  const j = readJournal(dataDir);
  assert.ok(j.seen.has('t1-h1-smoke/full-c-1') && j.seen.has('t1-h1-smoke/full-c-2'), 'both events are journalled');
  assert.ok(
    j.alarms.some((a) => a.household === 't1-h1' && a.kind === 'smoke'),
    'the alarm is journalled',
  );
});

test('1 MiB reserve, disk full: a burst of 20 events; every PUBACKed event is in the journal after kill -9 and a restart', async (t) => {
  const m = mountTmpfs('b');
  if ('refused' in m) return t.skip(m.refused);
  const dataDir = join(m.dir, 'data');
  const cred = enrol(dataDir);
  const ports = { mqtt: await freePort(), http: await freePort() };
  const reserveBytes = 1024 * 1024;
  let hub = await startChild(dataDir, ports, reserveBytes);
  const reservePath = join(dataDir, RESERVE_FILE);
  assert.equal(statSync(reservePath).size, reserveBytes, 'the reserve file is made at start');

  const devices = ['t1-h1-smoke', 't1-h2-smoke', 't1-h3-panic', 't1-h4-smoke'];
  const clients = new Map<string, MqttClient>();
  for (const d of devices) clients.set(d, await pool.device(hub.mqttUrl, cred(d), { reconnectPeriod: 100 }));

  truncateWal(dataDir);
  const filler = fillDisk(m.dir);
  const sentAt = performance.now();
  const sent: Array<{ key: string; pub: ReturnType<typeof publishTracked> }> = [];
  for (let i = 0; i < 5; i++) {
    for (const d of devices) {
      const id = `burst-${i}`;
      const type = d.endsWith('-panic') ? 'panic' : 'smoke';
      sent.push({ key: `${d}/${id}`, pub: publishTracked(clients.get(d)!, eventTopic(d), JSON.stringify({ id, type })) });
    }
  }
  // Wait for the acknowledgements that come (all of them once the reserve's space took the writes).
  await until(() => sent.every((s) => s.pub.ackedAt() !== null), 5000, 'PUBACKs of the burst').catch(() => {});
  const ackedBeforeKill = sent.filter((s) => s.pub.ackedAt() !== null);
  const firstAck = Math.min(...ackedBeforeKill.map((s) => s.pub.ackedAt()!));
  const lastAck = Math.max(...ackedBeforeKill.map((s) => s.pub.ackedAt()!));
  t.diagnostic(
    `${ackedBeforeKill.length}/${sent.length} PUBACKed on the full disk; first ${(firstAck - sentAt).toFixed(0)} ms, last ${(lastAck - sentAt).toFixed(0)} ms after the burst started`,
  );
  assert.ok(ackedBeforeKill.length >= 1, 'at least one PUBACK: the reserve was released and the retry landed');
  assert.equal(existsSync(reservePath), false, 'the reserve file was released');
  assert.ok((await metric(hub.httpUrl, 'smokehub_journal_errors_total')) > 0, 'the failed write was counted');

  await killHard(hub.child);
  unlinkSync(filler);
  const afterKill = readJournal(dataDir);
  const missing = ackedBeforeKill.filter((s) => !afterKill.seen.has(s.key)).map((s) => s.key);
  assert.deepEqual(missing, [], 'every PUBACKed event is in the journal after kill -9');

  // Restart: the reserve is made again, the devices resend what was not acknowledged; everything lands.
  hub = await startChild(dataDir, ports, reserveBytes);
  assert.equal(statSync(reservePath).size, reserveBytes, 'the reserve file is made again at start');
  await until(() => sent.every((s) => s.pub.ackedAt() !== null), 10_000, 'every event PUBACKed after the restart');
  await pool.closeAll();
  await killHard(hub.child);
  const j = readJournal(dataDir);
  assert.deepEqual(
    sent.filter((s) => !j.seen.has(s.key)).map((s) => s.key),
    [],
    'all 20 events are journalled after the restart',
  );
  assert.ok(j.alarms.length >= 1 && j.timeline.length >= j.alarms.length, 'alarms and their timelines are journalled');
  const raisedCount = j.timeline.filter((e) => e.transition === 'raised').length;
  t.diagnostic(`journal: ${j.alarms.length} alarms, ${j.timeline.length} timeline entries (${raisedCount} raised)`);
});

test('the released reserve is made again once the disk has room, without a restart', async (t) => {
  const m = mountTmpfs('d');
  if ('refused' in m) return t.skip(m.refused);
  const dataDir = join(m.dir, 'data');
  const cred = enrol(dataDir);
  const ports = { mqtt: await freePort(), http: await freePort() };
  const reserveBytes = 1024 * 1024;
  const hub = await startChild(dataDir, ports, reserveBytes);
  const reservePath = join(dataDir, RESERVE_FILE);
  const origin = await pool.device(hub.mqttUrl, cred('t1-h1-smoke'));
  truncateWal(dataDir);
  const filler = fillDisk(m.dir);
  const pub = publishTracked(origin, eventTopic('t1-h1-smoke'), smoke('full-d-1'));
  await Promise.race([pub.acked, sleep(3000).then(() => Promise.reject(new Error('no PUBACK: the reserve did not take the write')))]);
  assert.equal(existsSync(reservePath), false, 'the reserve was released');
  unlinkSync(filler);
  try {
    // The released reserve is tried again every 10 s while the disk has no room for it.
    await until(() => existsSync(reservePath), 15_000, 'the reserve file to be made again');
  } finally {
    await pool.closeAll();
    await killHard(hub.child);
  }
});
