/**
 * Enrolment into the PostgreSQL registry: applies a validated CSV import plan (hub/store/csv-import.ts)
 * with exactly the semantics of hub/store/registry-enrolment.ts — ONE transaction, upserts by id,
 * card columns missing from the file keep their stored values, a blank secret generates one for a
 * new device (returned once) and keeps an existing device's, moves refused without `allowMoves`,
 * household users' team follows a moved household. Imports from several nodes (or the CLI) are
 * serialised by an advisory lock, as SQLite's BEGIN IMMEDIATE does; rows are read and written in
 * bulk (unnest), so a province's file is a handful of statements.
 */
import type pg from 'pg';
import type { Clock } from '../core/clock.ts';
import { type DeviceSecretHasher, generateDeviceSecret } from '../store/credentials.ts';
import { type AsyncImportTarget, CsvImportError, type CsvProblem, type ImportPlan, type ImportResult } from '../store/csv-import.ts';
import { DEVICE_COLUMNS, type DeviceRow, HOUSEHOLD_COLUMNS, type HouseholdRow } from '../store/registry-schema.ts';
import { CARD_FIELDS, type HouseholdCard } from '../store/registry-types.ts';
import { PHONE_LIST_SEPARATOR } from '../sms/phone-number.ts';
import { inTransaction, REGISTRY_WRITE_LOCK, retryingReads } from './pg-registry-schema.ts';

type Queryable = Pick<pg.PoolClient, 'query'>;

function moveProblemsOf(devices: ImportPlan['devices'], existing: ReadonlyMap<string, { household: string }>): CsvProblem[] {
  const problems: CsvProblem[] = [];
  for (const d of devices) {
    const e = existing.get(d.id);
    if (e && e.household !== d.household) {
      problems.push({
        line: d.line,
        reason: `device "${d.id}" is enrolled in household "${e.household}"; moving it to "${d.household}" needs --allow-moves`,
      });
    }
  }
  return problems;
}

