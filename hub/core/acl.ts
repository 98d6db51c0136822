/**
 * Who may publish and subscribe where (MQTT) and see what (HTTP). Pure rules over principals;
 * the broker and HTTP adapters only translate their hooks into these calls.
 */
import { householdOfFilter, isUnderRoot, parseTopic, wildcardsWellPlaced } from '../protocol/topics.ts';
import type { DeviceKind } from '../protocol/schema.ts';

export type Role = 'station' | 'team-leader' | 'household';

export type Principal =
  /** `kind` decides a Zigbee2MQTT gateway's rights (absent: an ordinary device). */
  | { type: 'device'; device: string; household: string; team: string; kind?: DeviceKind }
  | { type: 'user'; username: string; role: Role; team: string | null; household: string | null };

/** Team of a household, for team-leader scope checks. */
export type TeamOf = (household: string) => string | undefined;

/** Households a principal acts for when it publishes a household-level message. */
function ownHousehold(p: Principal): string | null {
  return p.type === 'device' ? p.household : p.role === 'household' ? p.household : null;
}

/** Topics under a household's Home Assistant prefix that its HA (a household user) may publish. */
export const HOMEASSISTANT_PUBLISH_PATHS = ['status', 'respond'] as const;

export function canPublish(p: Principal, topic: string): boolean {
  const t = parseTopic(topic);
  if (!t) return false;
  // A Zigbee2MQTT gateway publishes under its own household's base topic, and nowhere else.
  if (p.type === 'device' && p.kind === 'zigbee2mqtt') return t.scope === 'z2m' && t.household === p.household;
  if (t.scope === 'z2m') return false;
  if (t.scope === 'homeassistant') {
    return (
      p.type === 'user' &&
      p.role === 'household' &&
      t.household === p.household &&
      t.path.length === 1 &&
      (HOMEASSISTANT_PUBLISH_PATHS as readonly string[]).includes(t.path[0]!)
    );
  }
  if (p.type === 'device') {
    if (t.scope === 'device') {
      return t.household === p.household && t.device === p.device && (t.channel === 'event' || t.channel === 'telemetry' || t.channel === 'status');
    }
    // A bridge answers alerts for its household (e.g. a hush button maps to false-alarm).
    return t.scope === 'household' && t.household === p.household && t.channel === 'response';
  }
  if (t.scope !== 'household' || t.channel !== 'response') return false;
  // Station users publish nothing but responses (on behalf of a household, e.g. by phone).
  if (p.role === 'station') return true;
  if (p.role === 'household') return t.household === ownHousehold(p);
  return false;
}

export function canSubscribe(p: Principal, filter: string, teamOf: TeamOf): boolean {
  if (p.type === 'user' && p.role === 'station') return isUnderRoot(filter);
  const { household, valid } = householdOfFilter(filter);
  if (!valid) return false;
  if (household === null) return false;
  if (!wildcardsWellPlaced(filter, 3)) return false;
  if (p.type === 'device' && p.kind === 'zigbee2mqtt') return household === p.household && filter.split('/')[3] === 'z2m';
  if (p.type === 'device') return household === p.household;
  if (p.role === 'household') return household === p.household;
  // team-leader: any household of its team
  return p.team !== null && teamOf(household) === p.team;
}

/** HTTP: may this user see this household's data? */
export function canSeeHousehold(p: Principal, household: string, teamOf: TeamOf): boolean {
  if (p.type !== 'user') return false;
  if (p.role === 'station') return true;
  if (p.role === 'household') return p.household === household;
  return p.team !== null && teamOf(household) === p.team;
}

/** HTTP: may this user see this team's alarms? */
export function canSeeTeam(p: Principal, team: string, teamOf: TeamOf): boolean {
  if (p.type !== 'user') return false;
  if (p.role === 'station') return true;
  if (p.role === 'team-leader') return p.team === team;
  return p.household !== null && teamOf(p.household) === team;
}
