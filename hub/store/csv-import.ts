/**
 * Enrolment from a CSV file: one row per device,
 *
 *   team,household,name,address,phone,lat,lon,device,kind,secret
 *
 * Parsing and validation are pure (RFC 4180 quoting, UTF-8 with or without a BOM, CRLF or LF,
 * Vietnamese text kept as written, NFC-normalised). Every bad row is reported with its line
 * number and reason, and then nothing at all is applied. Rules:
 * - ids (team, household, device) follow `isValidId`; `kind` is one of DEVICE_KINDS;
 * - `name` and `address` are required (the fire brigade needs them); `phone` may be blank or hold
 *   several numbers separated by `;`, each normalised to E.164 with the country code
 *   (hub/sms/phone-number.ts); a number that cannot be is a bad row;
 * - optional columns `access`, `hazards`, `vulnerable`, `water` (the dispatch card): a file
 *   WITHOUT such a column leaves each household's stored value unchanged (new households get '');
 *   a file WITH it sets the value, and an empty cell clears it. A household spread over several
 *   rows may give a card field on one row and leave it blank on the others; two different
 *   non-blank values are a bad row;
 * - `lat`/`lon` are both blank or both numbers within -90..90 / -180..180;
 * - a household spread over several rows must repeat the same team, name, address, phone, lat, lon;
 * - a device appears at most once per file;
 * - a blank `secret` enrols a NEW device with a generated secret (printed once) and keeps an
 *   EXISTING device's secret (not printed again); a given secret must be ≥ 16 printable characters;
 * - a row with blank device, kind and secret enrols (or updates) a household without devices;
 * - a device that already belongs to ANOTHER household is refused unless the import is run with
 *   `--allow-moves`: a silent move would send that home's alarms to the wrong neighbours.
 * Re-importing the same file changes nothing (upsert by id, never duplicates).
 */
import { ERROR_CODES, ValidationError } from '../protocol/errors.ts';
import { isValidId } from '../protocol/topics.ts';
import { DEVICE_KINDS, type DeviceKind } from '../protocol/schema.ts';
import { deviceSecretProblem } from './credentials.ts';
import { CARD_FIELDS, type CardField, type Household, type HouseholdCard } from './registry-types.ts';
import { DEFAULT_COUNTRY_CODE, parsePhoneList } from '../sms/phone-number.ts';

export const CSV_COLUMNS = ['team', 'household', 'name', 'address', 'phone', 'lat', 'lon', 'device', 'kind', 'secret'] as const;
/** Optional columns: the dispatch card. */
export const CSV_OPTIONAL_COLUMNS = CARD_FIELDS;
export type CsvColumn = (typeof CSV_COLUMNS)[number] | CardField;

export const MAX_NAME_LENGTH = 200;
export const MAX_ADDRESS_LENGTH = 500;
/** The whole `phone` cell (several numbers separated by `;`). */
export const MAX_PHONE_LENGTH = 200;
export const MAX_CARD_FIELD_LENGTH = 500;
/** Bound on the file, so a wrong file (a disk image…) is refused rather than parsed. */
export const MAX_CSV_BYTES = 50 * 1024 * 1024;

export interface CsvProblem {
  /** 1-based line number where the record starts (0: the file as a whole). */
  line: number;
  reason: string;
}

/** The CSV file was refused; `problems` lists every bad row. Nothing was applied. */
export class CsvImportError extends ValidationError {
  readonly problems: CsvProblem[];
  constructor(problems: CsvProblem[]) {
    const first = problems[0];
    super(
      ERROR_CODES.BAD_CSV,
      problems.length === 1 && first
        ? `line ${first.line}: ${first.reason}`
        : `${problems.length} bad rows (first: line ${first?.line}: ${first?.reason}); nothing was imported`,
      problems,
    );
    this.problems = problems;
  }
}

export interface CsvRecord {
  line: number;
  fields: string[];
}

/**
 * RFC 4180 parser. Quoted fields may hold commas, quotes ("") and line breaks; CRLF, LF and CR
 * end records. A leading UTF-8 BOM is dropped. Problems (a stray quote, an unterminated quote)
 * are reported with the line of the record.
 */
