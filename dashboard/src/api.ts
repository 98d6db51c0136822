/**
 * The dashboard's door to the hub's HTTP API (docs/dashboard.md lists the routes used; drills are in
 * api-drills.ts). Every call goes through `request` (api-core.ts): same-origin session cookie, JSON
 * in and out, typed errors. The answers' types are the hub's route schemas (hub/protocol/http/, the
 * same ones the hub validates with and publishes as /api/openapi.json); the only hub code imported
 * is hub/protocol. Here they become the pages' display models, field by field, without guessing.
 */
import type { AlarmView, ResponseKind, TelemetryField, AlarmKind, AlarmState, Actor } from '../../hub/protocol/schema.ts';
import type { LoginAnswer, MeAnswer, Role, SessionUser } from '../../hub/protocol/http/session.ts';
import type { CardField, HouseholdCard, HouseholdDetail, HouseholdDevice, HouseholdsAnswer, HouseholdSummary } from '../../hub/protocol/http/households.ts';
import type { DeviceHealth, DevicesHealthAnswer, SupervisionState } from '../../hub/protocol/http/device-health.ts';
import type {
  AlarmDetail as AlarmDetailAnswer,
  AlarmsAnswer,
  Contact as ContactAnswer,
  DispatchBody,
  AlarmListItem,
  TimelineEntry as TimelineAnswer,
} from '../../hub/protocol/http/alarms.ts';
import type { EventsAnswer, SeriesAnswer } from '../../hub/protocol/http/telemetry.ts';
import type { NoticesAnswer } from '../../hub/protocol/http/notices.ts';
import type { Notice } from '../../hub/protocol/schema.ts';
import { ApiError, enc, query, request } from './api-core.ts';
import { setTimeZone } from './format.ts';

export type { Role, SessionUser, SupervisionState, HouseholdCard };
export { ApiError, setUnauthorizedHandler } from './api-core.ts';

// ---------- session ----------

