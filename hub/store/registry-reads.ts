/**
 * Household, device and team reads, and the device-secret check on the MQTT connect path:
 * all from the read cache (registry-cache.ts), handing out copies so callers cannot corrupt it.
 */
import { NotFoundError } from '../protocol/errors.ts';
import type { DeviceSecretHasher } from './credentials.ts';
import type { RegistryIndex } from './registry-cache.ts';
import type { Device, Household, RegistryStore, Team } from './registry-types.ts';

/** The one wording for a team that is not on record (the CLI's `user add`, `households`, `equipment list`). */
export function unknownTeamError(team: string): NotFoundError {
  return new NotFoundError(`team "${team}" does not exist; import its households first`);
}

function copyHousehold(h: Household): Household {
  return { ...h, phones: [...h.phones], card: { ...h.card } };
}

export type HouseholdDeviceReads = Omit<RegistryStore, 'verifyUserPassword' | 'getUser' | 'listUsers' | 'reloadDevices'>;

/** Where the reads find the index: the SQLite read cache, or hub/cluster/pg-registry.ts's. */
export interface RegistryIndexSource {
  index(): RegistryIndex;
}

export class RegistryReads implements HouseholdDeviceReads {
  private readonly cache: RegistryIndexSource;
  private readonly hasher: DeviceSecretHasher;

  constructor(cache: RegistryIndexSource, hasher: DeviceSecretHasher) {
    this.cache = cache;
    this.hasher = hasher;
  }

  getHousehold(id: string): Household | undefined {
    const h = this.cache.index().households.get(id);
    return h ? copyHousehold(h) : undefined;
  }

  getDevice(id: string): Device | undefined {
    const d = this.cache.index().devices.get(id);
    return d ? { ...d.device } : undefined;
  }

  householdsOfTeam(team: string): Household[] {
    return (this.cache.index().byTeam.get(team) ?? []).map(copyHousehold);
  }

  teamOf(household: string): string | undefined {
    return this.cache.index().households.get(household)?.team;
  }

  /** Whether the team exists (has households, or was created by an import). */
  hasTeam(team: string): boolean {
    const idx = this.cache.index();
    return idx.byTeam.has(team) || idx.teams.some((t) => t.id === team);
  }

  listHouseholds(filter: { team?: string } = {}): Household[] {
    const idx = this.cache.index();
    const list = filter.team !== undefined ? (idx.byTeam.get(filter.team) ?? []) : [...idx.households.values()];
    return list.map(copyHousehold);
  }

  listDevices(filter: { household?: string; team?: string } = {}): Device[] {
    const idx = this.cache.index();
    let list: Device[];
    if (filter.household !== undefined) list = idx.devicesByHousehold.get(filter.household) ?? [];
    else if (filter.team !== undefined) list = (idx.byTeam.get(filter.team) ?? []).flatMap((h) => idx.devicesByHousehold.get(h.id) ?? []);
    else list = [...idx.devices.values()].map((d) => d.device);
    if (filter.team !== undefined) list = list.filter((d) => d.team === filter.team);
    return list.map((d) => ({ ...d }));
  }

  listTeams(): Team[] {
    return this.cache.index().teams.map((t) => ({ ...t }));
  }

  verifyDeviceSecret(deviceId: string, secret: string): Device | null {
    if (typeof secret !== 'string') return null;
    const entry = this.cache.index().devices.get(deviceId);
    // The HMAC runs whether or not the device exists: timing does not reveal device ids.
    const ok = this.hasher.verify(secret, entry?.secretHash);
    return ok && entry ? { ...entry.device } : null;
  }
}
