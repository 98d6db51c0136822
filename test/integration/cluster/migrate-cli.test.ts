/**
 * `smokehub migrate --from DATA --postgres URL`, and `smokehub import` / `smokehub user` with
 * `--postgres`, run as child processes against a real PostgreSQL: a single box with households,
 * users, a closed alarm and open alarms (pre-alarm and active, each with a deadline) arrives whole;
 * a rerun copies nothing; a target that differs is refused without --force; DATA is never written.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alarmView, newAlarmRecord, type AlarmRecord, type Directory } from '../../../hub/core/alarm-record.ts';
import type { Actor, Via } from '../../../hub/protocol/schema.ts';
import { AlarmJournal, type TimelineEntry } from '../../../hub/store/alarm-journal.ts';
import { loadOrCreateHubKey } from '../../../hub/store/credentials.ts';
import { importCsv } from '../../../hub/store/csv-import.ts';
import { cli, GOOD, tempDir } from '../../helpers/cli-kit.ts';
import { createDatabase, openPgStore, testPool } from '../../helpers/pg-registry-kit.ts';
import { freePort } from '../../helpers/ports.ts';
import { type PostgresServer, startPostgres } from '../../helpers/postgres-server.ts';
import { csv, tempRegistry } from '../../helpers/registry-kit.ts';

let server: PostgresServer;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

const T0 = Date.now() - 3600_000;
const directory: Directory = {
  household: (id) => ({ id, team: 'T1', name: `Nhà ${id}`, address: 'Lê Lợi', lat: null, lon: null }),
  householdsOfTeam: () => [],
};
const device = (id: string): Actor => ({ kind: 'device', id });
const hub = (reason: string): Actor => ({ kind: 'hub', reason });

interface Box {
  dir: string;
  secrets: Array<{ device: string; secret: string }>;
  leadPassword: string;
  pre: AlarmRecord;
  active: AlarmRecord;
  closed: AlarmRecord;
  timelines: Map<string, TimelineEntry[]>;
}

/** A stopped single box: three households, two users, a closed alarm, an open pre-alarm and an open active alarm, seen events. */
async function makeBox(t: TestContext): Promise<Box> {
  const { dir, db, store } = tempRegistry(t);
  const r = importCsv(
    store,
    csv('T1,H1,Nhà A,1 Đường A,0901000001,10.5,106.25,D1,smoke,', 'T1,H2,Nhà B,2 Đường B,,,,D2,heat,', 'T2,H3,Nhà C,3 Đường C,,,,D3,co,'),
  );
  const lead = await store.addUser({ username: 'lead', role: 'team-leader', team: 'T1' });
  await store.addUser({ username: 'nha-a', role: 'household', household: 'H1', password: 'household password' });
  const journal = new AlarmJournal(db);
  const write = (rec: AlarmRecord, transition: string, by: Actor, via: Via) =>
    journal.write({ record: structuredClone(rec), view: alarmView(rec, directory), transition, detail: { step: transition }, by, via });

  const closed = newAlarmRecord('A-closed', { team: 'T1', household: 'H2', device: 'D2' }, 'heat', T0, T0 + 20_000);
  write(closed, 'raised', device('D2'), 'mqtt');
  Object.assign(closed, { state: 'active', verifyDeadline: null, escalateDeadline: T0 + 140_000, updatedAt: T0 + 20_000, neighboursAlerted: true });
  write(closed, 'verified', hub('verify-window'), 'timer');
  Object.assign(closed, { state: 'resolved', escalateDeadline: null, closedAt: T0 + 60_000, updatedAt: T0 + 60_000 });
  write(closed, 'resolved', { kind: 'user', id: 'lead', role: 'team-leader' }, 'http');
  journal.note('A-closed', T0 + 61_000, 'sms-sent', { to: '+84901000001' }, hub('sms'), 'timer');

  const now = Date.now();
  const pre = newAlarmRecord('A-pre', { team: 'T1', household: 'H1', device: 'D1' }, 'smoke', now, now + 20_000);
  write(pre, 'raised', device('D1'), 'mqtt');
  const active = newAlarmRecord('A-active', { team: 'T2', household: 'H3', device: 'D3' }, 'co', now - 30_000, now - 10_000);
  write(active, 'raised', device('D3'), 'mqtt');
  Object.assign(active, { state: 'active', verifyDeadline: null, escalateDeadline: now + 90_000, updatedAt: now - 10_000, neighboursAlerted: true });
  write(active, 'verified', hub('verify-window'), 'timer');
  journal.markEventSeen('D1', 'e-1', now);
  journal.markEventSeen('D3', 'e-7', now - 30_000);
  journal.markEventSeen('D2', 'e-2', T0);
  const timelines = new Map(['A-closed', 'A-pre', 'A-active'].map((id) => [id, journal.timeline(id)]));
  db.close();
  return { dir, secrets: r.credentials, leadPassword: lead.password, pre, active, closed, timelines };
}

