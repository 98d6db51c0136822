/**
 * Live updates: MQTT over WebSocket to the hub's own broker at `/mqtt` (MQTT 3.1.1, QoS 1),
 * authenticated with username = the user's name and password = the session token from login.
 * Each role subscribes to what the broker's ACL lets it see (docs/dashboard.md):
 *   station      smokehub/station/alarm, /alarms (retained), /notice
 *   team-leader  smokehub/h/<H>/alert, /alarms (retained) and /notice for every household H of its team
 *   household    smokehub/h/<own>/alert, /alarms (retained) and /notice
 * A retained open-alarm state replaces the open alarms it speaks for, so an alarm closed while the
 * page could not hear the hub disappears as soon as it (re)subscribes. On every (re)connect the
 * open alarms are also fetched from /api/alarms?state=open (catch-up); while the broker is
 * unreachable the same request is polled so nothing is missed.
 */
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { parseAlarmView, parseOpenAlarmsState, type AlarmView, type Notice, type ResponseKind } from '../../hub/protocol/schema.ts';
import { parseTopic, topics } from '../../hub/protocol/topics.ts';
import * as api from './api.ts';
import { alertingCount, alertsViewer, attentionFor, type Viewer } from './alerting.ts';
import { addNotice, applyAlarm, clearAlarms, getState, replaceOpenAlarms, setState, type AlarmChange } from './store.ts';

export interface LiveHooks {
  /** An alarm starts calling for this user's attention: new, a neighbour's now active, or re-raised (sound). */
  onNewAlarm(view: AlarmView): void;
  /** An alarm became escalated. */
  onEscalated(view: AlarmView): void;
  /** No open alarm calls for attention any more (e.g. the only one was hushed or closed). */
  onQuiet(): void;
  /** The broker refused us and the HTTP session is gone too. */
  onSessionExpired(): void;
}

export const POLL_WHILE_DOWN_MS = 5_000;
const RECONCILE_MS = 30_000;
const RETRY_AFTER_REFUSAL_MS = 10_000;
/** After CONNACK 3 (server unavailable). */
const RETRY_AFTER_UNAVAILABLE_MS = 2_000;

let client: MqttClient | null = null;
let hooks: LiveHooks | null = null;
let session: { user: api.SessionUser; token: string } | null = null;
let pollTimer: ReturnType<typeof setInterval> | null = null;
let reconcileTimer: ReturnType<typeof setInterval> | null = null;
let retryTimer: ReturnType<typeof setTimeout> | null = null;
let generation = 0;

function brokerUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/mqtt`;
}

function clientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`; // 20 chars (broker limit 23)
}

const householdTopics = (h: string) => [topics.household(h, 'alert'), topics.household(h, 'alarms'), topics.household(h, 'notice')];

async function subscriptionsFor(user: api.SessionUser): Promise<string[]> {
  if (user.role === 'station') return [topics.station('alarm'), topics.station('alarms'), topics.station('notice')];
  if (user.role === 'household' && user.household) return householdTopics(user.household);
  if (user.role === 'team-leader' && user.team) {
    const hs = await api.households(user.team);
    return hs.flatMap((h) => householdTopics(h.id));
  }
  return [];
}

function viewer(): Viewer | null {
  const u = session?.user;
  return u ? { role: u.role, household: u.household } : null;
}

function noticeParams(o: Record<string, unknown>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(o)) if (typeof v === 'string' || typeof v === 'number') out[k] = v;
  return out;
}

function parseNotice(text: string): (Notice & { id?: string }) | null {
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    if (!o || typeof o !== 'object' || typeof o.text !== 'string') return null;
    return {
      ...(o.id !== undefined && o.id !== null ? { id: String(o.id) } : {}),
      notice: String(o.notice ?? ''),
      severity: o.severity === 'warning' || o.severity === 'trouble' ? o.severity : 'info',
      household: typeof o.household === 'string' ? o.household : null,
      device: typeof o.device === 'string' ? o.device : null,
      text: o.text,
      ...(o.params && typeof o.params === 'object' && !Array.isArray(o.params) ? { params: noticeParams(o.params as Record<string, unknown>) } : {}),
      at: typeof o.at === 'number' ? o.at : Date.now(),
    };
  } catch {
    return null;
  }
}

