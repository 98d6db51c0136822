import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ManualClock } from '../../../hub/core/clock.ts';
import { openDatabase } from '../../../hub/store/database.ts';
import { SESSION_IDLE_MS, SqliteRegistryStore } from '../../../hub/store/registry-store.ts';
import { importCsv } from '../../../hub/store/csv-import.ts';
import { csv, tempRegistry } from '../../helpers/registry-kit.ts';

const FAMILY = csv('T1,H1,Nhà A,1 Đường A,,,,D1,smoke,', 'T1,H2,Nhà B,2 Đường B,,,,D2,heat,', 'T2,H3,Nhà C,3 Đường C,,,,D3,co,');

test('users: roles and scopes are checked; generated password works; duplicates refused', async (t) => {
  const { store } = tempRegistry(t);
  importCsv(store, FAMILY);
  const st = await store.addUser({ username: 'station1', role: 'station' });
  assert.equal(st.generated, true);
  assert.deepEqual(st.user, { username: 'station1', role: 'station', team: null, household: null });
  assert.deepEqual(await store.verifyUserPassword('station1', st.password), st.user);
  assert.equal(await store.verifyUserPassword('station1', st.password + 'x'), null);
  assert.equal(await store.verifyUserPassword('nobody', st.password), null);

  const tl = await store.addUser({ username: 'lead-t1', role: 'team-leader', team: 'T1', password: 'a long enough password' });
  assert.equal(tl.generated, false);
  assert.equal(tl.user.team, 'T1');
  assert.ok(await store.verifyUserPassword('lead-t1', 'a long enough password'));

  const hh = await store.addUser({ username: 'nha-a', role: 'household', household: 'H1' });
  assert.deepEqual(hh.user, { username: 'nha-a', role: 'household', team: 'T1', household: 'H1' });

  await assert.rejects(store.addUser({ username: 'x', role: 'team-leader' }), /needs --team/);
  await assert.rejects(store.addUser({ username: 'x', role: 'team-leader', team: 'T9' }), /team "T9" does not exist/);
  await assert.rejects(store.addUser({ username: 'x', role: 'household' }), /needs --household/);
  await assert.rejects(store.addUser({ username: 'x', role: 'household', household: 'H9' }), /household "H9" does not exist/);
  await assert.rejects(store.addUser({ username: 'x', role: 'household', household: 'H1', team: 'T2' }), /belongs to team "T1"/);
  await assert.rejects(store.addUser({ username: 'x', role: 'station', team: 'T1' }), /station user sees every team/);
  await assert.rejects(store.addUser({ username: 'bad name', role: 'station' }), /not valid/);
  await assert.rejects(store.addUser({ username: 'x', role: 'admin' as never }), /role must be one of/);
  await assert.rejects(store.addUser({ username: 'x', role: 'station', password: 'short' }), /at least 10/);
  await assert.rejects(store.addUser({ username: 'station1', role: 'station' }), (e: { code: string }) => e.code === 'conflict');
  assert.deepEqual(
    store.listUsers().map((u) => u.username),
    ['lead-t1', 'nha-a', 'station1'],
  );

  const changed = await store.setPassword('lead-t1');
  assert.equal(await store.verifyUserPassword('lead-t1', 'a long enough password'), null);
  assert.ok(await store.verifyUserPassword('lead-t1', changed.password));
  store.removeUser('nha-a');
  assert.equal(store.getUser('nha-a'), undefined);
  assert.throws(() => store.removeUser('nha-a'), /does not exist/);
});

test('ensureAdmin creates admin once, only when there are no users', async (t) => {
  const { store } = tempRegistry(t);
  const pw = await store.ensureAdmin();
  assert.equal(typeof pw, 'string');
  assert.deepEqual(await store.verifyUserPassword('admin', pw!), { username: 'admin', role: 'station', team: null, household: null });
  assert.equal(await store.ensureAdmin(), null);
  const other = tempRegistry(t);
  await other.store.addUser({ username: 'someone', role: 'station' });
  assert.equal(await other.store.ensureAdmin(), null, 'not when a user exists');
  assert.equal(other.store.getUser('admin'), undefined);
});