async function devicesById(q: Queryable, ids: string[]): Promise<Map<string, DeviceRow>> {
  if (ids.length === 0) return new Map();
  const { rows } = await q.query<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE id = ANY($1::text[])`, [ids]);
  return new Map(rows.map((r) => [r.id, r]));
}

const HOUSEHOLD_FIELDS = ['id', 'team', 'name', 'address', 'phone', 'phones', 'lat', 'lon', ...CARD_FIELDS] as const;
const HOUSEHOLD_TYPES = ['text', 'text', 'text', 'text', 'text', 'text', 'float8', 'float8', 'text', 'text', 'text', 'text'];

/** `unnest($1::text[], $2::float8[], …) AS v(a, b, …)` for the given columns, and its parameters. */
function unnestOf<R>(rows: R[], fields: readonly (keyof R & string)[], types: string[], from = 1): { sql: string; params: unknown[] } {
  const args = fields.map((_, i) => `$${from + i}::${types[i]}[]`).join(', ');
  return { sql: `unnest(${args}) AS v(${fields.join(', ')})`, params: fields.map((f) => rows.map((r) => r[f])) };
}

export class PgRegistryEnrolment implements AsyncImportTarget {
  private readonly pool: pg.Pool;
  private readonly hasher: DeviceSecretHasher;
  private readonly clock: Clock;
  /** Called after every import that committed (the writer's own index reloads before it answers). */
  private readonly afterWrite: () => Promise<void>;

  constructor(pool: pg.Pool, opts: { hasher: DeviceSecretHasher; clock: Clock; afterWrite: () => Promise<void> }) {
    this.pool = pool;
    this.hasher = opts.hasher;
    this.clock = opts.clock;
    this.afterWrite = opts.afterWrite;
  }

  /** Planned devices that would silently move from one household to another (refused without allowMoves). */
  async moveProblems(devices: ImportPlan['devices']): Promise<CsvProblem[]> {
    return moveProblemsOf(
      devices,
      await devicesById(
        retryingReads(this.pool),
        devices.map((d) => d.id),
      ),
    );
  }

  /** Applies a validated plan in ONE transaction; on any problem nothing is written (CsvImportError). */
  async applyImport(plan: ImportPlan, opts: { allowMoves?: boolean } = {}): Promise<ImportResult> {
    const result = await inTransaction(this.pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [REGISTRY_WRITE_LOCK]);
      return this.applyIn(c, plan, opts);
    });
    await this.afterWrite();
    return result;
  }

  private async applyIn(c: Queryable, plan: ImportPlan, opts: { allowMoves?: boolean }): Promise<ImportResult> {
    const now = this.clock.now();
    const result: ImportResult = {
      teamsCreated: 0,
      households: { created: 0, updated: 0, unchanged: 0 },
      devices: { created: 0, updated: 0, unchanged: 0, moved: 0 },
      credentials: [],
    };
    const existingDevices = await devicesById(
      c,
      plan.devices.map((d) => d.id),
    );
    const problems = opts.allowMoves ? [] : moveProblemsOf(plan.devices, existingDevices);
    if (problems.length > 0) throw new CsvImportError(problems);

    if (plan.teams.length > 0) {
      const r = await c.query('INSERT INTO teams (id, created_at) SELECT unnest($1::text[]), $2 ON CONFLICT (id) DO NOTHING', [plan.teams, now]);
      result.teamsCreated = r.rowCount ?? 0;
    }

    // Households: what changes, decided as registry-enrolment.ts does.
    const existingHouseholds = new Map<string, HouseholdRow>();
    if (plan.households.length > 0) {
      const { rows } = await c.query<HouseholdRow>(`SELECT ${HOUSEHOLD_COLUMNS} FROM households WHERE id = ANY($1::text[])`, [
        plan.households.map((h) => h.id),
      ]);
      for (const r of rows) existingHouseholds.set(r.id, r);
    }
    const newHouseholds: HouseholdRow[] = [];
    const changedHouseholds: HouseholdRow[] = [];
    const movedHouseholds: Array<{ household: string; team: string }> = [];
    for (const h of plan.households) {
      const existing = existingHouseholds.get(h.id);
      const card = {} as HouseholdCard;
      for (const f of CARD_FIELDS) card[f] = h.card[f] ?? existing?.[f] ?? '';
      const row: HouseholdRow = {
        id: h.id,
        team: h.team,
        name: h.name,
        address: h.address,
        phone: h.phone,
        phones: h.phones.join(PHONE_LIST_SEPARATOR),
        lat: h.lat,
        lon: h.lon,
        ...card,
      };
      if (!existing) {
        newHouseholds.push(row);
        result.households.created++;
      } else if ((Object.keys(row) as Array<keyof HouseholdRow>).some((k) => existing[k] !== row[k])) {
        changedHouseholds.push(row);
        if (existing.team !== h.team) movedHouseholds.push({ household: h.id, team: h.team });
        result.households.updated++;
      } else {
        result.households.unchanged++;
      }
    }
    if (newHouseholds.length > 0) {
      const u = unnestOf(newHouseholds, HOUSEHOLD_FIELDS, HOUSEHOLD_TYPES, 2);
      await c.query(`INSERT INTO households (${HOUSEHOLD_FIELDS.join(', ')}, created_at, updated_at) SELECT v.*, $1, $1 FROM ${u.sql}`, [now, ...u.params]);
    }
    if (changedHouseholds.length > 0) {
      const u = unnestOf(changedHouseholds, HOUSEHOLD_FIELDS, HOUSEHOLD_TYPES, 2);
      const set = HOUSEHOLD_FIELDS.filter((f) => f !== 'id')
        .map((f) => `${f} = v.${f}`)
        .join(', ');
      await c.query(`UPDATE households h SET ${set}, updated_at = $1 FROM ${u.sql} WHERE h.id = v.id`, [now, ...u.params]);
    }
    if (movedHouseholds.length > 0) {
      const u = unnestOf(movedHouseholds, ['household', 'team'], ['text', 'text']);
      await c.query(`UPDATE users u SET team = v.team FROM ${u.sql} WHERE u.role = 'household' AND u.household = v.household`, u.params);
    }

    // Devices.
    type DeviceWrite = { id: string; household: string; kind: string; secret_hash: string };
    const newDevices: DeviceWrite[] = [];
    const changedDevices: DeviceWrite[] = [];
    for (const d of plan.devices) {
      const existing = existingDevices.get(d.id);
      if (!existing) {
        let secret = d.secret;
        if (secret === null) {
          secret = generateDeviceSecret();
          result.credentials.push({ household: d.household, device: d.id, secret });
        }
        newDevices.push({ id: d.id, household: d.household, kind: d.kind, secret_hash: this.hasher.hash(secret) });
        result.devices.created++;
        continue;
      }
      const secretHash = d.secret === null ? existing.secret_hash : this.hasher.hash(d.secret);
      const moved = existing.household !== d.household;
      if (moved || existing.kind !== d.kind || secretHash !== existing.secret_hash) {
        changedDevices.push({ id: d.id, household: d.household, kind: d.kind, secret_hash: secretHash });
        result.devices.updated++;
        if (moved) result.devices.moved++;
      } else {
        result.devices.unchanged++;
      }
    }
    const deviceFields = ['id', 'household', 'kind', 'secret_hash'] as const;
    const deviceTypes = ['text', 'text', 'text', 'text'];
    if (newDevices.length > 0) {
      const u = unnestOf(newDevices, deviceFields, deviceTypes, 2);
      await c.query(`INSERT INTO devices (id, household, kind, secret_hash, enrolled_at, updated_at) SELECT v.*, $1, $1 FROM ${u.sql}`, [now, ...u.params]);
    }
    if (changedDevices.length > 0) {
      const u = unnestOf(changedDevices, deviceFields, deviceTypes, 2);
      await c.query(
        `UPDATE devices d SET household = v.household, kind = v.kind, secret_hash = v.secret_hash, updated_at = $1 FROM ${u.sql} WHERE d.id = v.id`,
        [now, ...u.params],
      );
    }
    return result;
  }
}
