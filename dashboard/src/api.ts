/**
 * The dashboard's door to the hub's HTTP API (docs/dashboard.md lists the routes used; drills are in
 * api-drills.ts). Every call goes through `request` (api-core.ts): same-origin session cookie, JSON
 * in and out, typed errors. Response shapes are normalised here so that pages never depend on the
 * wire format.
 */
import type { Household, HouseholdCard } from '../../hub/store/registry-types.ts';
import { ApiError, enc, listOf, num, query, request, str, time } from './api-core.ts';
import type { Actor, AlarmKind, AlarmState, AlarmView, Notice, ResponseKind, TelemetryField } from '../../hub/protocol/schema.ts';

export type Role = 'station' | 'team-leader' | 'household';
export interface SessionUser {
  username: string;
  role: Role;
  team: string | null;
  household: string | null;
}

export { ApiError, setUnauthorizedHandler } from './api-core.ts';

// ---------- session ----------

function toUser(raw: unknown): SessionUser {
  const o = (raw && typeof raw === 'object' && 'user' in raw ? (raw as { user: unknown }).user : raw) as Record<string, unknown> | null;
  if (!o || typeof o.username !== 'string' || typeof o.role !== 'string') throw new ApiError(200, 'bad_response', 'the hub sent no user');
  return { username: o.username, role: o.role as Role, team: str(o.team), household: str(o.household) };
}

