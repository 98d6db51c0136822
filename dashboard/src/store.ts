/**
 * The dashboard's shared state: the session, the language, open alarms, live-connection status,
 * recent notices. A tiny observable store; components read it with `useApp()`. Open alarms come
 * from alarm views (MQTT, API) and are replaced by lists: the API's open alarms and the hub's
 * retained open-alarm states, so an alarm closed while the page could not hear the hub disappears.
 */
import { useEffect, useReducer } from 'preact/hooks';
import type { AlarmView, Notice } from '../../hub/protocol/schema.ts';
import { isOpenState } from '../../hub/protocol/schema.ts';
import { noticeKey, type SessionUser } from './api.ts';
import { defaultLang, translate, LANGS, type Lang, type MsgKey } from './i18n.ts';

export type LiveStatus = 'idle' | 'connecting' | 'online' | 'reconnecting';

export interface AppState {
  booting: boolean;
  user: SessionUser | null;
  /** Why the user is on the login page (expired session, logged out). */
  loginNotice: MsgKey | null;
  lang: Lang;
  /** Open alarms by id. */
  alarms: Record<string, AlarmView>;
  /** Bumped whenever an alarm changes, so detail views refetch their timelines. */
  alarmVersion: Record<string, number>;
  /** Open alarms the hub itself sent this user over MQTT (they concern the user's household). */
  pushed: Record<string, true>;
  live: LiveStatus;
  liveError: string | null;
  /** Set for a few seconds after a reconnect caught up. */
  caughtUpAt: number | null;
  notices: Notice[];
  soundUnlocked: boolean;
  soundEnabled: boolean;
}

const LANG_KEY = 'smokehub.lang';
const SOUND_KEY = 'smokehub.sound';

function initialLang(): Lang {
  try {
    const saved = localStorage.getItem(LANG_KEY);
    if (saved && (LANGS as readonly string[]).includes(saved)) return saved as Lang;
  } catch {
    /* storage disabled: fall back to the browser's language */
  }
  return defaultLang(typeof navigator === 'undefined' ? [] : navigator.languages?.length ? navigator.languages : [navigator.language]);
}
function initialSound(): boolean {
  try {
    return localStorage.getItem(SOUND_KEY) !== 'off';
  } catch {
    return true;
  }
}

type Listener = () => void;
let state: AppState = {
  booting: true,
  user: null,
  loginNotice: null,
  lang: initialLang(),
  alarms: {},
  alarmVersion: {},
  pushed: {},
  live: 'idle',
  liveError: null,
  caughtUpAt: null,
  notices: [],
  soundUnlocked: false,
  soundEnabled: initialSound(),
};
const listeners = new Set<Listener>();

