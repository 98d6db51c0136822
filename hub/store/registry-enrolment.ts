/**
 * Enrolment: applies a validated CSV import plan (csv-import.ts) to teams, households and devices,
 * enrolling new devices with generated secrets (only their keyed hash is stored), and refusing
 * silent moves of a device from one household to another. Drops the read cache after every import.
 */
import type { Clock } from '../core/clock.ts';
import { type DeviceSecretHasher, generateDeviceSecret } from './credentials.ts';
import { CsvImportError, type CsvProblem, type ImportPlan, type ImportResult, type ImportTarget } from './csv-import.ts';
import type { Db } from './database.ts';
import type { RegistryCache } from './registry-cache.ts';
import { DEVICE_COLUMNS, type DeviceRow, HOUSEHOLD_COLUMNS, type HouseholdRow } from './registry-schema.ts';
import { CARD_FIELDS, type HouseholdCard } from './registry-types.ts';
import { householdUsersFollower } from './registry-users.ts';
import { PHONE_LIST_SEPARATOR } from '../sms/phone-number.ts';

export class RegistryEnrolment implements ImportTarget {
  private readonly db: Db;
  private readonly cache: Pick<RegistryCache, 'invalidate'>;
  private readonly hasher: DeviceSecretHasher;
  private readonly clock: Clock;

  constructor(db: Db, opts: { cache: Pick<RegistryCache, 'invalidate'>; hasher: DeviceSecretHasher; clock: Clock }) {
    this.db = db;
    this.cache = opts.cache;
    this.hasher = opts.hasher;
    this.clock = opts.clock;
  }

  /** Planned devices that would silently move from one household to another (refused without allowMoves). */
  moveProblems(devices: ImportPlan['devices']): CsvProblem[] {
    const get = this.db.prepare('SELECT household FROM devices WHERE id = ?');
    const problems: CsvProblem[] = [];
    for (const d of devices) {
      const existing = get.get(d.id) as { household: string } | undefined;
      if (existing && existing.household !== d.household) {
        problems.push({
          line: d.line,
          reason: `device "${d.id}" is enrolled in household "${existing.household}"; moving it to "${d.household}" needs --allow-moves`,
        });
      }
    }
    return problems;
  }

  /**
   * Applies a validated import plan in ONE transaction: teams, households and devices are
   * upserted; a blank secret enrols a new device with a generated secret and leaves an existing
   * device's secret alone. A device that already belongs to another household is refused
   * (reported with its line) unless `allowMoves`. On any problem nothing is written.
   */
  applyImport(plan: ImportPlan, opts: { allowMoves?: boolean } = {}): ImportResult {
    const now = this.clock.now();
    const result: ImportResult = {
      teamsCreated: 0,
      households: { created: 0, updated: 0, unchanged: 0 },
      devices: { created: 0, updated: 0, unchanged: 0, moved: 0 },
      credentials: [],
    };
    const getDevice = this.db.prepare(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE id = ?`);
    const getHousehold = this.db.prepare(`SELECT ${HOUSEHOLD_COLUMNS} FROM households WHERE id = ?`);
    const insertTeam = this.db.prepare('INSERT OR IGNORE INTO teams (id, created_at) VALUES (?, ?)');
    const insertHousehold = this.db.prepare(
      `INSERT INTO households (id, team, name, address, phone, phones, lat, lon, access, hazards, vulnerable, water, created_at, updated_at)
       VALUES (@id, @team, @name, @address, @phone, @phones, @lat, @lon, @access, @hazards, @vulnerable, @water, @now, @now)`,
    );
    const updateHousehold = this.db.prepare(
      `UPDATE households SET team = @team, name = @name, address = @address, phone = @phone, phones = @phones, lat = @lat, lon = @lon,
         access = @access, hazards = @hazards, vulnerable = @vulnerable, water = @water, updated_at = @now WHERE id = @id`,
    );
    const insertDevice = this.db.prepare('INSERT INTO devices (id, household, kind, secret_hash, enrolled_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
    const updateDevice = this.db.prepare('UPDATE devices SET household = ?, kind = ?, secret_hash = ?, updated_at = ? WHERE id = ?');
    const householdUsersFollow = householdUsersFollower(this.db);

    const run = this.db.transaction(() => {
      const problems = opts.allowMoves ? [] : this.moveProblems(plan.devices);
      if (problems.length > 0) throw new CsvImportError(problems);

      for (const team of plan.teams) result.teamsCreated += insertTeam.run(team, now).changes;
      for (const h of plan.households) {
        const existing = getHousehold.get(h.id) as HouseholdRow | undefined;
        // A card column missing from the file keeps the stored value (new households: '').
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
          insertHousehold.run({ ...row, now });
          result.households.created++;
        } else if ((Object.keys(row) as Array<keyof HouseholdRow>).some((k) => existing[k] !== row[k])) {
          updateHousehold.run({ ...row, now });
          if (existing.team !== h.team) householdUsersFollow(h.id, h.team);
          result.households.updated++;
        } else {
          result.households.unchanged++;
        }
      }
      for (const d of plan.devices) {
        const existing = getDevice.get(d.id) as DeviceRow | undefined;
        if (!existing) {
          let secret = d.secret;
          if (secret === null) {
            secret = generateDeviceSecret();
            result.credentials.push({ household: d.household, device: d.id, secret });
          }
          insertDevice.run(d.id, d.household, d.kind, this.hasher.hash(secret), now, now);
          result.devices.created++;
          continue;
        }
        const secretHash = d.secret === null ? existing.secret_hash : this.hasher.hash(d.secret);
        const moved = existing.household !== d.household;
        if (moved || existing.kind !== d.kind || secretHash !== existing.secret_hash) {
          updateDevice.run(d.household, d.kind, secretHash, now, d.id);
          result.devices.updated++;
          if (moved) result.devices.moved++;
        } else {
          result.devices.unchanged++;
        }
      }
    });
    try {
      run.immediate();
    } finally {
      this.cache.invalidate();
    }
    return result;
  }
}
