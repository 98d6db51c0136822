/**
 * hub/cluster/migrate-registry.ts, the registry part of `smokehub migrate --from DATA --postgres URL`:
 * a single box's registry copied into a real PostgreSQL reads the same through PgRegistryStore
 * (devices log in with their secrets, people with their passwords, sessions go on); running it again
 * copies nothing; a target holding something else is refused unless `force`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateRegistryToPostgres } from '../../../hub/cluster/migrate-registry.ts';
import { importCsv, importCsvAsync } from '../../../hub/store/csv-import.ts';
import { loadOrCreateHubKey } from '../../../hub/store/credentials.ts';
import { createDatabase, openPgStore, testPool } from '../../helpers/pg-registry-kit.ts';
import { type PostgresServer, startPostgres } from '../../helpers/postgres-server.ts';
import { csv, tempRegistry } from '../../helpers/registry-kit.ts';

let server: PostgresServer;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

const CARD_CSV =
  'team,household,name,address,phone,lat,lon,device,kind,secret,access\n' +
  'T1,H1,Nhà A,1 Đường A,0901000001,10.5,106.25,D1,smoke,,ngõ hẹp\n' +
  'T1,H2,Nhà B,2 Đường B,,,,D2,heat,,\n' +
  'T2,H3,Nhà C,3 Đường C,0902000002,,,D3,co,,\n' +
  'T1,H1,Nhà A,1 Đường A,0901000001,10.5,106.25,z2m-1.0x00124b0001,smoke,,\n';

test('a single box migrated: the same registry through PgRegistryStore; secrets, passwords and sessions work; again: nothing copied', async (t) => {
  const { dir, db, store: box } = tempRegistry(t);
  const r = importCsv(box, CARD_CSV);
  db.exec("UPDATE devices SET secret_hash = '!zigbee' WHERE id = 'z2m-1.0x00124b0001'");
  // A row imported before phones were stored (NULL: derived from `phone` when read).
  db.exec("UPDATE households SET phones = NULL WHERE id = 'H3'");
  box.invalidate();
  const lead = await box.addUser({ username: 'lead', role: 'team-leader', team: 'T1' });
  await box.addUser({ username: 'nha-a', role: 'household', household: 'H1', password: 'household password' });
  const session = box.createSession('lead');

  const url = server.url(createDatabase(server, 'mig'));
  const pool = testPool(t, url);
  const first = await migrateRegistryToPostgres({ from: dir, pool });
  assert.deepEqual(first.tables, {
    teams: { copied: 2, unchanged: 0 },
    households: { copied: 3, unchanged: 0 },
    devices: { copied: 4, unchanged: 0 },
    users: { copied: 2, unchanged: 0 },
    sessions: { copied: 1, unchanged: 0 },
  });
  assert.equal(first.hubKeyFile, join(dir, 'hub.key'));

  const node = await openPgStore(t, url, { hubKey: loadOrCreateHubKey(dir) });
  assert.deepEqual(node.listHouseholds(), box.listHouseholds());
  assert.deepEqual(node.listDevices(), box.listDevices());
  assert.deepEqual(node.listTeams(), box.listTeams());
  assert.deepEqual(node.listUsers(), box.listUsers());
  assert.deepEqual(node.getHousehold('H3')!.phones, ['+84902000002']);
  assert.equal(node.getHousehold('H1')!.card.access, 'ngõ hẹp');
  for (const c of r.credentials.filter((c) => !c.device.startsWith('z2m'))) assert.ok(node.verifyDeviceSecret(c.device, c.secret), c.device);
  assert.equal(node.getDevice('z2m-1.0x00124b0001')!.gateway, 'z2m-1');
  assert.equal(node.verifyDeviceSecret('z2m-1.0x00124b0001', r.credentials.find((c) => c.device.startsWith('z2m'))!.secret), null);
  assert.ok(await node.verifyUserPassword('lead', lead.password));
  assert.ok(await node.verifyUserPassword('nha-a', 'household password'));
  assert.equal((await node.resolveSession(session.token))?.user.username, 'lead', 'logged-in people stay logged in');

  const again = await migrateRegistryToPostgres({ from: dir, pool });
  assert.ok(Object.values(again.tables).every((n) => n.copied === 0));
  assert.equal(again.tables.devices.unchanged, 4);
});

test('a target holding another registry, or rows that differ, is refused without force (nothing written); force writes over it', async (t) => {
  const { dir, store: box } = tempRegistry(t);
  importCsv(box, csv('T1,H1,Nhà A,1 Đường A,,,,D1,smoke,'));
  const url = server.url(createDatabase(server, 'mig'));
  const pool = testPool(t, url);
  // The cluster already runs with a registry of its own.
  const node = await openPgStore(t, url, { hubKey: randomBytes(32) });
  await importCsvAsync(node, csv('T9,H9,Nhà Z,9 Đường Z,,,,D9,smoke,'));

  await assert.rejects(migrateRegistryToPostgres({ from: dir, pool }), (e: { code: string; message: string }) => {
    assert.equal(e.code, 'conflict');
    assert.match(e.message, /teams: 0 different, 1 not from/);
    return true;
  });
  assert.equal((await pool.query('SELECT id FROM devices')).rows.length, 1, 'nothing copied');

  const forced = await migrateRegistryToPostgres({ from: dir, pool, force: true });
  assert.equal(forced.tables.devices.copied, 1);
  assert.equal(forced.foreign, 3, "the target's own team, household and device are kept");
  await node.refresh();
  assert.deepEqual(
    node.listDevices().map((d) => d.id),
    ['D1', 'D9'],
  );

  // The box changed after the migration: the next run sees rows that differ.
  importCsv(box, csv('T1,H1,Nhà A (mới),1 Đường A,,,,D1,smoke,'));
  await assert.rejects(migrateRegistryToPostgres({ from: dir, pool }), /households: 1 different/);
  const over = await migrateRegistryToPostgres({ from: dir, pool, force: true });
  assert.deepEqual(over.tables.households, { copied: 1, unchanged: 0 });
  await node.refresh();
  assert.equal(node.getHousehold('H1')!.name, 'Nhà A (mới)');
});

test('a data dir without a database, or with devices but no hub.key, is refused', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'smokehub-mig-'));
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  const pool = testPool(t, server.url(createDatabase(server, 'mig')));
  await assert.rejects(migrateRegistryToPostgres({ from: empty, pool }), /smokehub\.db does not exist/);
  const { dir, store } = tempRegistry(t);
  importCsv(store, csv('T1,H1,Nhà A,1 Đường A,,,,D1,smoke,'));
  rmSync(join(dir, 'hub.key'));
  await assert.rejects(migrateRegistryToPostgres({ from: dir, pool }), /hub\.key is missing/);
});