export function getState(): AppState {
  return state;
}
export function setState(patch: Partial<AppState> | ((s: AppState) => Partial<AppState>)): void {
  const p = typeof patch === 'function' ? patch(state) : patch;
  state = { ...state, ...p };
  for (const l of listeners) l();
}
export function subscribe(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function useApp(): AppState {
  const [, force] = useReducer((x: number) => x + 1, 0);
  useEffect(() => subscribe(() => force(0)), []);
  return state;
}

/** Translation bound to the current language. */
export function t(key: MsgKey, vars?: Record<string, string | number>): string {
  return translate(state.lang, key, vars);
}

export function setLang(lang: Lang): void {
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch {
    /* not persisted; still switched */
  }
  document.documentElement.lang = lang;
  setState({ lang });
}
export function setSoundEnabled(on: boolean): void {
  try {
    localStorage.setItem(SOUND_KEY, on ? 'on' : 'off');
  } catch {
    /* not persisted */
  }
  setState({ soundEnabled: on });
}

/** One alarm as it was and as it is now (`next` undefined: it left the open list). */
export interface AlarmChange {
  prev: AlarmView | undefined;
  next: AlarmView | undefined;
}

/** Closed or withdrawn alarms → the hub time they left, so a late, older copy does not bring them back. */
const gone = new Map<string, number>();
const MAX_GONE = 500;
function markGone(id: string, at: number): void {
  gone.delete(id);
  gone.set(id, at);
  if (gone.size > MAX_GONE) gone.delete(gone.keys().next().value as string);
}
/** Is `v` older than the moment its alarm left the list? */
function isStale(v: AlarmView): boolean {
  const at = gone.get(v.alarm);
  return at !== undefined && v.updatedAt <= at;
}

/** The same view again (a team leader gets one copy per household topic; retained states repeat views). */
function sameView(a: AlarmView, b: AlarmView): boolean {
  return (
    a.updatedAt === b.updatedAt &&
    a.state === b.state &&
    a.responders.length === b.responders.length &&
    (a.silencedAt ?? null) === (b.silencedAt ?? null) &&
    (a.hushUntil ?? null) === (b.hushUntil ?? null) &&
    Boolean(a.originSaysFalseAlarm) === Boolean(b.originSaysFalseAlarm) &&
    (a.dispatch?.state ?? null) === (b.dispatch?.state ?? null) &&
    (a.dispatch?.at ?? null) === (b.dispatch?.at ?? null)
  );
}

/**
 * Applies an alarm view from MQTT or the API: open alarms are kept, closed ones removed.
 * `pushed`: the hub sent it over MQTT to this user (so it concerns them, e.g. a neighbour's hushed alarm).
 * Returns the change, or null when nothing changed.
 */
export function applyAlarm(view: AlarmView, opts: { pushed?: boolean } = {}): AlarmChange | null {
  const prev = state.alarms[view.alarm];
  if (opts.pushed && isOpenState(view.state) && !state.pushed[view.alarm]) setState({ pushed: { ...state.pushed, [view.alarm]: true } });
  if (prev && prev.updatedAt > view.updatedAt) return null;
  if (prev && sameView(prev, view)) return null;
  if (!prev && (isStale(view) || !isOpenState(view.state))) {
    if (!isOpenState(view.state)) markGone(view.alarm, view.updatedAt);
    return null;
  }
  const alarms = { ...state.alarms };
  let pushed = state.pushed;
  if (isOpenState(view.state)) alarms[view.alarm] = view;
  else {
    delete alarms[view.alarm];
    markGone(view.alarm, view.updatedAt);
    pushed = withoutKey(pushed, view.alarm);
  }
  const alarmVersion = { ...state.alarmVersion, [view.alarm]: (state.alarmVersion[view.alarm] ?? 0) + 1 };
  setState({ alarms, alarmVersion, pushed });
  return { prev, next: isOpenState(view.state) ? view : undefined };
}

export interface ReplaceOptions {
  /** Which alarms of the store the list speaks for (default: all): those not in it are removed. */
  covers?: (v: AlarmView) => boolean;
  /** Hub time the list was built (retained states): an alarm updated after it is not removed. */
  at?: number;
  /** The list came from the hub over MQTT (a retained state of the user's own topics). */
  pushed?: boolean;
}

/**
 * Replaces the open alarms with a list: the API's (catch-up after (re)connect) or a retained
 * open-alarm state (`smokehub/station/alarms`, `smokehub/h/H/alarms`). Returns what changed.
 */
export function replaceOpenAlarms(views: AlarmView[], opts: ReplaceOptions = {}): AlarmChange[] {
  const changes: AlarmChange[] = [];
  const alarms: Record<string, AlarmView> = {};
  const alarmVersion = { ...state.alarmVersion };
  let pushed = state.pushed;
  const listed = new Set<string>();
  for (const v of views) {
    if (!isOpenState(v.state) || isStale(v)) continue;
    listed.add(v.alarm);
    const prev = state.alarms[v.alarm];
    const next = prev && prev.updatedAt > v.updatedAt ? prev : v;
    alarms[v.alarm] = next;
    if (opts.pushed && !pushed[v.alarm]) pushed = { ...pushed, [v.alarm]: true };
    if (!prev || !sameView(prev, next)) {
      alarmVersion[v.alarm] = (alarmVersion[v.alarm] ?? 0) + 1;
      changes.push({ prev, next });
    }
  }
  for (const prev of Object.values(state.alarms)) {
    if (listed.has(prev.alarm)) continue;
    const keep = (opts.covers && !opts.covers(prev)) || (opts.at !== undefined && prev.updatedAt > opts.at);
    if (keep) {
      alarms[prev.alarm] = prev;
      continue;
    }
    if (opts.at !== undefined) markGone(prev.alarm, opts.at);
    pushed = withoutKey(pushed, prev.alarm);
    alarmVersion[prev.alarm] = (alarmVersion[prev.alarm] ?? 0) + 1;
    changes.push({ prev, next: undefined });
  }
  if (changes.length > 0 || pushed !== state.pushed) setState({ alarms, alarmVersion, pushed });
  return changes;
}

/** Forgets every alarm (logout, session end). */
export function clearAlarms(): void {
  gone.clear();
  setState({ alarms: {}, pushed: {} });
}

function withoutKey(o: Record<string, true>, key: string): Record<string, true> {
  if (!o[key]) return o;
  const out = { ...o };
  delete out[key];
  return out;
}
export const MAX_NOTICES = 200;
export function addNotice(n: Notice): void {
  const key = noticeKey(n);
  setState((s) => ({ notices: [n, ...s.notices.filter((x) => noticeKey(x) !== key)].slice(0, MAX_NOTICES) }));
}
