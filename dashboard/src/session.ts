/**
 * Session lifecycle: boot (who am I?), login, logout, expiry. The token from the login answer is
 * kept in localStorage only as the MQTT password for live updates; the HTTP API uses the
 * HttpOnly, SameSite=Strict session cookie.
 */
import * as api from './api.ts';
import { playToneFor, silence } from './alerting.ts';
import { startLive, stopLive } from './live.ts';
import { clearAlarmNotifications, notifyAlarm } from './notify.ts';
import { navigate } from './router.ts';
import { setState, getState } from './store.ts';
import type { MsgKey } from './i18n.ts';

const TOKEN_KEY = 'smokehub.token';

function storedToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}
function storeToken(token: string | null): void {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage disabled: live updates fall back to polling after a reload */
  }
}

export function homePath(user: api.SessionUser): string {
  return user.role === 'household' ? '/phone' : '/board';
}

function begin(user: api.SessionUser, token: string | null): void {
  setState({ user, booting: false, loginNotice: null });
  if (token) {
    startLive(user, token, {
      onNewAlarm: (view) => {
        playToneFor(view, 3);
        void notifyAlarm(view);
      },
      onEscalated: (view) => {
        playToneFor(view, 1);
        void notifyAlarm(view);
      },
      onQuiet: () => {
        silence();
        void clearAlarmNotifications();
      },
      onSessionExpired: () => expire(),
    });
  }
}

/** Leaves for the login page saying why; never a blank page. */
export function expire(notice: MsgKey = 'login.expired'): void {
  if (!getState().user && !getState().booting) return;
  stopLive();
  storeToken(null);
  setState({ user: null, booting: false, loginNotice: notice });
  navigate('/login', true);
}

export async function boot(): Promise<void> {
  api.setUnauthorizedHandler(() => expire());
  try {
    const m = await api.me();
    if (!m) {
      storeToken(null);
      setState({ booting: false, user: null });
      return;
    }
    const token = m.token ?? storedToken();
    begin(m.user, token);
  } catch (err) {
    // The hub is unreachable: the login page says so when the user tries.
    setState({ booting: false, user: null, loginNotice: null });
    console.error('smokehub: could not check the session', err);
  }
}

export async function login(username: string, password: string): Promise<api.SessionUser> {
  const { token, user } = await api.login(username, password);
  storeToken(token);
  begin(user, token);
  return user;
}

export async function logout(): Promise<void> {
  try {
    await api.logout();
  } finally {
    stopLive();
    storeToken(null);
    setState({ user: null, loginNotice: 'login.loggedOut' });
    navigate('/login', true);
  }
}
