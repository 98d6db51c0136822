/**
 * The registry's phone numbers (E.164, several per household) and the dispatch card columns:
 * CSV import, re-import rules, the migration of an older database, `GET /api/households/:id`
 * and the CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { CsvImportError, importCsv, planImport } from '../../../hub/store/csv-import.ts';
import { openDatabase } from '../../../hub/store/database.ts';
import { SqliteRegistryStore } from '../../../hub/store/registry-store.ts';
import { Router } from '../../../hub/http/router.ts';
import { createHttpServer } from '../../../hub/http/http-server.ts';
import { registerHouseholdRoutes } from '../../../hub/http/household-routes.ts';
import { MetricsRegistry } from '../../../hub/observability/metrics.ts';
import { silentLogger } from '../../../hub/observability/logger.ts';
import { main } from '../../../hub/cli/main.ts';
import { csv, HEADER, tempRegistry } from '../../helpers/registry-kit.ts';

const CARD_HEADER = `${HEADER},access,hazards,vulnerable,water`;
const EMPTY_CARD = { access: '', hazards: '', vulnerable: '', water: '' };

function refusal(fn: () => unknown): Map<number, string> {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CsvImportError, String(e));
    return new Map(e.problems.map((p) => [p.line, p.reason]));
  }
  assert.fail('the import was not refused');
}

test('phone: several numbers separated by ";", normalised to E.164; the raw cell is kept', (t) => {
  const { store } = tempRegistry(t);
  importCsv(
    store,
    csv(
      'T1,H1,Nhà A,1 Lê Lợi,0901 000 002; +84 902.000.003 ;0234-3822-111,,,D1,smoke,',
      'T1,H1,Nhà A,1 Lê Lợi,0901 000 002; +84 902.000.003 ;0234-3822-111,,,D2,panic,',
      'T1,H2,Nhà B,2 Lê Lợi,84901000009,,,D3,smoke,',
      'T1,H3,Nhà C,3 Lê Lợi,,,,D4,smoke,',
    ),
  );
  const h1 = store.getHousehold('H1')!;
  assert.deepEqual(h1.phones, ['+84901000002', '+84902000003', '+842343822111']);
  assert.equal(h1.phone, '0901 000 002; +84 902.000.003 ;0234-3822-111');
  assert.deepEqual(store.getHousehold('H2')!.phones, ['+84901000009']);
  assert.deepEqual(store.getHousehold('H3')!.phones, []);
  // Copies: a caller changing its household does not change the registry's.
  h1.phones.push('+84900000000');
  h1.card.access = 'changed';
  assert.deepEqual(store.getHousehold('H1')!.phones.length, 3);
  assert.equal(store.householdsOfTeam('T1')[0]!.card.access, '');
});

test('a bad number is an import error with its line, like any bad row; nothing is applied', (t) => {
  const { store, db } = tempRegistry(t);
  const byLine = refusal(() =>
    importCsv(
      store,
      csv(
        'T1,H1,Nhà A,1 Lê Lợi,0901000002,,,D1,smoke,', // 2 good
        'T1,H2,Nhà B,2 Lê Lợi,0901000002;;0902000003,,,D2,smoke,', // 3 empty part
        'T1,H3,Nhà C,3 Lê Lợi,0900,,,D3,smoke,', // 4 too short
        'T1,H4,Nhà D,4 Lê Lợi,090100000211,,,D4,smoke,', // 5 too long for Vietnam
        'T1,H5,Nhà E,5 Lê Lợi,0901 000 002 / 0902 000 003,,,D5,smoke,', // 6 wrong separator
        'T1,H6,Nhà F,6 Lê Lợi,901000002,,,D6,smoke,', // 7 leading 0 lost
        'T1,H7,Nhà G,7 Lê Lợi,+1234567890123456,,,D7,smoke,', // 8 longer than E.164
      ),
    ),
  );
  assert.equal(byLine.has(2), false);
  assert.match(byLine.get(3)!, /phone has an empty number \(part 2 of 3\)/);
  assert.match(byLine.get(4)!, /phone "0900" is too short/);
  assert.match(byLine.get(5)!, /phone "090100000211" is not a Vietnamese number: 11 digits after \+84/);
  assert.match(byLine.get(6)!, /separate several numbers with ";"/);
  assert.match(byLine.get(7)!, /phone "901000002" has no leading 0.*write 0901000002/);
  assert.match(byLine.get(8)!, /too long/);
  assert.equal(byLine.size, 6);
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM households').get() as { n: number }).n, 0);
});

test('the country code of local numbers is a setting: importCsv option, --country-code, SMOKEHUB_COUNTRY_CODE', async (t) => {
  const { store } = tempRegistry(t);
  importCsv(store, csv('T1,H1,Maison A,1 rue A,06 12 34 56 78,,,D1,smoke,'), { countryCode: 33 });
  assert.deepEqual(store.getHousehold('H1')!.phones, ['+33612345678']);
  const plan = planImport(csv('T1,H1,A,1 A,0901000002,,,,,'));
  assert.ok(plan.ok && plan.plan.households[0]!.phones[0] === '+84901000002', 'default 84');

  const dir = mkdtempSync(join(tmpdir(), 'smokehub-cc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'homes.csv');
  writeFileSync(file, csv('T1,H1,Maison A,1 rue A,06 12 34 56 78,,,D1,smoke,'));
  const run = async (argv: string[], env: Record<string, string> = {}) => {
    let out = '';
    let err = '';
    const code = await main(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s), env });
    return { code, out, err };
  };
  const data1 = join(dir, 'd1');
  assert.equal((await run(['import', file, '--data', data1, '--country-code', '33'])).code, 0);
  const list = await run(['households', '--data', data1]);
  assert.equal(list.code, 0, list.err);
  assert.match(list.out, /^T1\s+H1\s+Maison A\s+1 rue A\s+\+33612345678\s+D1\(smoke\)$/m, 'the listing shows E.164');
  const data2 = join(dir, 'd2');
  assert.equal((await run(['import', file, '--data', data2], { SMOKEHUB_COUNTRY_CODE: '33' })).code, 0);
  assert.match((await run(['households', '--data', data2])).out, /\+33612345678/);
  const bad = await run(['import', file, '--data', join(dir, 'd3'), '--country-code', '0']);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /countryCode \(--country-code\) must be between 1 and 999, got 0/);
  const french = await run(['import', file, '--data', join(dir, 'd4')]);
  assert.equal(french.code, 0, 'with 84, 0612345678 is a valid-length Vietnamese number');
  assert.match((await run(['households', '--data', join(dir, 'd4')])).out, /\+84612345678/);
  assert.match((await run(['import', '--help'])).out, /--country-code N/);
});

test('card columns: set by a file with them, kept by a file without them, cleared by an empty cell', (t) => {
  const { store } = tempRegistry(t);
  const withCard = (...rows: string[]) => [CARD_HEADER, ...rows].join('\n') + '\n';
  const r1 = importCsv(
    store,
    withCard(
      'T1,H1,Nhà A,1 Lê Lợi,0901000002,,,D1,smoke,,"Kiệt 2 m, xe dừng đầu kiệt",2 bình gas,"Bà 85 tuổi, phòng sau",Trụ nước ngã tư',
      'T1,H2,Nhà B,2 Lê Lợi,,,,D2,smoke,,,,,',
    ),
  );
  assert.deepEqual(r1.households, { created: 2, updated: 0, unchanged: 0 });
  assert.deepEqual(store.getHousehold('H1')!.card, {
    access: 'Kiệt 2 m, xe dừng đầu kiệt',
    hazards: '2 bình gas',
    vulnerable: 'Bà 85 tuổi, phòng sau',
    water: 'Trụ nước ngã tư',
  });
  assert.deepEqual(store.getHousehold('H2')!.card, EMPTY_CARD);

  // An old-style file (no card columns) changes the phone and keeps the card.
  const r2 = importCsv(store, csv('T1,H1,Nhà A,1 Lê Lợi,0901000003,,,D1,smoke,', 'T1,H3,Nhà C,3 Lê Lợi,,,,D3,smoke,'));
  assert.deepEqual(r2.households, { created: 1, updated: 1, unchanged: 0 });
  assert.equal(store.getHousehold('H1')!.card.vulnerable, 'Bà 85 tuổi, phòng sau', 'kept');
  assert.deepEqual(store.getHousehold('H1')!.phones, ['+84901000003']);
  assert.deepEqual(store.getHousehold('H3')!.card, EMPTY_CARD);
  // The same old-style file again: unchanged.
  assert.deepEqual(importCsv(store, csv('T1,H1,Nhà A,1 Lê Lợi,0901000003,,,D1,smoke,')).households, { created: 0, updated: 0, unchanged: 1 });

  // Only some card columns: the others are kept; an empty cell clears its field.
  const partial = `${HEADER},water,hazards\nT1,H1,Nhà A,1 Lê Lợi,0901000003,,,D1,smoke,,Giếng sau nhà,\n`;
  assert.deepEqual(importCsv(store, partial).households, { created: 0, updated: 1, unchanged: 0 });
  assert.deepEqual(store.getHousehold('H1')!.card, {
    access: 'Kiệt 2 m, xe dừng đầu kiệt',
    hazards: '',
    vulnerable: 'Bà 85 tuổi, phòng sau',
    water: 'Giếng sau nhà',
  });
  assert.deepEqual(importCsv(store, partial).households, { created: 0, updated: 0, unchanged: 1 }, 'idempotent');
});

test('a household over several rows gives each card field on one row; two different values are a bad row', (t) => {
  const { store } = tempRegistry(t);
  const file = [
    CARD_HEADER,
    'T1,H1,Nhà A,1 Lê Lợi,,,,D1,smoke,,Kiệt 2 m,,,',
    'T1,H1,Nhà A,1 Lê Lợi,,,,D2,panic,,,Bình gas,,',
    'T1,H1,Nhà A,1 Lê Lợi,,,,D3,heat,,Kiệt 2 m,Bình gas,Ông 80 tuổi,',
  ].join('\n');
  importCsv(store, file);
  assert.deepEqual(store.getHousehold('H1')!.card, { access: 'Kiệt 2 m', hazards: 'Bình gas', vulnerable: 'Ông 80 tuổi', water: '' });
  const byLine = refusal(() =>
    importCsv(
      store,
      [
        CARD_HEADER,
        'T1,H2,Nhà B,2 Lê Lợi,,,,D4,smoke,,Kiệt 2 m,,,',
        'T1,H2,Nhà B,2 Lê Lợi,,,,D5,smoke,,,Gas,,',
        'T1,H2,Nhà B,2 Lê Lợi,,,,D6,smoke,,Kiệt 3 m,Xăng,,',
      ].join('\n'),
    ),
  );
  assert.deepEqual([...byLine.keys()], [4]);
  assert.match(byLine.get(4)!, /household "H2" has a different access than on line 2; household "H2" has a different hazards than on line 3/);
  // Too long, control characters, and the header naming the optional columns.
  const long = refusal(() => importCsv(store, [CARD_HEADER, `T1,H3,C,3 C,,,,,,,${'x'.repeat(501)},,,`].join('\n')));
  assert.match(long.get(2)!, /access is longer than 500 characters/);
  const header = refusal(() => importCsv(store, `${HEADER},gate\n`));
  assert.match(header.get(1)!, /unknown column "gate".*optional: access, hazards, vulnerable, water/);
});

test('an older database (no phones/card columns) is migrated; its numbers are read from the phone cell', (t) => {
  const { dir, db, store } = tempRegistry(t);
  importCsv(store, csv('T1,H1,Nhà A,1 Lê Lợi,0912 345 678,,,D1,smoke,'));
  // Back to the schema before this change: the new columns and their migration step removed.
  for (const c of ['phones', 'access', 'hazards', 'vulnerable', 'water']) db.exec(`ALTER TABLE households DROP COLUMN ${c}`);
  db.exec('ALTER TABLE devices DROP COLUMN label');
  db.prepare("DELETE FROM schema_migrations WHERE module = 'registry' AND step >= 1").run();
  db.prepare(
    "INSERT INTO households (id, team, name, address, phone, lat, lon, created_at, updated_at) VALUES ('H2', 'T1', 'Nhà B', '2 Lê Lợi', '0912 000 111 / 0913', NULL, NULL, 0, 0)",
  ).run();
  db.close();
  const db2 = openDatabase(dir);
  t.after(() => db2.close());
  const reopened = new SqliteRegistryStore(db2, { dataDir: dir });
  assert.deepEqual(reopened.getHousehold('H1'), {
    id: 'H1',
    team: 'T1',
    name: 'Nhà A',
    address: '1 Lê Lợi',
    phone: '0912 345 678',
    phones: ['+84912345678'],
    lat: null,
    lon: null,
    card: EMPTY_CARD,
  });
  assert.deepEqual(reopened.getHousehold('H2')!.phones, [], 'a cell that was never valid gives no number (fixed by the next import)');
  importCsv(reopened, csv('T1,H2,Nhà B,2 Lê Lợi,0912 000 111; 0913 000 222,,,,,'));
  assert.deepEqual(reopened.getHousehold('H2')!.phones, ['+84912000111', '+84913000222']);
  assert.equal((db2.prepare("SELECT phones FROM households WHERE id = 'H2'").get() as { phones: string }).phones, '+84912000111;+84913000222');
});

test('GET /api/households/:id carries phones and the card within the household scope; the list does not', async (t) => {
  const { store } = tempRegistry(t);
  importCsv(
    store,
    [
      CARD_HEADER,
      'T1,H1,Nhà A,1 Lê Lợi,0901000002;0902000003,16.4,107.5,D1,smoke,,Kiệt 2 m,Bình gas,Bà 85 tuổi,Giếng',
      'T1,H2,Nhà B,2 Lê Lợi,0901000004,,,D2,smoke,,,,,',
      'T2,H3,Nhà C,3 Lê Lợi,,,,D3,smoke,,,,Trẻ nhỏ,',
    ].join('\n'),
  );
  await store.addUser({ username: 'station', role: 'station', password: 'station password 1' });
  await store.addUser({ username: 'lead', role: 'team-leader', team: 'T1', password: 'team lead password' });
  await store.addUser({ username: 'home2', role: 'household', household: 'H2', password: 'household password' });
  const router = new Router();
  registerHouseholdRoutes(router, { registry: store });
  const server: Server = createHttpServer({ router, sessions: store, logger: silentLogger(), metrics: new MetricsRegistry() });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const get = async (user: string, path: string) => {
    const res = await fetch(base + path, { headers: { Authorization: `Bearer ${store.createSession(user).token}` } });
    return { status: res.status, body: (await res.json()) as any };
  };
  const h1 = await get('station', '/api/households/H1');
  assert.equal(h1.status, 200);
  assert.deepEqual(h1.body.phones, ['+84901000002', '+84902000003']);
  assert.equal(h1.body.phone, '0901000002;0902000003');
  assert.deepEqual(h1.body.card, { access: 'Kiệt 2 m', hazards: 'Bình gas', vulnerable: 'Bà 85 tuổi', water: 'Giếng' });
  assert.deepEqual(Object.keys(h1.body), ['id', 'team', 'name', 'address', 'phone', 'lat', 'lon', 'phones', 'card', 'devices']);
  assert.deepEqual((await get('lead', '/api/households/H1')).body.card.vulnerable, 'Bà 85 tuổi', 'a team leader: its team');
  assert.equal((await get('lead', '/api/households/H3')).status, 403, 'not another team');
  assert.deepEqual((await get('home2', '/api/households/H2')).body.card, EMPTY_CARD, 'a household: its own');
  const neighbour = await get('home2', '/api/households/H1');
  assert.equal(neighbour.status, 403, "not the neighbour's card");
  assert.equal(JSON.stringify(neighbour.body).includes('85'), false);
  const list = await get('station', '/api/households');
  assert.deepEqual(
    list.body.households.map((h: any) => [h.id, 'card' in h, 'phones' in h]),
    [
      ['H1', false, false],
      ['H2', false, false],
      ['H3', false, false],
    ],
  );
});
