import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CsvImportError, credentialsCsv, importCsv, parseCsv, planImport } from '../../../hub/store/csv-import.ts';
import { csv, HEADER, tempRegistry } from '../../helpers/registry-kit.ts';

const GOOD =
  [
    '\ufeff' + HEADER,
    'T01,H001,"Nguyễn Văn An","12 Lê Lợi, phường Phú Hội, Huế",0912 345 678,16.4637,107.5909,D001,smoke,',
    'T01,H001,"Nguyễn Văn An","12 Lê Lợi, phường Phú Hội, Huế",0912 345 678,16.4637,107.5909,D002,panic,',
    'T01,H002,"Trần Thị ""Bé"" Hoa","14 Lê Lợi",+84 234 3822 111,,,D003,heat,operator-chosen-secret-1',
    'T02,H003,Lê Văn Cường,"Kiệt 5\nHẻm 3",,16.47,107.6,D004,co,',
    'T02,H004,Phạm Thị Dung,20 Hùng Vương,,,,,,',
  ].join('\r\n') + '\r\n';

test('RFC 4180 parsing: quotes, doubled quotes, embedded newlines and commas, BOM, CRLF, blank lines', () => {
  const { records, problems } = parseCsv('\ufeffa,b,c\r\n"x, y","say ""hi""","two\nlines"\r\n\r\n  p , q ,r\nlast,,""');
  assert.deepEqual(problems, []);
  assert.deepEqual(records, [
    { line: 1, fields: ['a', 'b', 'c'] },
    { line: 2, fields: ['x, y', 'say "hi"', 'two\nlines'] },
    { line: 5, fields: ['p', 'q', 'r'] },
    { line: 6, fields: ['last', '', ''] },
  ]);
  const bad = parseCsv('a,b\nx"y,z\n"open,q\n');
  assert.equal(bad.problems[0]!.line, 2);
  assert.match(bad.problems[0]!.reason, /quote/);
  assert.ok(bad.problems.some((p) => p.line === 3 && /never closed/.test(p.reason)));
});

test('a good file enrols teams, households and devices; generated secrets are ≥128-bit, unique and printed once', (t) => {
  const { store } = tempRegistry(t);
  const r = importCsv(store, GOOD);
  assert.equal(r.teamsCreated, 2);
  assert.deepEqual(r.households, { created: 4, updated: 0, unchanged: 0 });
  assert.deepEqual(r.devices, { created: 4, updated: 0, unchanged: 0, moved: 0 });
  assert.deepEqual(
    r.credentials.map((c) => `${c.household}/${c.device}`),
    ['H001/D001', 'H001/D002', 'H003/D004'],
  );
  const secrets = r.credentials.map((c) => c.secret);
  assert.equal(new Set(secrets).size, secrets.length);
  for (const s of secrets) {
    assert.match(s, /^[A-Za-z0-9_-]+$/);
    assert.ok(Buffer.from(s, 'base64url').length * 8 >= 128, s);
    assert.ok(store.verifyDeviceSecret(r.credentials.find((c) => c.secret === s)!.device, s));
  }
  assert.ok(store.verifyDeviceSecret('D003', 'operator-chosen-secret-1'));
  const h1 = store.getHousehold('H001')!;
  assert.deepEqual(h1, {
    id: 'H001',
    team: 'T01',
    name: 'Nguyễn Văn An',
    address: '12 Lê Lợi, phường Phú Hội, Huế',
    phone: '0912 345 678',
    phones: ['+84912345678'],
    lat: 16.4637,
    lon: 107.5909,
    card: { access: '', hazards: '', vulnerable: '', water: '' },
  });
  assert.deepEqual(store.getHousehold('H002')!.phones, ['+842343822111']);
  assert.deepEqual(store.getHousehold('H003')!.phones, []);
  assert.equal(store.getHousehold('H002')!.name, 'Trần Thị "Bé" Hoa');
  assert.equal(store.getHousehold('H002')!.lat, null);
  assert.equal(store.getHousehold('H003')!.address, 'Kiệt 5\nHẻm 3');
  assert.deepEqual(store.listDevices({ household: 'H004' }), []);
  assert.deepEqual(
    store.householdsOfTeam('T01').map((h) => h.id),
    ['H001', 'H002'],
  );
  assert.equal(store.getDevice('D004')!.team, 'T02');
  const out = credentialsCsv(r.credentials);
  assert.equal(out.split('\n')[0], 'household,device,secret');
  assert.equal(out.trim().split('\n').length, 4);
});

