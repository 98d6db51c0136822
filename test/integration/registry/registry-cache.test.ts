import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../hub/core/clock.ts';
import { openDatabase } from '../../../hub/store/database.ts';
import { importCsv } from '../../../hub/store/csv-import.ts';
import { FRESHNESS_CHECK_MS, RegistryCache } from '../../../hub/store/registry-cache.ts';
import { SqliteRegistryStore } from '../../../hub/store/registry-store.ts';
import { csv, tempRegistry } from '../../helpers/registry-kit.ts';

test("the cache looks for other processes' writes by the injected clock, at most once per FRESHNESS_CHECK_MS", (t) => {
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const { dir, store } = tempRegistry(t, clock);
  importCsv(store, csv('T1,H1,Nhà A,1 Đường A,,,,D1,smoke,'));
  assert.ok(store.getDevice('D1'));

  const db2 = openDatabase(dir);
  t.after(() => db2.close());
  importCsv(new SqliteRegistryStore(db2, { dataDir: dir }), csv('T1,H2,Nhà B,2 Đường B,,,,D2,heat,'));

  clock.advance(FRESHNESS_CHECK_MS - 1);
  assert.equal(store.getDevice('D2'), undefined, 'not looked for yet: the clock has not moved a full period');
  clock.advance(1);
  assert.equal(store.getDevice('D2')?.household, 'H2', 'noticed once the clock moved on');
});

test('user writes drop only the user map; household/device writes drop both', (t) => {
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const { db } = tempRegistry(t, clock);
  const cache = new RegistryCache(db, { clock, countryCode: 84 });
  const index = cache.index();
  const users = cache.users();
  assert.equal(cache.index(), index, 'cached');
  cache.invalidateUsers();
  assert.equal(cache.index(), index, 'the index survives a user write');
  assert.notEqual(cache.users(), users);
  const users2 = cache.users();
  cache.invalidate();
  assert.notEqual(cache.index(), index);
  assert.notEqual(cache.users(), users2);
});

test('reloadDevices patches the cached index in place: added, changed and removed devices, without a full reload', (t) => {
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const { db, store } = tempRegistry(t, clock);
  importCsv(store, csv('T1,H1,Nhà A,1 Đường A,,,,D1,smoke,', 'T1,H2,Nhà B,2 Đường B,,,,D2,smoke,'));
  const before = store.listDevices({ household: 'H1' });
  assert.equal(before.length, 1);
  db.prepare(
    "INSERT INTO devices (id, household, kind, secret_hash, enrolled_at, updated_at, label) VALUES ('gw.0x01', 'H1', 'siren', '!zigbee', 1, 1, 'Còi')",
  ).run();
  db.prepare("UPDATE devices SET kind = 'heat' WHERE id = 'D2'").run();
  db.prepare("DELETE FROM devices WHERE id = 'D1'").run();
  assert.equal(store.getDevice('gw.0x01'), undefined, 'same connection: not seen until told');
  store.reloadDevices(['gw.0x01', 'D2', 'D1']);
  assert.deepEqual(store.getDevice('gw.0x01'), { id: 'gw.0x01', household: 'H1', team: 'T1', kind: 'siren', enrolledAt: 1, gateway: 'gw', label: 'Còi' });
  assert.equal(store.getDevice('D2')?.kind, 'heat');
  assert.equal(store.getDevice('D1'), undefined);
  assert.deepEqual(
    store.listDevices({ household: 'H1' }).map((d) => d.id),
    ['gw.0x01'],
  );
  assert.equal(store.listDevices().length, 2);
});
