/**
 * The dashboard's shared state: the session, the language, open alarms, live-connection status,
 * recent notices. A tiny observable store; components read it with `useApp()`.
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

/** Applies an alarm view from MQTT or the API: open alarms are kept, closed ones removed. Returns whether it was new. */
export function applyAlarm(view: AlarmView): { isNew: boolean; escalatedNow: boolean } {
  const prev = state.alarms[view.alarm];
  if (prev && prev.updatedAt > view.updatedAt) return { isNew: false, escalatedNow: false };
  // The same view arrives once per subscribed topic (a team leader listens to every household).
  if (prev && prev.updatedAt === view.updatedAt && prev.state === view.state && prev.responders.length === view.responders.length) {
    return { isNew: false, escalatedNow: false };
  }
  const alarms = { ...state.alarms };
  if (isOpenState(view.state)) alarms[view.alarm] = view;
  else delete alarms[view.alarm];
  const alarmVersion = { ...state.alarmVersion, [view.alarm]: (state.alarmVersion[view.alarm] ?? 0) + 1 };
  setState({ alarms, alarmVersion });
  return { isNew: !prev && isOpenState(view.state), escalatedNow: view.state === 'escalated' && prev?.state !== 'escalated' };
}
/** Replaces the open alarms with what the API says (catch-up after (re)connect). Returns the ids that are new. */
export function replaceOpenAlarms(views: AlarmView[]): string[] {
  const fresh: string[] = [];
  const alarms: Record<string, AlarmView> = {};
  const alarmVersion = { ...state.alarmVersion };
  for (const v of views) {
    if (!isOpenState(v.state)) continue;
    const prev = state.alarms[v.alarm];
    if (!prev) fresh.push(v.alarm);
    alarms[v.alarm] = prev && prev.updatedAt > v.updatedAt ? prev : v;
    if (!prev || prev.updatedAt !== v.updatedAt) alarmVersion[v.alarm] = (alarmVersion[v.alarm] ?? 0) + 1;
  }
  setState({ alarms, alarmVersion });
  return fresh;
}
export const MAX_NOTICES = 200;
export function addNotice(n: Notice): void {
  const key = noticeKey(n);
  setState((s) => ({ notices: [n, ...s.notices.filter((x) => noticeKey(x) !== key)].slice(0, MAX_NOTICES) }));
}
