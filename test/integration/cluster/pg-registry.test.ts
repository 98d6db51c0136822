/**
 * The registry contract, written once and run against SqliteRegistryStore and PgRegistryStore (a
 * real PostgreSQL): imports, lookups, device secrets, users, sessions. The cluster-only behaviours
 * (two nodes, PostgreSQL restarts) are in pg-registry-nodes.test.ts.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../hub/core/clock.ts';
import { SESSION_IDLE_MS } from '../../../hub/store/registry-sessions.ts';
import { pgSubject, type RegistrySubject, sqliteSubject } from '../../helpers/pg-registry-kit.ts';
import { type PostgresServer, startPostgres } from '../../helpers/postgres-server.ts';
import { csv } from '../../helpers/registry-kit.ts';

const FAMILY = csv('T1,H1,Nhà A,1 Đường A,0901000001,10.1,106.1,D1,smoke,', 'T1,H2,Nhà B,2 Đường B,,,,D2,heat,', 'T2,H3,Nhà C,3 Đường C,,,,D3,co,');
const CARD_HEADER = 'team,household,name,address,phone,lat,lon,device,kind,secret,access,water';

let server: PostgresServer;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

const KINDS: Array<{ kind: string; make: (t: TestContext, clock?: ManualClock) => Promise<RegistrySubject> }> = [
  { kind: 'sqlite', make: async (t, clock) => sqliteSubject(t, clock) },
  { kind: 'postgres', make: (t, clock) => pgSubject(t, server, clock) },
];

for (const { kind, make } of KINDS) {
  describe(`registry contract: ${kind}`, () => {
    test('import: created, updated and unchanged counts; secrets generated once; a re-import changes nothing', async (t) => {
      const s = await make(t);
      const first = await s.import(FAMILY);
      assert.equal(first.teamsCreated, 2);
      assert.deepEqual(first.households, { created: 3, updated: 0, unchanged: 0 });
      assert.deepEqual(first.devices, { created: 3, updated: 0, unchanged: 0, moved: 0 });
      assert.deepEqual(
        first.credentials.map((c) => [c.household, c.device]),
        [
          ['H1', 'D1'],
          ['H2', 'D2'],
          ['H3', 'D3'],
        ],
      );
      assert.ok(first.credentials.every((c) => c.secret.length === 32));

      const again = await s.import(FAMILY);
      assert.equal(again.teamsCreated, 0);
      assert.deepEqual(again.households, { created: 0, updated: 0, unchanged: 3 });
      assert.deepEqual(again.devices, { created: 0, updated: 0, unchanged: 3, moved: 0 });
      assert.deepEqual(again.credentials, [], 'an existing device keeps its secret, not printed again');
      assert.ok(s.store.verifyDeviceSecret('D1', first.credentials[0]!.secret), 'the first secret still works');

      const changed = await s.import(csv('T1,H1,Nhà A mới,1 Đường A,0901000001,10.1,106.1,D1,heat,', 'T1,H2,Nhà B,2 Đường B,,,,D2,heat,a-given-secret-0123'));
      assert.deepEqual(changed.households, { created: 0, updated: 1, unchanged: 1 });
      assert.deepEqual(changed.devices, { created: 0, updated: 2, unchanged: 0, moved: 0 });
      assert.equal(s.store.getHousehold('H1')!.name, 'Nhà A mới');
      assert.equal(s.store.getDevice('D1')!.kind, 'heat');
      assert.ok(s.store.verifyDeviceSecret('D2', 'a-given-secret-0123'));
      assert.equal(s.store.verifyDeviceSecret('D2', first.credentials[1]!.secret), null, 'the old secret no longer works');
    });

    test('import: a move is refused (with its line, nothing written) unless allowMoves; household users follow', async (t) => {
      const s = await make(t);
      await s.import(FAMILY);
      await s.store.addUser({ username: 'nha-b', role: 'household', household: 'H2' });
      const moving = csv('T1,H1,Nhà A,1 Đường A,0901000001,10.1,106.1,D9,smoke,', 'T2,H3,Nhà C,3 Đường C,,,,D2,heat,');
      await assert.rejects(s.import(moving), (e: { code: string; problems: Array<{ line: number; reason: string }> }) => {
        assert.equal(e.code, 'bad_csv');
        assert.deepEqual(
          e.problems.map((p) => p.line),
          [3],
        );
        assert.match(e.problems[0]!.reason, /device "D2" is enrolled in household "H2"; moving it to "H3" needs --allow-moves/);
        return true;
      });
      assert.equal(s.store.getDevice('D9'), undefined, 'nothing of the refused file was written');
      const moved = await s.import(moving, { allowMoves: true });
      assert.deepEqual(moved.devices, { created: 1, updated: 1, unchanged: 0, moved: 1 });
      assert.equal(s.store.getDevice('D2')!.household, 'H3');
      assert.equal(s.store.getDevice('D2')!.team, 'T2');

      // A household moved to another team takes its household users along.
      await s.import(csv('T2,H2,Nhà B,2 Đường B,,,,,,'));
      assert.equal(s.store.teamOf('H2'), 'T2');
      assert.equal(s.store.getUser('nha-b')!.team, 'T2');
      const stored = await s.rows("SELECT team FROM users WHERE username = 'nha-b'");
      assert.equal(stored[0]!.team, 'T2');
    });

    test('import: card columns missing from the file keep their stored values; phones in E.164', async (t) => {
      const s = await make(t);
      await s.import(`${CARD_HEADER}\nT1,H1,Nhà A,1 Đường A,0901000001;0902000002,,,D1,smoke,,"ngõ hẹp, 2m",bể nước\n`);
      assert.deepEqual(s.store.getHousehold('H1')!.card, { access: 'ngõ hẹp, 2m', hazards: '', vulnerable: '', water: 'bể nước' });
      assert.deepEqual(s.store.getHousehold('H1')!.phones, ['+84901000001', '+84902000002']);
      const r = await s.import(csv('T1,H1,Nhà A,1 Đường A,0901000001;0902000002,,,D1,smoke,'));
      assert.deepEqual(r.households, { created: 0, updated: 0, unchanged: 1 }, 'no card column: nothing changes');
      assert.equal(s.store.getHousehold('H1')!.card.access, 'ngõ hẹp, 2m');
      await s.import(`${CARD_HEADER}\nT1,H1,Nhà A,1 Đường A,0901000001;0902000002,,,D1,smoke,,,bể nước\n`);
      assert.equal(s.store.getHousehold('H1')!.card.access, '', 'an empty cell clears it');
    });

    test('lookups: devices, households, teams, filters; copies handed out', async (t) => {
      const s = await make(t);
      await s.import(FAMILY);
      const d1 = s.store.getDevice('D1')!;
      assert.deepEqual({ ...d1, enrolledAt: 0 }, { id: 'D1', household: 'H1', team: 'T1', kind: 'smoke', enrolledAt: 0 });
      assert.equal(typeof d1.enrolledAt, 'number');
      assert.equal(s.store.getDevice('D404'), undefined);
      assert.deepEqual(s.store.getHousehold('H1'), {
        id: 'H1',
        team: 'T1',
        name: 'Nhà A',
        address: '1 Đường A',
        phone: '0901000001',
        phones: ['+84901000001'],
        lat: 10.1,
        lon: 106.1,
        card: { access: '', hazards: '', vulnerable: '', water: '' },
      });
      assert.equal(s.store.getHousehold('H2')!.lat, null);
      assert.deepEqual(
        s.store.householdsOfTeam('T1').map((h) => h.id),
        ['H1', 'H2'],
      );
      assert.deepEqual(s.store.householdsOfTeam('T9'), []);
      assert.equal(s.store.teamOf('H3'), 'T2');
      assert.equal(s.store.teamOf('H9'), undefined);
      assert.deepEqual(s.store.listTeams(), [{ id: 'T1' }, { id: 'T2' }]);
      assert.deepEqual(
        s.store.listDevices().map((d) => d.id),
        ['D1', 'D2', 'D3'],
      );
      assert.deepEqual(
        s.store.listDevices({ team: 'T1' }).map((d) => d.id),
        ['D1', 'D2'],
      );
      assert.deepEqual(
        s.store.listDevices({ household: 'H3' }).map((d) => d.id),
        ['D3'],
      );
      assert.deepEqual(s.store.listDevices({ household: 'H3', team: 'T1' }), []);
      assert.deepEqual(
        s.store.listHouseholds({ team: 'T2' }).map((h) => h.id),
        ['H3'],
      );
      assert.ok(s.store.hasTeam('T2'));
      assert.ok(!s.store.hasTeam('T9'));
      assert.throws(() => s.store.requireTeam('T9'), /team "T9" does not exist/);
      s.store.getHousehold('H1')!.phones.push('x');
      s.store.getDevice('D1')!.household = 'H9';
      assert.deepEqual(s.store.getHousehold('H1')!.phones, ['+84901000001']);
      assert.equal(s.store.getDevice('D1')!.household, 'H1');
    });

    test('device secrets: right, wrong, unknown, not a string; a gateway-managed device never matches', async (t) => {
      const s = await make(t);
      const r = await s.import(csv(...FAMILY.trim().split('\n').slice(1), 'T1,H1,Nhà A,1 Đường A,0901000001,10.1,106.1,z2m-1.0x00124b0001,smoke,'));
      const secret = (id: string) => r.credentials.find((c) => c.device === id)!.secret;
      assert.equal(s.store.verifyDeviceSecret('D1', secret('D1'))!.id, 'D1');
      assert.equal(s.store.verifyDeviceSecret('D1', secret('D2')), null);
      assert.equal(s.store.verifyDeviceSecret('D404', secret('D1')), null);
      assert.equal(s.store.verifyDeviceSecret('D1', 5 as never), null);
      // As hub/zigbee/zigbee-store.ts enrols a device its gateway speaks for.
      await s.exec("UPDATE devices SET secret_hash = '!zigbee' WHERE id = 'z2m-1.0x00124b0001'");
      assert.equal(s.store.getDevice('z2m-1.0x00124b0001')!.gateway, 'z2m-1');
      assert.equal(s.store.verifyDeviceSecret('z2m-1.0x00124b0001', secret('z2m-1.0x00124b0001')), null);
      assert.equal(s.store.verifyDeviceSecret('z2m-1.0x00124b0001', '!zigbee'), null);
      assert.equal(s.store.verifyDeviceSecret('z2m-1.0x00124b0001', ''), null);
    });

    test('users: roles and scopes, passwords, removal, first-start admin', async (t) => {
      const s = await make(t);
      assert.equal(typeof (await s.store.ensureAdmin()), 'string');
      assert.equal(await s.store.ensureAdmin(), null, 'only once');
      await s.import(FAMILY);
      const st = await s.store.addUser({ username: 'station1', role: 'station' });
      assert.equal(st.generated, true);
      assert.deepEqual(st.user, { username: 'station1', role: 'station', team: null, household: null });
      assert.deepEqual(await s.store.verifyUserPassword('station1', st.password), st.user);
      assert.equal(await s.store.verifyUserPassword('station1', st.password + 'x'), null);
      assert.equal(await s.store.verifyUserPassword('nobody', st.password), null);
      const tl = await s.store.addUser({ username: 'lead-t1', role: 'team-leader', team: 'T1', password: 'a long enough password' });
      assert.deepEqual(tl.user, { username: 'lead-t1', role: 'team-leader', team: 'T1', household: null });
      const hh = await s.store.addUser({ username: 'nha-a', role: 'household', household: 'H1' });
      assert.deepEqual(hh.user, { username: 'nha-a', role: 'household', team: 'T1', household: 'H1' });
      await assert.rejects(s.store.addUser({ username: 'x', role: 'team-leader', team: 'T9' }), /team "T9" does not exist/);
      await assert.rejects(s.store.addUser({ username: 'x', role: 'household', household: 'H9' }), /household "H9" does not exist/);
      await assert.rejects(s.store.addUser({ username: 'x', role: 'household', household: 'H1', team: 'T2' }), /belongs to team "T1"/);
      await assert.rejects(s.store.addUser({ username: 'x', role: 'station', team: 'T1' }), /station user sees every team/);
      await assert.rejects(s.store.addUser({ username: 'bad name', role: 'station' }), /not valid/);
      await assert.rejects(s.store.addUser({ username: 'x', role: 'station', password: 'short' }), /at least 10/);
      await assert.rejects(s.store.addUser({ username: 'station1', role: 'station' }), (e: { code: string }) => e.code === 'conflict');
      assert.deepEqual(
        s.store.listUsers().map((u) => u.username),
        ['admin', 'lead-t1', 'nha-a', 'station1'],
      );
      const stored = await s.rows("SELECT password_hash FROM users WHERE username = 'lead-t1'");
      assert.match(String(stored[0]!.password_hash), /^scrypt\$/);

      const changed = await s.store.setPassword('lead-t1');
      assert.equal(changed.generated, true);
      assert.equal(await s.store.verifyUserPassword('lead-t1', 'a long enough password'), null);
      assert.ok(await s.store.verifyUserPassword('lead-t1', changed.password));
      await assert.rejects(async () => s.store.setPassword('nobody', 'whatever password'), /does not exist/);
      await s.store.removeUser('nha-a');
      assert.equal(s.store.getUser('nha-a'), undefined);
      await assert.rejects(async () => s.store.removeUser('nha-a'), /does not exist/);
    });

    test('sessions: a hash stored; sliding 7-day idle expiry by the injected clock; revoked, password change, removal', async (t) => {
      const clock = new ManualClock(Date.UTC(2026, 5, 1));
      const s = await make(t, clock);
      await s.store.addUser({ username: 'op', role: 'station', password: 'operator password' });
      const { token, expiresAt } = await s.store.createSession('op');
      assert.equal(expiresAt, clock.now() + SESSION_IDLE_MS);
      const stored = await s.rows('SELECT * FROM sessions');
      assert.equal(stored.length, 1);
      assert.ok(!JSON.stringify(stored).includes(token), 'the token itself is not stored');
      assert.equal(await s.store.countSessions('op'), 1);
      await assert.rejects(async () => s.store.createSession('nobody'), /user "nobody" does not exist/);

      const fresh = (await s.store.resolveSession(token))!;
      assert.deepEqual(fresh, { user: { username: 'op', role: 'station', team: null, household: null }, expiresAt, refreshed: false });
      assert.equal(await s.store.resolveSession(token + 'x'), null);
      assert.equal(await s.store.resolveSession(''), null);
      clock.advance(6 * 24 * 3600_000);
      const slid = (await s.store.resolveSession(token))!;
      assert.equal(slid.refreshed, true);
      assert.equal(slid.expiresAt, clock.now() + SESSION_IDLE_MS);
      clock.advance(6 * 24 * 3600_000);
      assert.ok(await s.store.resolveSession(token), 'still valid 12 days after login thanks to use');
      clock.advance(SESSION_IDLE_MS);
      assert.equal(await s.store.resolveSession(token), null);
      assert.equal(await s.store.countSessions(), 0, 'an expired session is deleted');

      const second = await s.store.createSession('op');
      assert.equal(await s.store.revokeSession(second.token), true);
      assert.equal(await s.store.resolveSession(second.token), null);
      assert.equal(await s.store.revokeSession(second.token), false);
      const third = await s.store.createSession('op');
      await s.store.setPassword('op', 'a new operator password');
      assert.equal(await s.store.resolveSession(third.token), null, 'a password change ends sessions');
      const fourth = await s.store.createSession('op');
      await s.store.removeUser('op');
      assert.equal(await s.store.resolveSession(fourth.token), null, 'removing a user ends sessions');
      assert.equal(await s.store.countSessions(), 0);
    });
  });
}