test('sessions: only a hash is stored; idle expiry is 7 days and slides with use; logout revokes', async (t) => {
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const { store, db } = tempRegistry(t, clock);
  await store.addUser({ username: 'op', role: 'station', password: 'operator password' });
  const { token, expiresAt } = store.createSession('op');
  assert.equal(expiresAt, clock.now() + SESSION_IDLE_MS);
  const stored = db.prepare('SELECT * FROM sessions').all() as Array<Record<string, unknown>>;
  assert.equal(stored.length, 1);
  assert.ok(!JSON.stringify(stored).includes(token), 'the token itself is not stored');

  assert.equal(store.resolveSession(token)!.user.username, 'op');
  assert.equal(store.resolveSession(token + 'x'), null);
  assert.equal(store.resolveSession(''), null);

  // Used after 6 days: slides to 6 + 7 days.
  clock.advance(6 * 24 * 3600_000);
  const s = store.resolveSession(token)!;
  assert.equal(s.refreshed, true);
  assert.equal(s.expiresAt, clock.now() + SESSION_IDLE_MS);
  clock.advance(6 * 24 * 3600_000);
  assert.ok(store.resolveSession(token), 'still valid 12 days after login thanks to use');
  // Idle for 7 days: gone.
  clock.advance(SESSION_IDLE_MS);
  assert.equal(store.resolveSession(token), null);
  assert.equal(store.countSessions(), 0, 'an expired session is deleted');

  const second = store.createSession('op');
  assert.equal(store.revokeSession(second.token), true);
  assert.equal(store.resolveSession(second.token), null);
  assert.equal(store.revokeSession(second.token), false);

  const third = store.createSession('op');
  await store.setPassword('op', 'a new operator password');
  assert.equal(store.resolveSession(third.token), null, 'a password change ends sessions');
  const fourth = store.createSession('op');
  store.removeUser('op');
  assert.equal(store.resolveSession(fourth.token), null, 'removing a user ends sessions');
});

test('device lookups and secret checks; unknown devices and wrong secrets are refused', (t) => {
  const { store } = tempRegistry(t);
  const r = importCsv(store, FAMILY);
  const d1 = r.credentials.find((c) => c.device === 'D1')!;
  assert.deepEqual(store.verifyDeviceSecret('D1', d1.secret), {
    id: 'D1',
    household: 'H1',
    team: 'T1',
    kind: 'smoke',
    enrolledAt: store.getDevice('D1')!.enrolledAt,
  });
  assert.equal(store.verifyDeviceSecret('D1', r.credentials.find((c) => c.device === 'D2')!.secret), null);
  assert.equal(store.verifyDeviceSecret('D404', d1.secret), null);
  assert.equal(store.verifyDeviceSecret('D1', 5 as never), null);
  assert.deepEqual(store.listTeams(), [{ id: 'T1' }, { id: 'T2' }]);
  assert.deepEqual(
    store.listDevices({ team: 'T1' }).map((d) => d.id),
    ['D1', 'D2'],
  );
  assert.deepEqual(
    store.listHouseholds({ team: 'T2' }).map((h) => h.id),
    ['H3'],
  );
  // Returned objects are copies: mutating them does not corrupt the index.
  store.getHousehold('H1')!.name = 'changed';
  assert.equal(store.getHousehold('H1')!.name, 'Nhà A');
});

test("another process's writes (e.g. `smokehub import` while the hub runs) reach the cached index", async (t) => {
  const { dir, store } = tempRegistry(t);
  importCsv(store, FAMILY);
  assert.equal(store.getDevice('D7'), undefined);
  const db2 = openDatabase(dir);
  t.after(() => db2.close());
  const other = new SqliteRegistryStore(db2, { dataDir: dir });
  const r = importCsv(other, csv('T1,H7,Nhà G,7 Đường G,,,,D7,smoke,'));
  await other.addUser({ username: 'late', role: 'station' });
  await sleep(1100); // the freshness check runs at most once a second
  assert.equal(store.getDevice('D7')!.household, 'H7');
  assert.ok(store.verifyDeviceSecret('D7', r.credentials[0]!.secret), 'same hub key from DATA/hub.key');
  assert.deepEqual(
    store.householdsOfTeam('T1').map((h) => h.id),
    ['H1', 'H2', 'H7'],
  );
  assert.ok(store.getUser('late'));
});
