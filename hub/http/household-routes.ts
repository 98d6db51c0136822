/**
 * `GET /api/households?team=` and `GET /api/households/:id`: households with their devices and
 * each device's live status, scoped by hub/core/acl.ts (station: all; team-leader: its team;
 * household: its own). The list carries the summary; one household's answer adds its E.164
 * numbers (`phones`) and its dispatch card (`card`: who needs help to get out, hazards, access,
 * water) — not handed out in bulk.
 */
import { ERROR_CODES, ForbiddenError, NotFoundError, ValidationError } from '../protocol/errors.ts';
import { isValidId } from '../protocol/topics.ts';
import type { DeviceKind } from '../protocol/schema.ts';
import { canSeeHousehold } from '../core/acl.ts';
import type { Household, HouseholdCard, RegistryStore } from '../store/registry-types.ts';
import type { Router, UserPrincipal } from './router.ts';
import { HouseholdDetail, HouseholdParams, HouseholdsAnswer, HouseholdsQuery } from '../protocol/http/households.ts';

/** A device's presence as the broker sees it. */
export type DeviceStatusFn = (deviceId: string) => { online: boolean; lastSeen: number | null };

export interface DeviceView {
  id: string;
  kind: DeviceKind;
  enrolledAt: number;
  online: boolean;
  lastSeen: number | null;
}
/** A household in the list: the registry's fields without `phones` and `card`. */
export interface HouseholdView extends Omit<Household, 'phones' | 'card'> {
  devices: DeviceView[];
}
/** One household (`GET /api/households/:id`). */
export interface HouseholdDetailView extends HouseholdView {
  phones: string[];
  card: HouseholdCard;
}

export interface HouseholdRouteDeps {
  registry: RegistryStore;
  deviceStatus?: DeviceStatusFn;
}

const unknownStatus: DeviceStatusFn = () => ({ online: false, lastSeen: null });

export function householdView(registry: RegistryStore, h: Household, deviceStatus: DeviceStatusFn): HouseholdView {
  const devices = registry.listDevices({ household: h.id }).map((d) => {
    const s = deviceStatus(d.id);
    return { id: d.id, kind: d.kind, enrolledAt: d.enrolledAt, online: s.online, lastSeen: s.lastSeen };
  });
  return { id: h.id, team: h.team, name: h.name, address: h.address, phone: h.phone, lat: h.lat, lon: h.lon, devices };
}

export function householdDetailView(registry: RegistryStore, h: Household, deviceStatus: DeviceStatusFn): HouseholdDetailView {
  const { devices, ...summary } = householdView(registry, h, deviceStatus);
  return { ...summary, phones: h.phones, card: h.card, devices };
}

/** The households a user may list, optionally narrowed to one team. */
function visibleHouseholds(registry: RegistryStore, user: UserPrincipal, team: string | null): Household[] {
  const teamOf = (h: string) => registry.teamOf(h);
  if (user.role === 'station') return registry.listHouseholds(team === null ? {} : { team });
  if (user.role === 'team-leader') {
    if (user.team === null) return [];
    if (team !== null && team !== user.team) throw new ForbiddenError(`you may see team "${user.team}" only`);
    return registry.listHouseholds({ team: user.team });
  }
  const own = user.household !== null ? registry.getHousehold(user.household) : undefined;
  if (!own) return [];
  if (team !== null && team !== own.team) throw new ForbiddenError(`you may see household "${own.id}" only`);
  return canSeeHousehold(user, own.id, teamOf) ? [own] : [];
}

export function registerHouseholdRoutes(router: Router, deps: HouseholdRouteDeps): void {
  const status = deps.deviceStatus ?? unknownStatus;
  router.get(
    '/api/households',
    (req) => {
      const team = req.query.get('team');
      if (team !== null && !isValidId(team)) throw new ValidationError(ERROR_CODES.BAD_FIELD, 'team must be a team id');
      const list = visibleHouseholds(deps.registry, req.user!, team);
      return { body: { households: list.map((h) => householdView(deps.registry, h, status)) } };
    },
    { schema: { summary: 'The households the user may see, with their devices', querystring: HouseholdsQuery, response: { 200: HouseholdsAnswer } } },
  );

  router.get(
    '/api/households/:id',
    (req) => {
      const id = req.params.id!;
      if (!isValidId(id)) throw new NotFoundError(`household "${String(id).slice(0, 64)}" does not exist`);
      const h = deps.registry.getHousehold(id);
      if (!h) throw new NotFoundError(`household "${id}" does not exist`);
      if (!canSeeHousehold(req.user!, id, (x) => deps.registry.teamOf(x))) throw new ForbiddenError(`household "${id}" is outside what you may see`);
      return { body: householdDetailView(deps.registry, h, status) };
    },
    { schema: { summary: 'One household: its numbers, dispatch card and devices', params: HouseholdParams, response: { 200: HouseholdDetail } } },
  );
}