/** Every file of a directory with its bytes' hash (DATA must come out as it went in). */
function fingerprint(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir).map((f) => [
      f,
      createHash('sha256')
        .update(readFileSync(join(dir, f)))
        .digest('hex'),
    ]),
  );
}

async function counts(pool: ReturnType<typeof testPool>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of ['teams', 'households', 'devices', 'users', 'alarms', 'alarm_timeline', 'seen_events'])
    out[table] = Number((await pool.query(`SELECT COUNT(*) AS n FROM ${table}`)).rows[0].n);
  return out;
}

test('migrate: registry, users and the whole journal in PostgreSQL; a rerun changes nothing and says so; DATA untouched', async (t) => {
  const box = await makeBox(t);
  const before = fingerprint(box.dir);
  const url = server.url(createDatabase(server, 'mcli'));
  const pool = testPool(t, url);

  const first = await cli(['migrate', '--from', box.dir, '--postgres', url]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /^migrated /);
  assert.match(first.stderr, /households 3 copied, 0 already there/);
  assert.match(first.stderr, /alarms 3 copied, 0 already there; timeline 7 copied, 0 already there; seen_events 3 copied/);
  assert.match(first.stderr, /2 open alarms, 2 with a pending deadline/);
  assert.match(first.stderr, /every node needs .*hub\.key/);
  assert.deepEqual(await counts(pool), { teams: 2, households: 3, devices: 3, users: 2, alarms: 3, alarm_timeline: 7, seen_events: 3 });

  const rows = (await pool.query('SELECT id, state, open, next_deadline, closed_at FROM alarms ORDER BY id')).rows;
  assert.deepEqual(rows, [
    { id: 'A-active', state: 'active', open: true, next_deadline: box.active.escalateDeadline, closed_at: null },
    { id: 'A-closed', state: 'resolved', open: false, next_deadline: null, closed_at: box.closed.closedAt },
    { id: 'A-pre', state: 'pre-alarm', open: true, next_deadline: box.pre.verifyDeadline, closed_at: null },
  ]);
  const record = (await pool.query("SELECT record, view FROM alarms WHERE id = 'A-active'")).rows[0];
  assert.deepEqual(record.record, box.active);
  assert.deepEqual(record.view, alarmView(box.active, directory));
  for (const [id, entries] of box.timelines) {
    const pg = (await pool.query('SELECT at, transition, state, detail, "by", via FROM alarm_timeline WHERE alarm_id = $1 ORDER BY seq', [id])).rows;
    assert.deepEqual(
      pg,
      entries.map(({ seq: _s, ...e }) => e),
      `timeline of ${id}`,
    );
  }
  assert.deepEqual((await pool.query('SELECT device, event_id FROM seen_events ORDER BY device')).rows, [
    { device: 'D1', event_id: 'e-1' },
    { device: 'D2', event_id: 'e-2' },
    { device: 'D3', event_id: 'e-7' },
  ]);

  // What a node reads: the same people and devices, with their secrets and passwords.
  const node = await openPgStore(t, url, { hubKey: loadOrCreateHubKey(box.dir) });
  assert.deepEqual(
    node.listUsers().map((u) => u.username),
    ['lead', 'nha-a'],
  );
  assert.ok(await node.verifyUserPassword('lead', box.leadPassword));
  for (const c of box.secrets) assert.ok(node.verifyDeviceSecret(c.device, c.secret), c.device);

  const seqBefore = (await pool.query('SELECT MAX(seq) AS s FROM alarm_timeline')).rows[0].s;
  const again = await cli(['migrate', '--from', box.dir, '--postgres', url]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /^nothing to copy: .* already holds everything of /);
  assert.match(again.stderr, /alarms 0 copied, 3 already there; timeline 0 copied, 7 already there; seen_events 0 copied, 3 already there/);
  assert.deepEqual(await counts(pool), { teams: 2, households: 3, devices: 3, users: 2, alarms: 3, alarm_timeline: 7, seen_events: 3 });
  assert.equal((await pool.query('SELECT MAX(seq) AS s FROM alarm_timeline')).rows[0].s, seqBefore, 'no timeline entry rewritten');
  assert.deepEqual(fingerprint(box.dir), before, 'DATA is only read');
});