export function parseCsv(text: string): { records: CsvRecord[]; problems: CsvProblem[] } {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const records: CsvRecord[] = [];
  const problems: CsvProblem[] = [];
  let line = 1;
  let recordLine = 1;
  let fields: string[] = [];
  let field = '';
  let quoted = false; // inside a quoted field
  let wasQuoted = false; // the current field started with a quote
  let afterQuote = false; // the closing quote of the current field was seen
  let bad = false;
  const endField = () => {
    fields.push(wasQuoted ? field : field.trim());
    field = '';
    wasQuoted = false;
    afterQuote = false;
  };
  const endRecord = () => {
    endField();
    const blank = fields.length === 1 && fields[0] === '';
    if (!blank && !bad) records.push({ line: recordLine, fields });
    fields = [];
    bad = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
          afterQuote = true;
        }
      } else {
        if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) line++;
        field += c;
      }
      continue;
    }
    if (c === ',') {
      endField();
    } else if (c === '\r' || c === '\n') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else if (c === '"') {
      if (field.trim() === '' && !wasQuoted) {
        field = '';
        quoted = true;
        wasQuoted = true;
      } else {
        if (!bad) problems.push({ line, reason: 'a quote (") inside an unquoted field; quote the whole field and double the quote ("")' });
        bad = true;
        field += c;
      }
    } else if (afterQuote) {
      if (c !== ' ' && c !== '\t') {
        if (!bad) problems.push({ line, reason: 'text after a closing quote; quote the whole field and double inner quotes ("")' });
        bad = true;
      }
    } else {
      field += c;
    }
  }
  if (quoted) {
    problems.push({ line: recordLine, reason: 'a quoted field is never closed (missing ")' });
  } else if (field !== '' || fields.length > 0 || wasQuoted) {
    endRecord();
  }
  return { records, problems };
}

/** A household row of the file, with the line it came from. */
export interface PlannedHousehold extends Omit<Household, 'card'> {
  line: number;
  /** Only the card columns the file has: an absent key leaves the stored value unchanged. */
  card: Partial<HouseholdCard>;
}
export interface PlannedDevice {
  line: number;
  id: string;
  household: string;
  kind: DeviceKind;
  /** null: generate for a new device, keep for an existing one. */
  secret: string | null;
}
/** What a valid file asks for, in file order. */
export interface ImportPlan {
  teams: string[];
  households: PlannedHousehold[];
  devices: PlannedDevice[];
}

const CONTROL_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f]/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

function describe(value: string): string {
  return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
}

export interface PlanOptions {
  /** Country calling code of local numbers (`0…`); default 84. */
  countryCode?: number;
}

