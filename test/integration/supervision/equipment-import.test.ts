/** Equipment CSV: good files are applied idempotently; any bad row is reported by line and nothing is applied. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { openDatabase } from '../../../hub/store/database.ts';
import { CsvImportError } from '../../../hub/store/csv-import.ts';
import { EquipmentStore } from '../../../hub/supervision/equipment-store.ts';
import { importEquipment, planEquipmentImport } from '../../../hub/supervision/equipment-import.ts';

const run = promisify(execFile);
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'smokehub-equip-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const teams: Record<string, string> = { 't1-h1': 't1', 't1-h2': 't1', 't2-h1': 't2' };
const teamOf = (h: string) => teams[h];

test('a good file is applied; re-importing changes nothing; a changed date updates', () => {
  const dir = tmp();
  const db = openDatabase(dir);
  try {
    const store = new EquipmentStore(db);
    const csv =
      '\ufeffhousehold,item,serial,expires\r\nt1-h1,extinguisher,EX-1,2027-03-31\r\nt1-h1,crowbar,,\r\nt2-h1,"bình chữa cháy, CO2",EX-9,2026-12-01\r\n';
    assert.deepEqual(importEquipment(store, csv, teamOf, 1000), { items: 3, added: 3, updated: 0, unchanged: 0 });
    assert.deepEqual(importEquipment(store, csv, teamOf, 2000), { items: 3, added: 0, updated: 0, unchanged: 3 });
    const items = store.list();
    assert.deepEqual(
      items.map((i) => [i.team, i.household, i.item, i.serial, i.expires]),
      [
        ['t1', 't1-h1', 'crowbar', '', null],
        ['t1', 't1-h1', 'extinguisher', 'EX-1', '2027-03-31'],
        ['t2', 't2-h1', 'bình chữa cháy, CO2', 'EX-9', '2026-12-01'],
      ],
    );
    assert.deepEqual(importEquipment(store, 'household,item,serial,expires\nt1-h1,extinguisher,EX-1,2028-03-31\n', teamOf, 3000), {
      items: 1,
      added: 0,
      updated: 1,
      unchanged: 0,
    });
    assert.equal(store.list({ household: 't1-h1' }).find((i) => i.serial === 'EX-1')!.expires, '2028-03-31');
    assert.deepEqual(
      store.expiringBy('2026-12-31').map((i) => i.serial),
      ['EX-9'],
    );
  } finally {
    db.close();
  }
});

test('bad rows are reported with their line numbers and reasons, and nothing is applied', () => {
  const dir = tmp();
  const db = openDatabase(dir);
  try {
    const store = new EquipmentStore(db);
    const csv = [
      'household,item,serial,expires',
      't1-h1,extinguisher,EX-1,2027-03-31', // 2: fine
      'nobody,extinguisher,EX-2,2027-03-31', // 3: not enrolled
      't1-h2,,EX-3,2027-03-31', // 4: no item
      't1-h2,hammer,H-1,31/03/2027', // 5: bad date
      't1-h2,hammer,H-2,2027-02-30', // 6: impossible date
      't1-h1,extinguisher,EX-1,2028-01-01', // 7: duplicate of 2
      't1-h2,hammer', // 8: missing fields
      'bad id!,hammer,H-3,', // 9: bad id
    ].join('\n');
    let err: CsvImportError | undefined;
    try {
      importEquipment(store, csv, teamOf, 1000);
    } catch (e) {
      err = e as CsvImportError;
    }
    assert.ok(err instanceof CsvImportError);
    assert.deepEqual(
      err.problems.map((p) => p.line),
      [3, 4, 5, 6, 7, 8, 9],
    );
    assert.match(err.problems[0]!.reason, /not enrolled/);
    assert.match(err.problems[1]!.reason, /item is required/);
    assert.match(err.problems[2]!.reason, /YYYY-MM-DD/);
    assert.match(err.problems[4]!.reason, /duplicate of line 2/);
    assert.match(err.problems[5]!.reason, /expected 4 fields/);
    assert.match(err.problems[6]!.reason, /not a valid id/);
    assert.equal(store.list().length, 0, 'nothing applied, not even the good row');
    const header = planEquipmentImport('household,item,expires\n', teamOf);
    assert.equal(header.ok, false);
    assert.match((header as { problems: Array<{ reason: string }> }).problems[0]!.reason, /header must be exactly/);
  } finally {
    db.close();
  }
});

test('smokehub equipment import FILE.csv: applies a good file, refuses a bad one with FILE:LINE reasons', async () => {
  const dir = tmp();
  const data = join(dir, 'data');
  const reg = join(dir, 'registry.csv');
  writeFileSync(reg, 'team,household,name,address,phone,lat,lon,device,kind,secret\nt1,t1-h1,Nhà A,1 Lê Lợi,0900000001,,,t1-h1-smoke,smoke,\n');
  const env = { ...process.env, SMOKEHUB_LOG_LEVEL: 'silent' };
  await run(process.execPath, ['--import', 'tsx', 'hub/cli/main.ts', 'import', reg, '--data', data], { cwd: process.cwd(), env });
  const good = join(dir, 'good.csv');
  writeFileSync(good, 'household,item,serial,expires\nt1-h1,extinguisher,EX-1,2027-03-31\nt1-h1,hammer,,\n');
  const ok = await run(process.execPath, ['--import', 'tsx', 'hub/cli/main.ts', 'equipment', 'import', good, '--data', data], { cwd: process.cwd(), env });
  assert.match(ok.stderr, /2 items \(2 new, 0 updated, 0 unchanged\)/);
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'household,item,serial,expires\nt1-h1,crowbar,C-1,2027-01-01\nt9-h9,crowbar,C-2,2027-01-01\n');
  await assert.rejects(
    run(process.execPath, ['--import', 'tsx', 'hub/cli/main.ts', 'equipment', 'import', bad, '--data', data], { cwd: process.cwd(), env }),
    (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 1);
      assert.ok(e.stderr.includes(`${bad}:3: household "t9-h9" is not enrolled`), e.stderr);
      assert.match(e.stderr, /nothing was imported/);
      return true;
    },
  );
  const list = await run(process.execPath, ['--import', 'tsx', 'hub/cli/main.ts', 'equipment', 'list', '--data', data], { cwd: process.cwd(), env });
  assert.match(list.stdout, /extinguisher/);
  assert.doesNotMatch(list.stdout, /crowbar/, 'the bad file applied nothing');
});
