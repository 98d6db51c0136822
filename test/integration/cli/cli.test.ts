/** The `smokehub` CLI as a child process (through tsx) on temp data directories. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

import { cli, env, GOOD, HEADER, ROOT, tempDir, type Run } from '../../helpers/cli-kit.ts';

test('import prints generated credentials as CSV; re-import prints none; households lists them', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'homes.csv');
  writeFileSync(file, '\ufeff' + GOOD);
  const data = join(dir, 'data');
  const first = await cli(['import', file, '--data', data]);
  assert.equal(first.code, 0, first.stderr);
  const lines = first.stdout.trim().split('\n');
  assert.equal(lines[0], 'household,device,secret');
  assert.deepEqual(
    lines.slice(1).map((l) => l.split(',').slice(0, 2).join(',')),
    ['H1,D1', 'H1,D2', 'H3,D4'],
  );
  for (const l of lines.slice(1)) assert.match(l.split(',')[2]!, /^[A-Za-z0-9_-]{32}$/);
  assert.match(first.stderr, /households 3 new.*devices 4 new.*3 secrets generated/);

  const again = await cli(['import', file, '--data', data]);
  assert.equal(again.code, 0);
  assert.equal(again.stdout, 'household,device,secret\n');
  assert.match(again.stderr, /households 0 new, 0 updated, 3 unchanged; devices 0 new, 0 updated, 4 unchanged/);

  const list = await cli(['households', '--data', data]);
  assert.equal(list.code, 0, list.stderr);
  const rows = list.stdout.trim().split('\n');
  assert.match(rows[0]!, /^TEAM\s+HOUSEHOLD\s+NAME\s+ADDRESS\s+PHONE\s+LAT,LON\s+DEVICES$/);
  assert.equal(rows.length, 4);
  assert.match(rows[1]!, /^T1\s+H1\s+Nguyễn Văn An\s+12 Lê Lợi, Huế\s+\+84912345678\s+16\.46,107\.59\s+D1\(smoke\) D2\(panic\)$/);
  const t2 = await cli(['households', '--team', 'T2', '--data', data]);
  assert.equal(t2.stdout.trim().split('\n').length, 2);
  assert.match(t2.stdout, /H3/);
});

test('a bad file: every bad row on stderr as FILE:LINE: reason, exit 1, nothing imported', async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const file = join(dir, 'bad.csv');
  writeFileSync(file, [HEADER, 'T1,H1,A,1 A,,,,D1,smoke,', 'T1,H2,B,2 B,,95,0,D2,smoke,', 'T1,H3,C,3 C,,,,D3,laser,'].join('\n'));
  const r = await cli(['import', file, '--data', data]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: lat 95 is outside -90\\.\\.90`));
  assert.match(r.stderr, /bad\.csv:4: kind "laser" is not one of/);
  assert.match(r.stderr, /2 bad rows; nothing was imported/);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
  const db = new Database(join(data, 'smokehub.db'), { readonly: true });
  t.after(() => db.close());
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM households').get() as { n: number }).n, 0);

  const latin1 = join(dir, 'latin1.csv');
  writeFileSync(latin1, Buffer.concat([Buffer.from(HEADER + '\nT1,H1,'), Buffer.from([0xe9, 0xff]), Buffer.from(',a,,,,D1,smoke,\n')]));
  const enc = await cli(['import', latin1, '--data', data]);
  assert.equal(enc.code, 1);
  assert.match(enc.stderr, /not UTF-8/);
  const missing = await cli(['import', join(dir, 'nope.csv'), '--data', data]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read .*nope\.csv: no such file/);
});

test('user add: generated password printed once, scopes checked, duplicates refused', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'homes.csv');
  writeFileSync(file, GOOD);
  const data = join(dir, 'data');
  assert.equal((await cli(['import', file, '--data', data])).code, 0);
  const add = await cli(['user', 'add', 'lan', '--role', 'team-leader', '--team', 'T1', '--data', data]);
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, /created team-leader user lan \(team T1\)\npassword: [a-z2-9]{5}(-[a-z2-9]{5}){3}\n/);
  const given = await cli(['user', 'add', 'tram', '--role', 'station', '--password', 'a chosen password', '--data', data]);
  assert.equal(given.code, 0);
  assert.doesNotMatch(given.stdout, /password:/, 'a given password is not echoed');
  const dup = await cli(['user', 'add', 'lan', '--role', 'station', '--data', data]);
  assert.equal(dup.code, 1);
  assert.equal(dup.stderr, 'smokehub user: user "lan" already exists\n');
  const noTeam = await cli(['user', 'add', 'x', '--role', 'team-leader', '--team', 'T9', '--data', data]);
  assert.equal(noTeam.code, 1);
  assert.match(noTeam.stderr, /team "T9" does not exist/);
  const badRole = await cli(['user', 'add', 'x', '--role', 'chief', '--data', data]);
  assert.equal(badRole.code, 1);
  assert.match(badRole.stderr, /--role must be one of station, team-leader, household/);
  const list = await cli(['user', 'list', '--data', data]);
  assert.match(list.stdout, /lan\s+team-leader\s+T1/);
  assert.match(list.stdout, /tram\s+station/);
});

test('an unknown --team is the same error everywhere: households, equipment list and user add say it does not exist and exit 1', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'homes.csv');
  writeFileSync(file, GOOD);
  const data = join(dir, 'data');
  assert.equal((await cli(['import', file, '--data', data])).code, 0);
  const message = 'team "nope" does not exist; import its households first\n';
  const households = await cli(['households', '--team', 'nope', '--data', data]);
  assert.deepEqual(households, { code: 1, stdout: '', stderr: `smokehub households: ${message}` }, 'no empty table, no exit 0');
  const equipment = await cli(['equipment', 'list', '--team', 'nope', '--data', data]);
  assert.deepEqual(equipment, { code: 1, stdout: '', stderr: `smokehub equipment: ${message}` });
  const user = await cli(['user', 'add', 'x', '--role', 'team-leader', '--team', 'nope', '--data', data]);
  assert.deepEqual(user, { code: 1, stdout: '', stderr: `smokehub user: ${message}` });
  // A team that exists lists (even when its filter leaves the equipment table empty).
  assert.equal((await cli(['households', '--team', 'T1', '--data', data])).code, 0);
  assert.equal((await cli(['equipment', 'list', '--team', 'T1', '--data', data])).code, 0);
});

test('alarms reads the journal table (all or --open), newest first', async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const file = join(dir, 'homes.csv');
  writeFileSync(file, GOOD);
  assert.equal((await cli(['import', file, '--data', data])).code, 0);
  const empty = await cli(['alarms', '--data', data]);
  assert.equal(empty.code, 0);
  assert.match(empty.stderr, /0 alarms/);
  const db = new Database(join(data, 'smokehub.db'));
  db.exec(`CREATE TABLE IF NOT EXISTS alarms (id TEXT PRIMARY KEY, team TEXT, household TEXT, kind TEXT, state TEXT,
    raised_at INTEGER, updated_at INTEGER, closed_at INTEGER, false_alarm INTEGER DEFAULT 0, view_json TEXT, record_json TEXT)`);
  const ins = db.prepare(
    'INSERT INTO alarms (id, team, household, kind, state, raised_at, updated_at, view_json, record_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  ins.run('A1', 'T1', 'H1', 'smoke', 'resolved', Date.UTC(2026, 0, 1, 0, 0, 0), 0, '{}', '{}');
  ins.run('A2', 'T2', 'H3', 'co', 'active', Date.UTC(2026, 0, 2, 0, 0, 0), 0, '{}', '{}');
  db.close();
  const all = await cli(['alarms', '--data', data]);
  const rows = all.stdout.trim().split('\n');
  assert.match(rows[0]!, /^ID\s+STATE\s+KIND\s+TEAM\s+HOUSEHOLD\s+RAISED$/);
  assert.match(rows[1]!, /^A2\s+active\s+co\s+T2\s+H3\s+2026-01-02 07:00:00$/, 'Asia/Ho_Chi_Minh local time');
  assert.match(rows[2]!, /^A1\s+resolved\s+smoke/);
  assert.match(all.stderr, /2 alarms \(times in Asia\/Ho_Chi_Minh\)/, 'the zone of RAISED is named');
  const open = await cli(['alarms', '--open', '--data', data]);
  assert.equal(open.stdout.trim().split('\n').length, 2);
  assert.match(open.stdout, /A2/);
  assert.doesNotMatch(open.stdout, /A1/);
  const none = await cli(['alarms', '--data', join(dir, 'nowhere')]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no hub data in/);
});

test('help, unknown commands and bad flags: clear messages and exit codes', async () => {
  const help = await cli(['--help']);
  assert.equal(help.code, 0);
  for (const c of ['start', 'import', 'user', 'households', 'alarms']) assert.match(help.stdout, new RegExp(`^  ${c}\\s`, 'm'));
  const importHelp = await cli(['import', '--help']);
  assert.equal(importHelp.code, 0);
  assert.match(importHelp.stdout, /team,household,name,address,phone,lat,lon,device,kind,secret/);
  const startHelp = await cli(['start', '--help']);
  assert.match(startHelp.stdout, /--verify-window/);
  assert.match(startHelp.stdout, /SMOKEHUB_MQTT_PORT/);
  const unknown = await cli(['frobnicate']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  const dir = mkdtempSync(join(tmpdir(), 'smokehub-cli-'));
  try {
    writeFileSync(join(dir, 'smokehub.db'), 'this is not sqlite');
    const broken = await cli(['households', '--data', dir]);
    assert.equal(broken.code, 1);
    assert.equal(broken.stderr, 'smokehub households: database error (SQLITE_NOTADB): file is not a database\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const badFlag = await cli(['households', '--colour', 'red']);
  assert.equal(badFlag.code, 1);
  assert.match(badFlag.stderr, /Unknown option '--colour'/);
});

test('bin/smokehub.js without a build says how to build', async (t) => {
  const dir = tempDir(t);
  const { mkdirSync, copyFileSync } = await import('node:fs');
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(ROOT, 'bin', 'smokehub.js'), join(dir, 'bin', 'smokehub.js'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  const r = await new Promise<Run>((res) => {
    const child = spawn(process.execPath, [join(dir, 'bin', 'smokehub.js'), '--help'], { cwd: dir, env: env() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => res({ code, stdout, stderr }));
  });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /run npm install \(it builds\) first/);
});