test('migrate: a target that differs is refused without --force (nothing written); --force writes the box over it and keeps the rest', async (t) => {
  const box = await makeBox(t);
  const url = server.url(createDatabase(server, 'mcli'));
  const pool = testPool(t, url);
  assert.equal((await cli(['migrate', '--from', box.dir, '--postgres', url])).code, 0);
  // The cluster moved on: the active alarm escalated there, and a household was enrolled.
  await pool.query("UPDATE alarms SET state = 'escalated' WHERE id = 'A-active'");
  await pool.query(
    `INSERT INTO alarm_timeline (alarm_id, at, transition, state, detail, "by", via) VALUES ('A-active', 1, 'escalated', 'escalated', '{}', '{"kind":"hub","reason":"x"}', 'timer')`,
  );
  await pool.query("INSERT INTO households (id, team, name, address, created_at, updated_at) VALUES ('H9', 'T1', 'Nhà Z', '9 Đường Z', 1, 1)");
  const snapshot = await counts(pool);

  const refused = await cli(['migrate', '--from', box.dir, '--postgres', url]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^smokehub migrate: PostgreSQL already holds another registry or journal \(/);
  assert.match(refused.stderr, /households: 0 different, 1 not from /);
  assert.match(refused.stderr, /alarms: 1 different, 0 not from /);
  assert.match(refused.stderr, /timeline: 1 alarm different, 0 entries not from /);
  assert.match(refused.stderr, /Give --force/);
  assert.doesNotMatch(refused.stderr, /\n\s+at /, 'no stack trace');
  assert.deepEqual(await counts(pool), snapshot, 'nothing written');
  assert.equal((await pool.query("SELECT state FROM alarms WHERE id = 'A-active'")).rows[0].state, 'escalated');

  const forced = await cli(['migrate', '--from', box.dir, '--postgres', url, '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stderr, /forced over: .*\(1 other row kept\)/);
  assert.equal((await pool.query("SELECT state FROM alarms WHERE id = 'A-active'")).rows[0].state, 'active');
  assert.equal((await pool.query("SELECT COUNT(*) AS n FROM alarm_timeline WHERE alarm_id = 'A-active'")).rows[0].n, 2, "the box's timeline, whole");
  assert.equal((await pool.query("SELECT COUNT(*) AS n FROM households WHERE id = 'H9'")).rows[0].n, 1, "the target's other rows are kept");
});

test('migrate: a box that crashed (its last commits still in smokehub.db-wal) is read whole, and still not written', async (t) => {
  const { dir, db, store } = tempRegistry(t);
  db.pragma('wal_autocheckpoint = 0');
  importCsv(store, csv('T1,H1,Nhà A,1 Đường A,,,,D1,smoke,'));
  const journal = new AlarmJournal(db);
  const rec = newAlarmRecord('A-wal', { team: 'T1', household: 'H1', device: 'D1' }, 'smoke', Date.now(), Date.now() + 20_000);
  journal.write({ record: rec, view: alarmView(rec, directory), transition: 'raised', detail: {}, by: device('D1'), via: 'mqtt' });
  // The hub's connection stays open (as if it died): nothing was checkpointed into the main file.
  assert.ok(existsSync(join(dir, 'smokehub.db-wal')));
  const main = createHash('sha256')
    .update(readFileSync(join(dir, 'smokehub.db')))
    .digest('hex');
  const url = server.url(createDatabase(server, 'mcli'));
  const r = await cli(['migrate', '--from', dir, '--postgres', url]);
  assert.equal(r.code, 0, r.stderr);
  const pool = testPool(t, url);
  assert.deepEqual((await pool.query('SELECT id, next_deadline FROM alarms')).rows, [{ id: 'A-wal', next_deadline: rec.verifyDeadline }]);
  assert.equal(Number((await pool.query('SELECT COUNT(*) AS n FROM devices')).rows[0].n), 1);
  assert.equal(
    createHash('sha256')
      .update(readFileSync(join(dir, 'smokehub.db')))
      .digest('hex'),
    main,
    'the main file is not checkpointed by the migration',
  );
  assert.equal(journal.get('A-wal')?.view.state, 'pre-alarm', "the box's own connection still reads it");
});

test('migrate: usage errors exit 2; missing DATA, a bad or unreachable PostgreSQL are one line, exit 1', async (t) => {
  const box = await makeBox(t);
  const noStack = (r: { stderr: string }) => assert.doesNotMatch(r.stderr, /\n\s+at |unexpected error/, r.stderr);
  const usage = await cli(['migrate']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--from DATA is required/);
  const noUrl = await cli(['migrate', '--from', box.dir]);
  assert.equal(noUrl.code, 2);
  assert.match(noUrl.stderr, /--postgres URL is required/);
  const badUrl = await cli(['migrate', '--from', box.dir, '--postgres', 'http://db:5432/x']);
  assert.equal(badUrl.code, 2);
  assert.match(badUrl.stderr, /--postgres must be postgres:\/\/ or postgresql:\/\//);
  const badFlag = await cli(['migrate', '--from', box.dir, '--postgress', 'x']);
  assert.equal(badFlag.code, 2);

  const missing = await cli(['migrate', '--from', join(box.dir, 'nope'), '--postgres', server.url()]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no hub data in .*nope/);
  noStack(missing);

  const closedPort = await freePort();
  const started = Date.now();
  const refused = await cli(['migrate', '--from', box.dir, '--postgres', `postgres://postgres:secret@127.0.0.1:${closedPort}/x`, '--connect-timeout', '2']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^smokehub migrate: PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/x is unreachable: .*ECONNREFUSED/);
  assert.doesNotMatch(refused.stderr, /secret/, 'no password in messages');
  noStack(refused);
  assert.ok(Date.now() - started < 15_000);

  const noDb = await cli(['migrate', '--from', box.dir, '--postgres', server.url('no_such_db')]);
  assert.equal(noDb.code, 1);
  assert.match(noDb.stderr, /refused: database "no_such_db" does not exist/);
  noStack(noDb);

  const notADb = tempDir(t);
  writeFileSync(join(notADb, 'smokehub.db'), 'not a database at all, but long enough to have a header of a hundred bytes '.repeat(3));
  const broken = await cli(['migrate', '--from', notADb, '--postgres', server.url(createDatabase(server, 'mcli'))]);
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /SQLITE_NOTADB/);
  noStack(broken);
});

test('import and user with --postgres (or SMOKEHUB_POSTGRES) write to the cluster registry; DATA only gives the hub key', async (t) => {
  const url = server.url(createDatabase(server, 'mcli'));
  const data = tempDir(t);
  const file = join(tempDir(t), 'good.csv');
  writeFileSync(file, GOOD);
  const imported = await cli(['import', file, '--postgres', url, '--data', data]);
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stderr, /created the hub key .*hub\.key/);
  assert.match(imported.stderr, /imported .* into postgres:\/\/.*households 3 new/);
  assert.ok(!existsSync(join(data, 'smokehub.db')), 'no SQLite registry made');
  const secrets = imported.stdout
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','));
  assert.equal(secrets.length, 3);

  const added = await cli(['user', 'add', 'lead', '--role', 'team-leader', '--team', 'T1', '--postgres', url]);
  assert.equal(added.code, 0, added.stderr);
  const password = /password: (.+)/.exec(added.stdout)![1]!;
  const env = { SMOKEHUB_POSTGRES: url };
  const passwd = await cli(['user', 'passwd', 'lead', '--password', 'a new long password'], 30_000, env);
  assert.equal(passwd.code, 0, passwd.stderr);
  assert.equal((await cli(['user', 'add', 'gone', '--role', 'station'], 30_000, env)).code, 0);
  assert.equal((await cli(['user', 'remove', 'gone'], 30_000, env)).code, 0);
  const list = await cli(['user', 'list'], 30_000, env);
  assert.match(list.stdout, /lead\s+team-leader\s+T1/);
  assert.doesNotMatch(list.stdout, /gone/);
  const unknownTeam = await cli(['user', 'add', 'x', '--role', 'team-leader', '--team', 'T9', '--postgres', url]);
  assert.equal(unknownTeam.code, 1);
  assert.match(unknownTeam.stderr, /T9/);

  const node = await openPgStore(t, url, { hubKey: loadOrCreateHubKey(data) });
  assert.deepEqual(
    node.listHouseholds().map((h) => h.id),
    ['H1', 'H2', 'H3'],
  );
  for (const [, device, secret] of secrets) assert.ok(node.verifyDeviceSecret(device!, secret!), device);
  assert.ok(node.verifyDeviceSecret('D3', 'an-operator-secret-123'));
  assert.equal(await node.verifyUserPassword('lead', password), null, 'the old password no longer works');
  assert.ok(await node.verifyUserPassword('lead', 'a new long password'));

  // Another DATA without the cluster's key: an import would hash secrets nobody can check.
  const other = tempDir(t);
  const noKey = await cli(['import', file, '--postgres', url, '--data', other]);
  assert.equal(noKey.code, 1);
  assert.match(noKey.stderr, /hub\.key is missing, and PostgreSQL already holds devices/);
  rmSync(other, { recursive: true, force: true });
});