test('re-import is idempotent: no duplicates, secrets kept and not printed again; changes are updates', (t) => {
  const { store, db } = tempRegistry(t);
  const first = importCsv(store, GOOD);
  const again = importCsv(store, GOOD);
  assert.deepEqual(again.credentials, []);
  assert.deepEqual(again.households, { created: 0, updated: 0, unchanged: 4 });
  assert.deepEqual(again.devices, { created: 0, updated: 0, unchanged: 4, moved: 0 });
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM devices').get() as { n: number }).n, 4);
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM households').get() as { n: number }).n, 4);
  for (const c of first.credentials) assert.ok(store.verifyDeviceSecret(c.device, c.secret), 'secret kept');
  // An update: new phone, kind change, a new secret, a new device.
  const changed = importCsv(
    store,
    csv(
      'T01,H002,"Trần Thị ""Bé"" Hoa","14 Lê Lợi",0234 000 000,,,D003,smoke,a-brand-new-secret-2',
      'T01,H002,"Trần Thị ""Bé"" Hoa","14 Lê Lợi",0234 000 000,,,D005,smoke,',
    ),
  );
  assert.deepEqual(changed.households, { created: 0, updated: 1, unchanged: 0 });
  assert.deepEqual(changed.devices, { created: 1, updated: 1, unchanged: 0, moved: 0 });
  assert.deepEqual(
    changed.credentials.map((c) => c.device),
    ['D005'],
  );
  assert.equal(store.getHousehold('H002')!.phone, '0234 000 000');
  assert.equal(store.getDevice('D003')!.kind, 'smoke');
  assert.equal(store.verifyDeviceSecret('D003', 'operator-chosen-secret-1'), null);
  assert.ok(store.verifyDeviceSecret('D003', 'a-brand-new-secret-2'));
});