export async function login(username: string, password: string): Promise<{ token: string; user: SessionUser }> {
  const raw = await request<{ token?: unknown; user?: unknown }>('POST', '/api/login', { username, password }, { authFailureIsExpiry: false });
  if (typeof raw?.token !== 'string') throw new ApiError(200, 'bad_response', 'the hub sent no session token');
  return { token: raw.token, user: toUser(raw) };
}
export async function logout(): Promise<void> {
  await request('POST', '/api/logout', {}, { authFailureIsExpiry: false });
}
/** The logged-in user (null when there is no valid session). */
export async function me(): Promise<{ user: SessionUser; token: string | null } | null> {
  try {
    const raw = await request<Record<string, unknown>>('GET', '/api/me', undefined, { authFailureIsExpiry: false });
    return { user: toUser(raw), token: str(raw?.token) };
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

// ---------- households ----------

export type SupervisionState = 'ok' | 'offline' | 'flapping';
export interface DeviceInfo {
  id: string;
  household: string;
  kind: string;
  status: 'online' | 'offline' | 'unknown';
  /** What supervision has reported (offline, flapping), when the source says. */
  supervision: SupervisionState | null;
  lastSeen: number | null;
  battery: number | null;
  /** When the battery level was measured. */
  batteryAt: number | null;
  fault: boolean;
  faultText: string | null;
  lastSelfTest: number | null;
  selfTestOk: boolean | null;
  /** Why the last self-test failed (`no-answer`, `offline`). */
  selfTestReason: string | null;
}
/** A device of the bulk health listing (`GET /api/devices/health`). */
export interface DeviceHealthInfo extends DeviceInfo {
  team: string;
}
/** A household as the registry has it (the hub's own type), with its devices. */
export interface HouseholdInfo extends Household {
  devices: DeviceInfo[];
}

/** Battery as a number, or `{percent}` / `{value}` objects. */
function batteryOf(v: unknown): number | null {
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return num(o.percent ?? o.value ?? null);
  }
  return num(v);
}
const batteryTime = (v: unknown): number | null => (v && typeof v === 'object' ? time((v as Record<string, unknown>).at ?? null) : null);

function supervisionOf(raw: Record<string, unknown>): SupervisionState | null {
  const s = raw.supervision;
  if (s === 'ok' || s === 'offline' || s === 'flapping') return s;
  if (raw.flapping === true) return 'flapping';
  return null;
}

function toDevice(raw: Record<string, unknown>, household: string): DeviceInfo {
  const supervision = supervisionOf(raw);
  // The bulk health listing: `online` is live presence; a device not heard yet but not reported is unknown.
  const fromSupervision =
    supervision !== null && typeof raw.online === 'boolean' ? (raw.online ? 'online' : supervision === 'ok' ? 'unknown' : 'offline') : null;
  const statusRaw = fromSupervision ?? raw.status ?? raw.state ?? (typeof raw.online === 'boolean' ? (raw.online ? 'online' : 'offline') : null);
  const status = statusRaw === 'online' || statusRaw === 'offline' ? statusRaw : 'unknown';
  const latest = (raw.latest ?? raw.telemetry ?? {}) as Record<string, unknown>;
  const selfTest = (raw.selfTest ?? raw.lastSelfTest ?? raw.lastTest ?? null) as unknown;
  const selfTestObj = selfTest && typeof selfTest === 'object' ? (selfTest as Record<string, unknown>) : null;
  const faultRaw = raw.fault ?? raw.faulted ?? null;
  const outcome = selfTestObj?.outcome;
  return {
    id: String(raw.id ?? raw.device ?? ''),
    household: str(raw.household) ?? household,
    kind: String(raw.kind ?? ''),
    status,
    supervision: supervision ?? (status === 'offline' && raw.status === 'offline' ? 'offline' : null),
    lastSeen: time(raw.lastSeen ?? raw.lastHeard ?? raw.lastHeardAt ?? raw.seenAt ?? null),
    battery: batteryOf(raw.battery ?? latest.battery ?? null),
    batteryAt: time(raw.batteryAt ?? null) ?? batteryTime(raw.battery),
    fault: faultRaw === true || typeof faultRaw === 'string' || (faultRaw !== null && typeof faultRaw === 'object') || raw.status === 'fault',
    faultText: typeof faultRaw === 'string' ? faultRaw : str((faultRaw as Record<string, unknown> | null)?.text ?? null),
    lastSelfTest: selfTestObj ? time(selfTestObj.at ?? selfTestObj.ts ?? null) : time(selfTest ?? raw.selfTestAt ?? null),
    selfTestOk: selfTestObj
      ? outcome === 'pass' || outcome === 'passed'
        ? true
        : outcome === 'fail' || outcome === 'failed'
          ? false
          : typeof selfTestObj.ok === 'boolean'
            ? selfTestObj.ok
            : null
      : null,
    selfTestReason: selfTestObj ? str(selfTestObj.reason ?? null) : null,
  };
}
/** The dispatch card (access, hazards, vulnerable, water; '' when unknown), or null when the hub sent none. */
export function toCard(raw: unknown): HouseholdCard | null {
  if (!raw || typeof raw !== 'object') return null;
  const card = raw as Record<string, unknown>;
  return { access: str(card.access) ?? '', hazards: str(card.hazards) ?? '', vulnerable: str(card.vulnerable) ?? '', water: str(card.water) ?? '' };
}
function toHousehold(raw: Record<string, unknown>): HouseholdInfo {
  const id = String(raw.id ?? raw.household ?? '');
  return {
    id,
    team: String(raw.team ?? ''),
    name: String(raw.name ?? ''),
    address: String(raw.address ?? ''),
    phone: String(raw.phone ?? ''),
    phones: Array.isArray(raw.phones) ? raw.phones.filter((p): p is string => typeof p === 'string') : [],
    lat: num(raw.lat),
    lon: num(raw.lon),
    card: toCard(raw.card) ?? { access: '', hazards: '', vulnerable: '', water: '' },
    devices: listOf<Record<string, unknown>>(raw.devices ?? [], 'devices').map((d) => toDevice(d, id)),
  };
}

export async function households(team?: string | null): Promise<HouseholdInfo[]> {
  const raw = await request<unknown>('GET', `/api/households${query({ team })}`);
  return listOf<Record<string, unknown>>(raw, 'households').map(toHousehold);
}
export async function household(id: string): Promise<HouseholdInfo> {
  const raw = await request<Record<string, unknown>>('GET', `/api/households/${enc(id)}`);
  const inner = raw && typeof raw === 'object' && raw.household && typeof raw.household === 'object' ? (raw.household as Record<string, unknown>) : raw;
  const h = toHousehold(inner);
  if (h.devices.length === 0 && Array.isArray(raw.devices)) h.devices = (raw.devices as Record<string, unknown>[]).map((d) => toDevice(d, h.id));
  return h;
}

/**
 * Every device the user may see, with presence, supervision state, battery, last self-test and
 * fault, in one request (`GET /api/devices/health`, scoped by the hub).
 */
export async function devicesHealth(
  params: { team?: string | null; household?: string | null; state?: SupervisionState | null } = {},
): Promise<DeviceHealthInfo[]> {
  const raw = await request<unknown>('GET', `/api/devices/health${query(params)}`);
  return listOf<Record<string, unknown>>(raw, 'devices').map((d) => ({ ...toDevice(d, String(d.household ?? '')), team: String(d.team ?? '') }));
}

/** Per-device supervision view of one household (battery, last self-test, status); merged by device id. */
export async function householdHealth(id: string): Promise<DeviceInfo[]> {
  const raw = await request<Record<string, unknown>>('GET', `/api/households/${enc(id)}/health`);
  return listOf<Record<string, unknown>>(raw, 'devices').map((d) => toDevice(d, id));
}

// ---------- alarms ----------

export interface TimelineEntry {
  at: number;
  transition: string;
  state: AlarmState | string;
  detail: Record<string, unknown> | null;
  /** Who did it (a device, a user, the hub's own timer, an SMS); null when the hub did not say. */
  by: Actor | null;
  /** Through which channel (`mqtt`, `http`, `timer`, …); null when the hub did not say. */
  via: string | null;
}

/** An actor as the hub sends it, checked (an unknown `kind` is kept with its fields as strings). */
export function toActor(raw: unknown): Actor | null {
  if (!raw || typeof raw !== 'object') return null;
  const o = raw as Record<string, unknown>;
  const kind = str(o.kind);
  if (!kind) return null;
  const out: Record<string, string> = { kind };
  for (const [k, v] of Object.entries(o)) if (typeof v === 'string' || typeof v === 'number') out[k] = String(v);
  return out as unknown as Actor;
}
/** One SMS or call the hub queued for an alarm (`contacts` of `GET /api/alarms/:id`). */
export interface Contact {
  kind: 'sms' | 'call' | string;
  to: string;
  household: string | null;
  state: 'queued' | 'sending' | 'sent' | 'failed' | 'cancelled' | string;
  queuedAt: number | null;
  sentAt: number | null;
  attempts: number;
  error: string | null;
  /** A call's outcome: `answered`, `no-answer`, `busy`, `failed`. */
  outcome: string | null;
  /** How many SMS parts the text took. */
  parts: number | null;
}
export function toContacts(raw: unknown): Contact[] {
  return listOf<Record<string, unknown>>(raw ?? [], 'contacts').map((c) => ({
    kind: String(c.kind ?? ''),
    to: String(c.to ?? ''),
    household: str(c.household),
    state: String(c.state ?? ''),
    queuedAt: time(c.queuedAt ?? null),
    sentAt: time(c.sentAt ?? null),
    attempts: num(c.attempts) ?? 0,
    error: str(c.error),
    outcome: str(c.outcome),
    parts: num(c.parts),
  }));
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

function toTimeline(raw: unknown): TimelineEntry[] {
  return listOf<Record<string, unknown>>(raw, 'timeline').map((e) => {
    let detail: unknown = e.detail ?? e.detail_json ?? null;
    if (typeof detail === 'string') {
      try {
        detail = JSON.parse(detail);
      } catch {
        detail = { text: detail };
      }
    }
    return {
      at: time(e.at ?? e.ts) ?? 0,
      transition: String(e.transition ?? e.type ?? ''),
      state: String(e.state ?? ''),
      detail: detail && typeof detail === 'object' ? (detail as Record<string, unknown>) : null,
      by: toActor(e.by),
      via: str(e.via),
    };
  });
}
/** The alarm view part of an answer (unknown fields are kept). */
export function toAlarmView(raw: Record<string, unknown>): AlarmView {
  const v = (raw.view && typeof raw.view === 'object' ? raw.view : raw) as unknown as AlarmView & Record<string, unknown>;
  return {
    ...v,
    responders: Array.isArray(v.responders) ? v.responders : [],
    origin: v.origin ?? { household: '', name: '', address: '', lat: null, lon: null, device: '' },
  };
}
function toAlarm(raw: Record<string, unknown>): AlarmDetail {
  const v = toAlarmView(raw) as AlarmView & Record<string, unknown>;
  return {
    ...v,
    timeline: toTimeline(raw.timeline ?? []),
    closedAt: time(raw.closedAt ?? raw.closed_at ?? v.closedAt ?? null),
    falseAlarm: raw.falseAlarm === true || raw.false_alarm === 1 || raw.false_alarm === true || v.falseAlarm === true,
    card: toCard(raw.card),
    contacts: toContacts(raw.contacts),
  };
}

export async function alarms(filter: AlarmFilter = {}): Promise<AlarmDetail[]> {
  const raw = await request<unknown>('GET', `/api/alarms${query({ ...filter })}`);
  return listOf<Record<string, unknown>>(raw, 'alarms').map(toAlarm);
}
export async function alarm(id: string): Promise<AlarmDetail> {
  const raw = await request<Record<string, unknown>>('GET', `/api/alarms/${enc(id)}`);
  const inner =
    raw && typeof raw === 'object' && raw.alarm && typeof raw.alarm === 'object'
      ? { ...(raw.alarm as Record<string, unknown>), timeline: raw.timeline ?? (raw.alarm as Record<string, unknown>).timeline }
      : raw;
  return toAlarm(inner);
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
export async function dispatchAlarm(id: string, info: { etaMin?: number; note?: string }): Promise<void> {
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

/**
 * From the API's `{series:[{device, points:[{t, mean, min, max}]}]}` (points may also be `{ts,value}`
 * or `[t, v]`) to aligned arrays for the chart.
 */
export function toSeries(raw: unknown, field: TelemetryField): Series {
  const devs = listOf<Record<string, unknown>>(raw, 'series');
  const perDevice: { device: string; pts: Map<number, number | null> }[] = [];
  const times = new Set<number>();
  let count = 0;
  for (const d of devs) {
    const pts = new Map<number, number | null>();
    for (const p of listOf<unknown>(d.points ?? [], 'points')) {
      let t: number | null = null;
      let v: number | null = null;
      if (Array.isArray(p)) {
        t = time(p[0]);
        v = num(p[1]);
      } else if (p && typeof p === 'object') {
        const o = p as Record<string, unknown>;
        t = time(o.t ?? o.ts ?? o.time ?? null);
        v = num(o.mean ?? o.value ?? o[field] ?? null);
      }
      if (t === null) continue;
      pts.set(t, v);
      times.add(t);
      count++;
    }
    perDevice.push({ device: String(d.device ?? d.name ?? field), pts });
  }
  const ts = [...times].sort((a, b) => a - b);
  return { field, ts, lines: perDevice.map((d) => ({ device: d.device, values: ts.map((t) => (d.pts.has(t) ? d.pts.get(t)! : null)) })), count };
}

export async function telemetry(params: {
  household: string;
  field: TelemetryField;
  from: number;
  to: number;
  device?: string;
  every?: string;
}): Promise<Series> {
  const raw = await request<unknown>('GET', `/api/telemetry${query({ ...params })}`);
  return toSeries(raw, params.field);
}

/** A device event or alarm transition stored with the telemetry (for marks on the time axis). */
export interface DeviceEventMark {
  at: number;
  device: string;
  type: string;
  state: string | null;
}
export async function telemetryEvents(params: { household: string; from: number; to: number; limit?: number }): Promise<DeviceEventMark[]> {
  const raw = await request<unknown>('GET', `/api/telemetry/events${query({ ...params })}`);
  return listOf<Record<string, unknown>>(raw, 'events').map((e) => ({
    at: time(e.at) ?? 0,
    device: String(e.device ?? ''),
    type: String(e.type ?? ''),
    state: str(e.state),
  }));
}

// ---------- notices ----------

export interface NoticeItem extends Notice {
  /** The hub's notice id when it has one (for de-duplication). */
  id: string;
}
export function noticeKey(n: Notice & { id?: string }): string {
  return n.id || `${n.notice}|${n.device ?? ''}|${n.household ?? ''}|${n.at}`;
}
export async function notices(params: { household?: string | null; limit?: number } = {}): Promise<NoticeItem[]> {
  const raw = await request<unknown>('GET', `/api/notices${query(params)}`);
  return listOf<Record<string, unknown>>(raw, 'notices').map((n) => ({
    id: n.id === undefined || n.id === null ? '' : String(n.id),
    notice: String(n.notice ?? ''),
    severity: (n.severity === 'warning' || n.severity === 'trouble' ? n.severity : 'info') as Notice['severity'],
    household: str(n.household),
    device: str(n.device),
    text: String(n.text ?? n.message ?? ''),
    at: time(n.at ?? n.ts) ?? 0,
  }));
}
