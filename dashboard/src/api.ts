/**
 * The dashboard's one door to the hub's HTTP API (docs/dashboard.md lists the routes used).
 * Every call goes through `request`: same-origin session cookie, JSON in and out, typed errors.
 * Response shapes are normalised here so that pages never depend on the wire format.
 */
import type { Household } from '../../hub/store/registry-types.ts';
import type { Actor, AlarmKind, AlarmState, AlarmView, Notice, ResponseKind, TelemetryField } from '../../hub/protocol/schema.ts';

export type Role = 'station' | 'team-leader' | 'household';
export interface SessionUser {
  username: string;
  role: Role;
  team: string | null;
  household: string | null;
}

/** An API call that did not succeed: HTTP status (0 = hub unreachable), stable code, message. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** Seconds to wait before retrying (429). */
  readonly retryAfterS: number | null;
  constructor(status: number, code: string, message: string, retryAfterS: number | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfterS = retryAfterS;
  }
}

type UnauthorizedHandler = () => void;
let onUnauthorized: UnauthorizedHandler = () => {};
/** The app decides what a 401 means (session expired → back to the login page). */
export function setUnauthorizedHandler(fn: UnauthorizedHandler): void {
  onUnauthorized = fn;
}

const REQUEST_TIMEOUT_MS = 15_000;

async function request<T>(method: string, path: string, body?: unknown, opts: { authFailureIsExpiry?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), REQUEST_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: ctrl.signal,
    });
  } catch (err) {
    throw new ApiError(0, 'unreachable', err instanceof Error ? err.message : String(err));
  } finally {
    clearTimeout(timer);
  }
  const text = await res.text();
  let json: unknown = undefined;
  if (text.length > 0) {
    try {
      json = JSON.parse(text);
    } catch {
      if (res.ok) throw new ApiError(res.status, 'bad_response', `the hub answered ${path} with something that is not JSON`);
    }
  }
  if (!res.ok) {
    const o = (json ?? {}) as { error?: unknown; message?: unknown; retryAfterMs?: unknown; details?: { retryAfterMs?: unknown } };
    const code = typeof o.error === 'string' ? o.error : `http_${res.status}`;
    const message = typeof o.message === 'string' ? o.message : text.slice(0, 200) || res.statusText;
    const retry = retryAfterSeconds(res.headers.get('Retry-After'), o, message);
    const err = new ApiError(res.status, code, message, retry);
    if (res.status === 401 && opts.authFailureIsExpiry !== false) onUnauthorized();
    throw err;
  }
  return json as T;
}

function retryAfterSeconds(header: string | null, body: { retryAfterMs?: unknown; details?: { retryAfterMs?: unknown } }, message: string): number | null {
  if (header && /^\d+$/.test(header.trim())) return Number(header.trim());
  const ms = typeof body.retryAfterMs === 'number' ? body.retryAfterMs : typeof body.details?.retryAfterMs === 'number' ? body.details.retryAfterMs : null;
  if (ms !== null) return Math.max(1, Math.ceil(ms / 1000));
  const m = /(\d+)\s*s\b/.exec(message);
  return m ? Number(m[1]) : null;
}

const enc = encodeURIComponent;
function query(params: Record<string, string | number | null | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${enc(k)}=${enc(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/** Picks the array out of `{key:[...]}` or a bare array. */
function listOf<T>(raw: unknown, key: string): T[] {
  if (Array.isArray(raw)) return raw as T[];
  if (raw && typeof raw === 'object' && Array.isArray((raw as Record<string, unknown>)[key])) return (raw as Record<string, T[]>)[key]!;
  return [];
}
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
/** Timestamps may come as ms numbers or ISO strings. */
const time = (v: unknown): number | null => {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v) {
    const n = Date.parse(v);
    return Number.isNaN(n) ? null : n;
  }
  return null;
};

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
  const fromSupervision = supervision !== null && typeof raw.online === 'boolean' ? (raw.online ? 'online' : supervision === 'ok' ? 'unknown' : 'offline') : null;
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
      ? outcome === 'pass' || outcome === 'passed' ? true : outcome === 'fail' || outcome === 'failed' ? false : typeof selfTestObj.ok === 'boolean' ? selfTestObj.ok : null
      : null,
    selfTestReason: selfTestObj ? str(selfTestObj.reason ?? null) : null,
  };
}
function toHousehold(raw: Record<string, unknown>): HouseholdInfo {
  const id = String(raw.id ?? raw.household ?? '');
  const card = (raw.card && typeof raw.card === 'object' ? raw.card : {}) as Record<string, unknown>;
  return {
    id,
    team: String(raw.team ?? ''),
    name: String(raw.name ?? ''),
    address: String(raw.address ?? ''),
    phone: String(raw.phone ?? ''),
    phones: Array.isArray(raw.phones) ? raw.phones.filter((p): p is string => typeof p === 'string') : [],
    lat: num(raw.lat),
    lon: num(raw.lon),
    card: { access: str(card.access) ?? '', hazards: str(card.hazards) ?? '', vulnerable: str(card.vulnerable) ?? '', water: str(card.water) ?? '' },
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
export async function devicesHealth(params: { team?: string | null; household?: string | null; state?: SupervisionState | null } = {}): Promise<DeviceHealthInfo[]> {
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
export interface AlarmDetail extends AlarmView {
  timeline: TimelineEntry[];
  closedAt: number | null;
  falseAlarm: boolean;
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
function toAlarm(raw: Record<string, unknown>): AlarmDetail {
  const v = ((raw.view && typeof raw.view === 'object' ? raw.view : raw) as unknown) as AlarmView & Record<string, unknown>;
  return {
    ...v,
    responders: Array.isArray(v.responders) ? v.responders : [],
    origin: v.origin ?? { household: '', name: '', address: '', lat: null, lon: null, device: '' },
    timeline: toTimeline(raw.timeline ?? []),
    closedAt: time(raw.closedAt ?? raw.closed_at ?? v.closedAt ?? null),
    falseAlarm: raw.falseAlarm === true || raw.false_alarm === 1 || raw.false_alarm === true || v.falseAlarm === true,
  };
}

export async function alarms(filter: AlarmFilter = {}): Promise<AlarmDetail[]> {
  const raw = await request<unknown>('GET', `/api/alarms${query({ ...filter })}`);
  return listOf<Record<string, unknown>>(raw, 'alarms').map(toAlarm);
}
export async function alarm(id: string): Promise<AlarmDetail> {
  const raw = await request<Record<string, unknown>>('GET', `/api/alarms/${enc(id)}`);
  const inner = raw && typeof raw === 'object' && raw.alarm && typeof raw.alarm === 'object' ? { ...(raw.alarm as Record<string, unknown>), timeline: raw.timeline ?? (raw.alarm as Record<string, unknown>).timeline } : raw;
  return toAlarm(inner);
}
export async function resolveAlarm(id: string): Promise<void> {
  await request('POST', `/api/alarms/${enc(id)}/resolve`, {});
}
export async function respond(id: string, household: string, response: ResponseKind): Promise<void> {
  await request('POST', `/api/alarms/${enc(id)}/respond`, { household, response });
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

export async function telemetry(params: { household: string; field: TelemetryField; from: number; to: number; device?: string; every?: string }): Promise<Series> {
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
  return listOf<Record<string, unknown>>(raw, 'events').map((e) => ({ at: time(e.at) ?? 0, device: String(e.device ?? ''), type: String(e.type ?? ''), state: str(e.state) }));
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
