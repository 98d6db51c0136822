/**
 * Equipment from a CSV file with the header `household,item,serial,expires`, one row per item:
 *
 *   t1-h1,extinguisher,EX-2231,2027-03-31
 *   t1-h1,crowbar,,
 *
 * - `household` must be enrolled (its team is taken from the registry);
 * - `item` is required (≤ 100 characters, kept as written, NFC-normalised);
 * - `serial` may be blank (≤ 64 characters); (household, item, serial) appears once per file;
 * - `expires` is blank (never expires) or a date `YYYY-MM-DD`.
 * Planning is pure: every bad row is reported with its line number and reason, and then nothing is
 * applied. Re-importing the same file changes nothing (upsert by household, item and serial).
 */
import { parseCsv, CsvImportError, MAX_CSV_BYTES, type CsvProblem } from '../store/csv-import.ts';
import { isValidId } from '../protocol/topics.ts';
import type { EquipmentItem } from './reminders.ts';
import type { EquipmentStore } from './equipment-store.ts';
import { isIsoDate } from '../protocol/local-time.ts';

export const EQUIPMENT_COLUMNS = ['household', 'item', 'serial', 'expires'] as const;
export const MAX_ITEM_LENGTH = 100;
export const MAX_SERIAL_LENGTH = 64;

export interface PlannedEquipment extends EquipmentItem {
  line: number;
}

const CONTROL = /[\u0000-\u001f\u007f]/;

export function planEquipmentImport(
  text: string,
  teamOf: (household: string) => string | undefined,
): { ok: true; items: PlannedEquipment[] } | { ok: false; problems: CsvProblem[] } {
  if (Buffer.byteLength(text, 'utf8') > MAX_CSV_BYTES) return { ok: false, problems: [{ line: 0, reason: `the file is larger than ${MAX_CSV_BYTES} bytes` }] };
  const { records, problems } = parseCsv(text);
  const header = records[0];
  if (!header)
    return {
      ok: false,
      problems: problems.length > 0 ? problems : [{ line: 0, reason: 'the file is empty; expected the header household,item,serial,expires' }],
    };
  const names = header.fields.map((f) => f.trim().toLowerCase());
  if (names.length !== EQUIPMENT_COLUMNS.length || names.some((n, i) => n !== EQUIPMENT_COLUMNS[i])) {
    problems.push({ line: header.line, reason: `the header must be exactly "${EQUIPMENT_COLUMNS.join(',')}", got "${header.fields.join(',').slice(0, 120)}"` });
    return { ok: false, problems };
  }
  const items: PlannedEquipment[] = [];
  const seen = new Map<string, number>();
  for (const rec of records.slice(1)) {
    const bad = (reason: string) => problems.push({ line: rec.line, reason });
    if (rec.fields.length !== EQUIPMENT_COLUMNS.length) {
      bad(`expected ${EQUIPMENT_COLUMNS.length} fields (${EQUIPMENT_COLUMNS.join(',')}), got ${rec.fields.length}`);
      continue;
    }
    const [householdRaw, itemRaw, serialRaw, expiresRaw] = rec.fields.map((f) => f.trim().normalize('NFC')) as [string, string, string, string];
    const before = problems.length;
    let team: string | undefined;
    if (!isValidId(householdRaw as unknown)) bad(`household "${householdRaw.slice(0, 64)}" is not a valid id`);
    else if ((team = teamOf(householdRaw)) === undefined) bad(`household "${householdRaw}" is not enrolled (import it with "smokehub import" first)`);
    if (itemRaw === '') bad('item is required (e.g. extinguisher, crowbar, hammer, smoke detector)');
    else if (itemRaw.length > MAX_ITEM_LENGTH) bad(`item is longer than ${MAX_ITEM_LENGTH} characters`);
    else if (CONTROL.test(itemRaw)) bad('item holds control characters');
    if (serialRaw.length > MAX_SERIAL_LENGTH) bad(`serial is longer than ${MAX_SERIAL_LENGTH} characters`);
    else if (CONTROL.test(serialRaw)) bad('serial holds control characters');
    if (expiresRaw !== '' && !isIsoDate(expiresRaw as unknown))
      bad(`expires "${expiresRaw.slice(0, 32)}" is not a date YYYY-MM-DD (leave it blank for items that do not expire)`);
    if (problems.length > before) continue;
    const key = `${householdRaw}\u0000${itemRaw}\u0000${serialRaw}`;
    const first = seen.get(key);
    if (first !== undefined) {
      bad(`duplicate of line ${first} (same household, item and serial${serialRaw === '' ? '; give each item its serial' : ''})`);
      continue;
    }
    seen.set(key, rec.line);
    items.push({ line: rec.line, household: householdRaw, team: team!, item: itemRaw, serial: serialRaw, expires: expiresRaw === '' ? null : expiresRaw });
  }
  if (problems.length > 0) return { ok: false, problems: problems.sort((a, b) => a.line - b.line) };
  return { ok: true, items };
}

/** Validates the whole file, then applies it in one transaction; throws CsvImportError when any row is bad. */
export function importEquipment(
  store: EquipmentStore,
  text: string,
  teamOf: (household: string) => string | undefined,
  now: number,
): { items: number; added: number; updated: number; unchanged: number } {
  const plan = planEquipmentImport(text, teamOf);
  if (!plan.ok) throw new CsvImportError(plan.problems);
  const r = store.upsertMany(
    plan.items.map(({ line: _line, ...it }) => it),
    now,
  );
  return { items: plan.items.length, ...r };
}