/** Sound and attention for what changed. */
function attend(changes: AlarmChange[]): void {
  const who = viewer();
  if (!who || changes.length === 0) return;
  let stopped = false;
  for (const c of changes) {
    const need = attentionFor(c, who);
    if (need === 'alarm') hooks?.onNewAlarm(c.next!);
    else if (need === 'escalated') hooks?.onEscalated(c.next!);
    else if (c.prev && alertsViewer(c.prev, who) && !(c.next && alertsViewer(c.next, who))) stopped = true;
  }
  if (stopped && alertingCount(getState().alarms, who) === 0) hooks?.onQuiet();
}

/**
 * A team leader's households also get `nearby` copies of other teams' alarms; the leader's board
 * shows its own team (its households' phones show those copies, marked "near you").
 */
function ignored(v: AlarmView): boolean {
  return v.nearby === true && session?.user.role === 'team-leader';
}

/** A retained open-alarm state: it replaces the open alarms it speaks for. */
function handleOpenState(household: string | null, text: string): void {
  const parsed = parseOpenAlarmsState(text);
  if (!parsed.ok) return;
  const role = session?.user.role;
  const { at } = parsed.value;
  const open = parsed.value.open.filter((v) => !ignored(v));
  // The station's state and a household user's own state cover everything the page shows; a team
  // leader gets one state per household, each authoritative for the alarms that household raised.
  const covers = household && role === 'team-leader' ? (v: AlarmView) => v.origin.household === household : undefined;
  attend(replaceOpenAlarms(open, { at, covers, pushed: household !== null }));
}

function handleMessage(topic: string, text: string): void {
  const t = parseTopic(topic);
  if (!t || !(t.scope === 'household' || t.scope === 'station')) return;
  if (t.channel === 'notice') {
    const n = parseNotice(text);
    if (n) addNotice(n);
    return;
  }
  const household = t.scope === 'household' ? t.household : null;
  if (t.channel === 'alarms') return handleOpenState(household, text);
  const parsed = parseAlarmView(text);
  if (!parsed.ok || ignored(parsed.value)) return;
  const change = applyAlarm(parsed.value, { pushed: household !== null });
  if (change) attend([change]);
}

/**
 * What the API's open alarms speak for: everything but the `nearby` copies of other teams' alarms,
 * which `/api/alarms` (scoped to the user's team) never lists; the retained states cover those.
 */
export const apiListCovers = (v: AlarmView): boolean => v.nearby !== true;

/** Fetches the open alarms and replaces the board's list (after a (re)connect, or while polling). */
export async function catchUp(): Promise<void> {
  const gen = generation;
  try {
    const list = await api.alarms({ state: 'open' });
    if (gen !== generation) return;
    attend(replaceOpenAlarms(list, { covers: apiListCovers }));
    setState({ liveError: null });
  } catch (err) {
    if (gen !== generation) return;
    setState({ liveError: err instanceof Error ? err.message : String(err) });
  }
}

function startPolling(): void {
  if (pollTimer) return;
  pollTimer = setInterval(() => void catchUp(), POLL_WHILE_DOWN_MS);
}
function stopPolling(): void {
  if (pollTimer) clearInterval(pollTimer);
  pollTimer = null;
}