/** Validates the whole file; returns the plan, or every problem found. Pure. */
export function planImport(text: string, opts: PlanOptions = {}): { ok: true; plan: ImportPlan } | { ok: false; problems: CsvProblem[]; partial?: ImportPlan } {
  const countryCode = opts.countryCode ?? DEFAULT_COUNTRY_CODE;
  const expected = `${CSV_COLUMNS.join(',')} (optional: ${CSV_OPTIONAL_COLUMNS.join(', ')})`;
  const problems: CsvProblem[] = [];
  const { records, problems: parseProblems } = parseCsv(text);
  problems.push(...parseProblems);
  const header = records.shift();
  if (!header) {
    problems.push({ line: 1, reason: `the file is empty; expected the header ${expected}` });
    return { ok: false, problems };
  }
  const names = header.fields.map((f) => f.trim().toLowerCase());
  const col = new Map<string, number>();
  const headerProblems: string[] = [];
  names.forEach((n, i) => {
    if (!(CSV_COLUMNS as readonly string[]).includes(n) && !(CSV_OPTIONAL_COLUMNS as readonly string[]).includes(n)) {
      headerProblems.push(`unknown column ${describe(n)}`);
    } else if (col.has(n)) headerProblems.push(`column "${n}" appears twice`);
    else col.set(n, i);
  });
  const missing = CSV_COLUMNS.filter((c) => !col.has(c));
  if (missing.length > 0) headerProblems.push(`missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  if (headerProblems.length > 0) {
    problems.push({ line: header.line, reason: `bad header: ${headerProblems.join('; ')}; expected ${expected}` });
    return { ok: false, problems };
  }

  const households = new Map<string, PlannedHousehold>();
  /** Where each household's non-blank card values came from (for conflict reports). */
  const cardLines = new Map<string, Partial<Record<CardField, number>>>();
  const devices = new Map<string, PlannedDevice>();
  const teams: string[] = [];
  const teamSet = new Set<string>();

  for (const rec of records) {
    const reasons: string[] = [];
    if (rec.fields.length !== names.length) {
      problems.push({ line: rec.line, reason: `expected ${names.length} fields, found ${rec.fields.length}` });
      continue;
    }
    const get = (c: CsvColumn): string => rec.fields[col.get(c)!]!.normalize('NFC');
    const text = (c: CsvColumn, max: number, required: boolean): string => {
      const v = get(c).trim();
      if (required && v === '') reasons.push(`${c} is blank`);
      else if (v.length > max) reasons.push(`${c} is longer than ${max} characters`);
      else if (CONTROL_CHARS.test(v)) reasons.push(`${c} contains control characters`);
      return v;
    };
    const id = (c: CsvColumn, required: boolean): string => {
      const v = get(c).trim();
      if (v === '') {
        if (required) reasons.push(`${c} is blank`);
      } else if (!isValidId(v)) {
        reasons.push(`${c} ${describe(v)} is not a valid id (letters, digits, "_", "." or "-", at most 64, starting with a letter or digit)`);
      }
      return v;
    };
    const coord = (c: 'lat' | 'lon', limit: number): number | null => {
      const v = get(c).trim();
      if (v === '') return null;
      const n = NUMBER.test(v) ? Number(v) : NaN;
      if (!Number.isFinite(n)) reasons.push(`${c} ${describe(v)} is not a number`);
      else if (n < -limit || n > limit) reasons.push(`${c} ${v} is outside -${limit}..${limit}`);
      return n;
    };

    const team = id('team', true);
    const household = id('household', true);
    const name = text('name', MAX_NAME_LENGTH, true);
    const address = text('address', MAX_ADDRESS_LENGTH, true);
    const phone = text('phone', MAX_PHONE_LENGTH, false);
    let phones: string[] = [];
    if (phone !== '') {
      const parsed = parsePhoneList(phone, countryCode);
      if (parsed.ok) phones = parsed.phones;
      else reasons.push(...parsed.reasons);
    }
    const card: Partial<HouseholdCard> = {};
    for (const f of CSV_OPTIONAL_COLUMNS) if (col.has(f)) card[f] = text(f, MAX_CARD_FIELD_LENGTH, false);
    let lat = coord('lat', 90);
    let lon = coord('lon', 180);
    if ((lat === null) !== (lon === null)) {
      reasons.push('lat and lon must both be given or both be blank');
    }
    if (lat !== null && !Number.isFinite(lat)) lat = null;
    if (lon !== null && !Number.isFinite(lon)) lon = null;

    const deviceRaw = get('device').trim();
    const kindRaw = get('kind').trim();
    const secretRaw = get('secret').trim();
    const householdOnly = deviceRaw === '' && kindRaw === '' && secretRaw === '';
    let device = '';
    let kind: DeviceKind | null = null;
    if (!householdOnly) {
      device = id('device', true);
      if (kindRaw === '') reasons.push('kind is blank');
      else if (!(DEVICE_KINDS as readonly string[]).includes(kindRaw)) reasons.push(`kind ${describe(kindRaw)} is not one of ${DEVICE_KINDS.join(', ')}`);
      else kind = kindRaw as DeviceKind;
      if (secretRaw !== '') {
        const p = deviceSecretProblem(secretRaw);
        if (p) reasons.push(p);
      }
    }

    if (reasons.length === 0) {
      const planned: PlannedHousehold = { line: rec.line, id: household, team, name, address, phone, phones, lat, lon, card };
      const seen = households.get(household);
      const cardGiven: CardField[] = [];
      if (seen) {
        const diffs = (['team', 'name', 'address', 'phone', 'lat', 'lon'] as const).filter((k) => seen[k] !== planned[k]);
        if (diffs.length > 0) reasons.push(`household "${household}" has a different ${diffs.join(', ')} than on line ${seen.line}`);
        // A card field may be given on one of the household's rows only; two different values conflict.
        const lines = cardLines.get(household)!;
        for (const f of CSV_OPTIONAL_COLUMNS) {
          const mine = card[f] ?? '';
          const theirs = seen.card[f] ?? '';
          if (mine !== '' && theirs !== '' && mine !== theirs) reasons.push(`household "${household}" has a different ${f} than on line ${lines[f]}`);
          else if (mine !== '' && theirs === '') cardGiven.push(f);
        }
      }
      if (!householdOnly) {
        const dup = devices.get(device);
        if (dup) reasons.push(`device "${device}" already appears on line ${dup.line}`);
      }
      if (reasons.length === 0) {
        if (!seen) {
          households.set(household, planned);
          const lines: Partial<Record<CardField, number>> = {};
          for (const f of CSV_OPTIONAL_COLUMNS) if ((card[f] ?? '') !== '') lines[f] = rec.line;
          cardLines.set(household, lines);
        } else {
          for (const f of cardGiven) {
            seen.card[f] = card[f];
            cardLines.get(household)![f] = rec.line;
          }
        }
        if (!teamSet.has(team)) {
          teamSet.add(team);
          teams.push(team);
        }
        if (!householdOnly) devices.set(device, { line: rec.line, id: device, household, kind: kind!, secret: secretRaw === '' ? null : secretRaw });
      }
    }
    if (reasons.length > 0) problems.push({ line: rec.line, reason: reasons.join('; ') });
  }
  const plan = { teams, households: [...households.values()], devices: [...devices.values()] };
  if (problems.length > 0) return { ok: false, problems: problems.sort((a, b) => a.line - b.line), partial: plan };
  return { ok: true, plan };
}

export interface ImportCounts {
  created: number;
  updated: number;
  unchanged: number;
}
export interface ImportResult {
  teamsCreated: number;
  households: ImportCounts;
  devices: ImportCounts & { moved: number };
  /** Secrets generated by this import (devices enrolled with a blank secret). Shown once. */
  credentials: Array<{ household: string; device: string; secret: string }>;
}

/** What an import needs of the registry (registry-enrolment.ts implements it): the port is owned here. */
export interface ImportTarget {
  /** Devices the plan would move to another household (refused unless `allowMoves`). */
  moveProblems(devices: ImportPlan['devices']): CsvProblem[];
  /** Applies a valid plan in one transaction; throws CsvImportError with every problem. */
  applyImport(plan: ImportPlan, opts?: { allowMoves?: boolean }): ImportResult;
}

/**
 * Validates and applies a CSV file in one transaction. Throws CsvImportError with every
 * problem (nothing applied), or returns the counts and the generated credentials.
 */
export function importCsv(store: ImportTarget, text: string, opts: { allowMoves?: boolean; countryCode?: number } = {}): ImportResult {
  if (text.length > MAX_CSV_BYTES) throw new CsvImportError([{ line: 0, reason: `the file is larger than ${MAX_CSV_BYTES} bytes` }]);
  const planned = planImport(text, { countryCode: opts.countryCode });
  if (!planned.ok) {
    // Report the refused moves of the valid rows too, so one run lists every bad row.
    const moves = planned.partial && !opts.allowMoves ? store.moveProblems(planned.partial.devices) : [];
    throw new CsvImportError([...planned.problems, ...moves].sort((a, b) => a.line - b.line));
  }
  return store.applyImport(planned.plan, opts);
}

/** The same port for a registry whose writes are asynchronous (PostgreSQL: hub/cluster/pg-registry.ts). */
export interface AsyncImportTarget {
  moveProblems(devices: ImportPlan['devices']): Promise<CsvProblem[]>;
  applyImport(plan: ImportPlan, opts?: { allowMoves?: boolean }): Promise<ImportResult>;
}

/** `importCsv` for an AsyncImportTarget: the same validation, reports and single transaction. */
export async function importCsvAsync(store: AsyncImportTarget, text: string, opts: { allowMoves?: boolean; countryCode?: number } = {}): Promise<ImportResult> {
  if (text.length > MAX_CSV_BYTES) throw new CsvImportError([{ line: 0, reason: `the file is larger than ${MAX_CSV_BYTES} bytes` }]);
  const planned = planImport(text, { countryCode: opts.countryCode });
  if (!planned.ok) {
    const moves = planned.partial && !opts.allowMoves ? await store.moveProblems(planned.partial.devices) : [];
    throw new CsvImportError([...planned.problems, ...moves].sort((a, b) => a.line - b.line));
  }
  return store.applyImport(planned.plan, opts);
}

/** Quotes a CSV field when needed (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) || /^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The generated credentials as CSV (`household,device,secret`), header included. */
export function credentialsCsv(credentials: ImportResult['credentials']): string {
  const lines = ['household,device,secret', ...credentials.map((c) => [c.household, c.device, c.secret].map(csvField).join(','))];
  return lines.join('\n') + '\n';
}