export async function login(username: string, password: string): Promise<{ token: string; user: SessionUser }> {
  const a = await request<LoginAnswer>('POST', '/api/login', { username, password }, { authFailureIsExpiry: false });
  setTimeZone(a.timezone);
  return { token: a.token, user: a.user };
}
export async function logout(): Promise<void> {
  await request('POST', '/api/logout', {}, { authFailureIsExpiry: false });
}
/** The logged-in user (null when there is no valid session). The cookie carries the session: no token. */
export async function me(): Promise<{ user: SessionUser; token: string | null } | null> {
  try {
    const a = await request<MeAnswer>('GET', '/api/me', undefined, { authFailureIsExpiry: false });
    setTimeZone(a.timezone);
    return { user: a.user, token: null };
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

// ---------- households and device health ----------

/** A device as the pages show it: from the household listing, then merged with its health item. */
export interface DeviceInfo {
  id: string;
  household: string;
  kind: string;
  /** online: connected now; offline: supervision reports it down; unknown: not connected, not reported. */
  status: 'online' | 'offline' | 'unknown';
  /** What supervision reports (null: the source, the household listing, does not say). */
  supervision: SupervisionState | null;
  lastSeen: number | null;
  battery: number | null;
  /** When the battery level was measured. */
  batteryAt: number | null;
  fault: boolean;
  lastSelfTest: number | null;
  selfTestOk: boolean | null;
  /** Why the last self-test failed (`no-answer`, `offline`). */
  selfTestReason: string | null;
  /** When the device was enrolled (a detector younger than one self-test period is not yet due). */
  enrolledAt: number;
  /** The name people know it by (a Zigbee device's friendly name); null when none or not known. */
  label?: string | null;
}
/** A device of the bulk health listing (`GET /api/devices/health`). */
export interface DeviceHealthInfo extends DeviceInfo {
  team: string;
}
/** A household with its devices. */
export interface HouseholdInfo extends Omit<HouseholdDetail, 'devices'> {
  devices: DeviceInfo[];
}

/** The one device-health item (both health routes) as the pages show it. */
export function fromHealth(d: DeviceHealth): DeviceHealthInfo {
  return {
    id: d.device,
    label: d.label,
    household: d.household,
    team: d.team,
    kind: d.kind,
    status: d.online ? 'online' : d.supervision === 'ok' ? 'unknown' : 'offline',
    supervision: d.supervision,
    lastSeen: d.lastSeen,
    battery: d.battery,
    batteryAt: d.batteryAt,
    fault: d.fault,
    lastSelfTest: d.lastTest ? d.lastTest.at : null,
    selfTestOk: d.lastTest ? d.lastTest.outcome === 'pass' : null,
    selfTestReason: d.lastTest ? d.lastTest.reason : null,
    enrolledAt: d.enrolledAt,
  };
}
function fromListing(d: HouseholdDevice, household: string): DeviceInfo {
  return {
    id: d.id,
    household,
    kind: d.kind,
    status: d.online ? 'online' : 'unknown',
    supervision: null,
    lastSeen: d.lastSeen,
    battery: null,
    batteryAt: null,
    fault: false,
    lastSelfTest: null,
    selfTestOk: null,
    selfTestReason: null,
    enrolledAt: d.enrolledAt,
  };
}
const NO_CARD: HouseholdCard = { access: '', hazards: '', vulnerable: '', water: '' };
/** The dispatch card, each field '' when the hub left it out; null when the answer has no card. */
export function toCard(card: Partial<HouseholdCard> | Record<string, unknown> | undefined | null): HouseholdCard | null {
  if (!card) return null;
  const field = (f: CardField): string => {
    const v = (card as Record<string, unknown>)[f];
    return typeof v === 'string' ? v : '';
  };
  return { access: field('access'), hazards: field('hazards'), vulnerable: field('vulnerable'), water: field('water') };
}
function fromSummary(h: HouseholdSummary): HouseholdInfo {
  // The list has neither numbers nor the dispatch card: GET /api/households/:id has them.
  return { ...h, phones: [], card: NO_CARD, devices: h.devices.map((d) => fromListing(d, h.id)) };
}

export async function households(team?: string | null): Promise<HouseholdInfo[]> {
  const a = await request<HouseholdsAnswer>('GET', `/api/households${query({ team })}`);
  return a.households.map(fromSummary);
}
export async function household(id: string): Promise<HouseholdInfo> {
  const h = await request<HouseholdDetail>('GET', `/api/households/${enc(id)}`);
  return { ...h, devices: h.devices.map((d) => fromListing(d, h.id)) };
}

/**
 * Every device the user may see, with presence, supervision state, battery, last self-test and
 * fault, in one request (`GET /api/devices/health`, scoped by the hub).
 */
export async function devicesHealth(
  params: { team?: string | null; household?: string | null; state?: SupervisionState | null } = {},
): Promise<DeviceHealthInfo[]> {
  const a = await request<DevicesHealthAnswer>('GET', `/api/devices/health${query(params)}`);
  return a.devices.map(fromHealth);
}

// ---------- alarms ----------

export interface TimelineEntry {
  at: number;
  transition: string;
  state: AlarmState | string;
  detail: Record<string, unknown>;
  /** Who did it (a device, a user, the hub's own timer, an SMS). */
  by: Actor;
  /** Through which channel (`mqtt`, `http`, `timer`, `sms`). */
  via: string;
}
/** One SMS or call the hub queued for an alarm (`contacts` of `GET /api/alarms/:id`). */
export interface Contact {
  kind: 'sms' | 'call';
  to: string;
  household: string | null;
  state: ContactAnswer['state'];
  queuedAt: number;
  sentAt: number | null;
  attempts: number;
  error: string | null;
  /** A call's outcome: `answered`, `no-answer`, `busy`, `failed`. */
  outcome: string | null;
  /** How many SMS parts the text took. */
  parts: number | null;
}
export function toContacts(list: readonly ContactAnswer[] | undefined): Contact[] {
  return (list ?? []).map((c) => ({ ...c, outcome: c.outcome ?? null, parts: c.parts ?? null }));
}
export interface AlarmDetail extends AlarmView {
  timeline: TimelineEntry[];
  closedAt: number | null;
  falseAlarm: boolean;
  /** The origin household's dispatch card (station, team leaders and the origin household only). */
  card: HouseholdCard | null;
  /** Who was texted and called (present when the hub sends SMS; [] otherwise). */
  contacts: Contact[];
}
export interface AlarmFilter {
  state?: 'open' | 'closed' | AlarmState | null;
  team?: string | null;
  household?: string | null;
  kind?: AlarmKind | null;
  from?: number | null;
  to?: number | null;
  limit?: number | null;
}

function fromTimeline(e: TimelineAnswer): TimelineEntry {
  return { at: e.at, transition: e.transition, state: e.state, detail: e.detail, by: e.by as Actor, via: e.via };
}
function fromListItem(a: AlarmListItem): AlarmDetail {
  return { ...(a as AlarmView), closedAt: a.closedAt, falseAlarm: a.falseAlarm, timeline: [], card: null, contacts: [] };
}

export async function alarms(filter: AlarmFilter = {}): Promise<AlarmDetail[]> {
  const a = await request<AlarmsAnswer>('GET', `/api/alarms${query({ ...filter })}`);
  return a.alarms.map(fromListItem);
}
export async function alarm(id: string): Promise<AlarmDetail> {
  const { timeline, card, contacts, ...view } = await request<AlarmDetailAnswer>('GET', `/api/alarms/${enc(id)}`);
  return {
    ...(view as AlarmView),
    closedAt: view.closedAt,
    falseAlarm: view.falseAlarm,
    timeline: timeline.map(fromTimeline),
    card: toCard(card),
    contacts: toContacts(contacts),
  };
}
export async function resolveAlarm(id: string): Promise<void> {
  await request('POST', `/api/alarms/${enc(id)}/resolve`, {});
}
export async function respond(id: string, household: string, response: ResponseKind): Promise<void> {
  await request('POST', `/api/alarms/${enc(id)}/respond`, { household, response });
}
/** The station has seen the alarm. */
export async function acknowledgeAlarm(id: string): Promise<void> {
  await request('POST', `/api/alarms/${enc(id)}/acknowledge`, {});
}
/** A truck is on its way (ETA in minutes 0–240, an optional one-line note of at most 200 characters). */
export async function dispatchAlarm(id: string, info: DispatchBody): Promise<void> {
  await request('POST', `/api/alarms/${enc(id)}/dispatch`, info);
}

// ---------- telemetry ----------

/** One field over time: a shared time axis and one line of values per device (null where a device has no bucket). */
export interface Series {
  field: TelemetryField;
  ts: number[];
  lines: { device: string; values: (number | null)[] }[];
  /** How many points the API returned (all devices). */
  count: number;
}

/** From the API's per-device buckets (`{t, mean, min, max}`) to aligned arrays for the chart (the mean is drawn). */
export function toSeries(a: SeriesAnswer, field: TelemetryField): Series {
  const times = new Set<number>();
  let count = 0;
  const perDevice = a.series.map((d) => {
    const pts = new Map<number, number>();
    for (const p of d.points) {
      pts.set(p.t, p.mean);
      times.add(p.t);
      count++;
    }
    return { device: d.device, pts };
  });
  const ts = [...times].sort((x, y) => x - y);
  return { field, ts, lines: perDevice.map((d) => ({ device: d.device, values: ts.map((t) => d.pts.get(t) ?? null) })), count };
}

export async function telemetry(params: {
  household: string;
  field: TelemetryField;
  from: number;
  to: number;
  device?: string;
  every?: string;
}): Promise<Series> {
  const a = await request<SeriesAnswer>('GET', `/api/telemetry${query({ ...params })}`);
  return toSeries(a, params.field);
}

/** A device event or alarm transition stored with the telemetry (for marks on the time axis). */
export interface DeviceEventMark {
  at: number;
  device: string;
  type: string;
  state: string | null;
}
export async function telemetryEvents(params: { household: string; from: number; to: number; limit?: number }): Promise<DeviceEventMark[]> {
  const a = await request<EventsAnswer>('GET', `/api/telemetry/events${query({ ...params })}`);
  return a.events.map((e) => ({ at: e.at, device: e.device, type: e.type, state: e.state }));
}

// ---------- notices ----------

export interface NoticeItem extends Notice {
  /** The hub's notice id ('' for a notice that came over MQTT, which has none). */
  id: string;
}
export function noticeKey(n: Notice & { id?: string }): string {
  return n.id || `${n.notice}|${n.device ?? ''}|${n.household ?? ''}|${n.at}`;
}
export async function notices(params: { household?: string | null; limit?: number } = {}): Promise<NoticeItem[]> {
  const a = await request<NoticesAnswer>('GET', `/api/notices${query(params)}`);
  return a.notices.map(({ team: _team, ...n }) => ({ ...n, id: String(n.id) }));
}