async function connect(gen: number): Promise<void> {
  if (!session || gen !== generation) return;
  const { user, token } = session;
  let subs: string[];
  try {
    subs = await subscriptionsFor(user);
  } catch (err) {
    if (gen !== generation) return;
    setState({ live: 'reconnecting', liveError: err instanceof Error ? err.message : String(err) });
    startPolling();
    retryTimer = setTimeout(() => void connect(gen), RETRY_AFTER_REFUSAL_MS);
    return;
  }
  if (gen !== generation) return;
  const c = mqtt.connect(brokerUrl(), {
    protocolVersion: 4,
    clientId: clientId(),
    username: user.username,
    password: token,
    clean: true,
    keepalive: 30,
    // Native timers: MQTT.js's worker timers need blob: workers, which the hub's CSP forbids.
    timerVariant: 'native',
    reconnectPeriod: 1_000,
    connectTimeout: 5_000,
    queueQoSZero: false,
    resubscribe: true,
    reconnectOnConnackError: false,
  });
  client = c;
  c.on('connect', () => {
    if (gen !== generation) return;
    const wasDown = getState().live === 'reconnecting';
    setState({ live: 'online', liveError: null });
    stopPolling();
    if (subs.length > 0) {
      c.subscribe(subs, { qos: 1 }, (err, granted) => {
        if (gen !== generation) return;
        const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
        if (err || refused.length) setState({ liveError: err ? err.message : `subscription refused: ${refused.join(', ')}` });
      });
    }
    void catchUp().then(() => {
      if (wasDown && gen === generation) setState({ caughtUpAt: Date.now() });
    });
  });
  c.on('message', (topic, payload) => {
    if (gen !== generation) return;
    handleMessage(topic, new TextDecoder().decode(payload));
  });
  c.on('close', () => {
    if (gen !== generation) return;
    // The first failed attempt counts too: the hub may be restarting while the page loads.
    if (getState().live !== 'reconnecting') setState({ live: 'reconnecting' });
    startPolling();
  });
  c.on('error', (err: Error & { code?: number }) => {
    if (gen !== generation) return;
    // CONNACK 4 (bad user name or password) / 5 (not authorised): is the session still valid?
    if (err.code === 4 || err.code === 5) {
      c.end(true);
      setState({ live: 'reconnecting', liveError: err.message });
      startPolling();
      void api.me().then(
        (m) => {
          if (gen !== generation) return;
          if (!m) hooks?.onSessionExpired();
          else retryTimer = setTimeout(() => void connect(gen), RETRY_AFTER_REFUSAL_MS);
        },
        () => {
          if (gen === generation) retryTimer = setTimeout(() => void connect(gen), RETRY_AFTER_REFUSAL_MS);
        },
      );
    } else if (err.code === 3) {
      // Server unavailable (a cluster node without Redis, or logins being checked): live again shortly,
      // through the load balancer maybe on another node; polling meanwhile.
      c.end(true);
      setState({ live: 'reconnecting', liveError: err.message });
      startPolling();
      retryTimer = setTimeout(() => void connect(gen), RETRY_AFTER_UNAVAILABLE_MS);
    }
  });
}

/**
 * A household's answer over MQTT (`smokehub/h/<own>/response`, QoS 1: resolved once the hub has it
 * on disk). The phone view uses it for a nearby alarm of another team, which the HTTP route refuses.
 */
export async function publishResponse(household: string, alarm: string, response: ResponseKind): Promise<void> {
  const c = client;
  if (!c || !c.connected) throw new Error('no live connection to the hub');
  await c.publishAsync(topics.household(household, 'response'), JSON.stringify({ alarm, response }), { qos: 1 });
}

export function startLive(user: api.SessionUser, token: string, h: LiveHooks): void {
  stopLive();
  hooks = h;
  session = { user, token };
  const gen = ++generation;
  setState({ live: 'connecting', liveError: null });
  void catchUp();
  reconcileTimer = setInterval(() => void catchUp(), RECONCILE_MS);
  void connect(gen);
}

export function stopLive(): void {
  generation++;
  stopPolling();
  if (reconcileTimer) clearInterval(reconcileTimer);
  if (retryTimer) clearTimeout(retryTimer);
  reconcileTimer = null;
  retryTimer = null;
  if (client) client.end(true);
  client = null;
  session = null;
  clearAlarms();
  setState({ live: 'idle', liveError: null, notices: [] });
}