test('every kind of bad row is reported with its line number, and nothing is applied', (t) => {
  const { store, db } = tempRegistry(t);
  const text = [
    HEADER, // 1
    'T1,H1,Nhà A,1 Đường A,,,,D1,smoke,', // 2 good
    'bad team,H2,Nhà B,2 Đường B,,,,D2,smoke,', // 3 bad team id
    'T1,H/3,Nhà C,3 Đường C,,,,D3,smoke,', // 4 bad household id
    'T1,H4,Nhà D,4 Đường D,,,,D#4,smoke,', // 5 bad device id
    'T1,H5,Nhà E,5 Đường E,,,,D5,fire,', // 6 unknown kind
    'T1,H6,Nhà F,6 Đường F,,91,10,D6,smoke,', // 7 lat out of range
    'T1,H7,Nhà G,7 Đường G,,10,-181,D7,smoke,', // 8 lon out of range
    'T1,H8,Nhà H,8 Đường H,,10,,D8,smoke,', // 9 lat without lon
    'T1,H9,Nhà I,9 Đường I,,abc,1,D9,smoke,', // 10 not a number
    'T1,H1,Nhà A khác,1 Đường A,,,,D10,smoke,', // 11 conflicting household name
    'T1,H11,Nhà K,11 Đường K,,,,D1,heat,', // 12 duplicate device
    'T1,H12,,12 Đường L,,,,D12,smoke,', // 13 blank name
    'T1,H13,Nhà M,,,,,D13,smoke,', // 14 blank address
    'T1,H14,Nhà N,14 Đường N,call me,,,D14,smoke,', // 15 bad phone
    'T1,H15,Nhà O,15 Đường O,,,,D15,smoke,tooshort', // 16 weak secret
    'T1,H16,Nhà P,16 Đường P,,,,D16,smoke', // 17 missing field
    'T1,H17,Nhà Q,17 Đường Q,,,,D17,,', // 18 blank kind
    'T1,H18,"Nhà ""R",18 Đường R,,,,"D18"x,smoke,', // 19 text after closing quote
    'T2,H1,Nhà A,1 Đường A,,,,D19,smoke,', // 20 household in another team in the same file
  ].join('\n');
  let err: unknown;
  try {
    importCsv(store, text);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof CsvImportError);
  const byLine = new Map(err.problems.map((p) => [p.line, p.reason]));
  const expect: Array<[number, RegExp]> = [
    [3, /team "bad team" is not a valid id/],
    [4, /household "H\/3" is not a valid id/],
    [5, /device "D#4" is not a valid id/],
    [6, /kind "fire" is not one of smoke, heat, co, gas, panic, siren, bridge, zigbee2mqtt/],
    [7, /lat 91 is outside -90\.\.90/],
    [8, /lon -181 is outside -180\.\.180/],
    [9, /lat and lon must both be given or both be blank/],
    [10, /lat "abc" is not a number/],
    [11, /household "H1" has a different name than on line 2/],
    [12, /device "D1" already appears on line 2/],
    [13, /name is blank/],
    [14, /address is blank/],
    [15, /phone "call me"/],
    [16, /secret must be at least 16 characters/],
    [17, /expected 10 fields, found 9/],
    [18, /kind is blank/],
    [19, /text after a closing quote/],
    [20, /household "H1" has a different team than on line 2/],
  ];
  for (const [line, re] of expect) assert.match(byLine.get(line) ?? `(no problem on line ${line})`, re, `line ${line}`);
  assert.equal(byLine.has(2), false, 'the good row is not blamed');
  assert.equal(err.problems.length, expect.length);
  assert.equal(err.code, 'bad_csv');
  for (const table of ['teams', 'households', 'devices']) {
    assert.equal((db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n, 0, `${table} untouched`);
  }
  assert.equal(store.getHousehold('H1'), undefined);
});

test('a bad header, an empty file and a header-only file', (t) => {
  const { store } = tempRegistry(t);
  assert.throws(
    () => importCsv(store, ''),
    (e: CsvImportError) => e.problems[0]!.line === 1 && /empty/.test(e.problems[0]!.reason),
  );
  assert.throws(
    () => importCsv(store, 'team,household,name,address,phone,lat,lon,device,kind,colour\n'),
    (e: CsvImportError) => /unknown column "colour"/.test(e.problems[0]!.reason) && /missing column secret/.test(e.problems[0]!.reason),
  );
  const r = importCsv(store, HEADER + '\n');
  assert.equal(r.households.created, 0);
  // Column order is free when every column is named.
  const p = planImport('secret,kind,device,lon,lat,phone,address,name,household,team\n,smoke,D1,,,,Addr,Name,H1,T1\n');
  assert.ok(p.ok);
  assert.deepEqual(p.ok && p.plan.devices[0], { line: 2, id: 'D1', household: 'H1', kind: 'smoke', secret: null });
});

test('moving a device to another household is refused (line reported, nothing applied) unless allowed', (t) => {
  const { store } = tempRegistry(t);
  const first = importCsv(store, csv('T1,H1,A,1 A,,,,D1,smoke,', 'T1,H2,B,2 B,,,,D2,smoke,'));
  const moveFile = csv('T1,H3,C,3 C,,,,D9,smoke,', 'T1,H2,B,2 B,,,,D1,smoke,');
  assert.throws(
    () => importCsv(store, moveFile),
    (e: CsvImportError) => e.problems.length === 1 && e.problems[0]!.line === 3 && /enrolled in household "H1".*--allow-moves/.test(e.problems[0]!.reason),
  );
  assert.equal(store.getHousehold('H3'), undefined, 'nothing applied');
  assert.equal(store.getDevice('D9'), undefined);
  assert.equal(store.getDevice('D1')!.household, 'H1');
  // With other bad rows in the file, the move is reported in the same run.
  assert.throws(
    () => importCsv(store, csv('T1,H3,C,3 C,,,,D9,fire,', 'T1,H2,B,2 B,,,,D1,smoke,')),
    (e: CsvImportError) => e.problems.map((p) => p.line).join() === '2,3' && /--allow-moves/.test(e.problems[1]!.reason),
  );
  const moved = importCsv(store, moveFile, { allowMoves: true });
  assert.equal(moved.devices.moved, 1);
  assert.equal(store.getDevice('D1')!.household, 'H2');
  assert.ok(store.verifyDeviceSecret('D1', first.credentials.find((c) => c.device === 'D1')!.secret), 'a moved device keeps its secret');
});

test('a household may move to another team; the team index follows', (t) => {
  const { store } = tempRegistry(t);
  importCsv(store, csv('T1,H1,A,1 A,,,,D1,smoke,', 'T1,H2,B,2 B,,,,D2,smoke,'));
  importCsv(store, csv('T2,H2,B,2 B,,,,D2,smoke,'));
  assert.deepEqual(
    store.householdsOfTeam('T1').map((h) => h.id),
    ['H1'],
  );
  assert.deepEqual(
    store.householdsOfTeam('T2').map((h) => h.id),
    ['H2'],
  );
  assert.equal(store.teamOf('H2'), 'T2');
  assert.equal(store.getDevice('D2')!.team, 'T2');
});
