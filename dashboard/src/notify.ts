/**
 * Keeping a neighbour informed while the phone view is open but not looked at: the service worker
 * (/sw.js, registered here), system notifications shown through its registration when an alarm
 * arrives while the page is hidden, vibration while it is visible, and the "add to home screen"
 * prompt. The page holds the MQTT connection (live.ts), not the worker: a closed browser gets no
 * alert from the dashboard — the hub's SMS and calls reach it.
 * Notifications need a secure context (HTTPS, or localhost); the permission is asked only on a tap.
 */
import type { AlarmView } from '../../hub/protocol/schema.ts';
import type { MsgKey } from './i18n.ts';
import { getState, t } from './store.ts';

/** The vibration rhythm of the fire alarm (T3: 0.5 s on, 0.5 s off ×3, a pause), in ms. */
export const ALARM_VIBRATION = [500, 500, 500, 500, 500, 1500, 500, 500, 500, 500, 500];
/** A drill: two short pulses, never the fire rhythm. */
export const DRILL_VIBRATION = [200, 200, 200];

/** NotificationOptions with the fields TypeScript's DOM library leaves out (Chromium has them). */
interface AlarmNotificationOptions extends NotificationOptions {
  renotify?: boolean;
  vibrate?: number[];
}

export type NotifySupport = 'ok' | 'insecure' | 'unsupported';
/** Can this browser show the dashboard's notifications at all? */
export function notifySupport(): NotifySupport {
  if (typeof window === 'undefined' || !('Notification' in window) || !('serviceWorker' in navigator)) {
    return window.isSecureContext === false ? 'insecure' : 'unsupported';
  }
  return window.isSecureContext ? 'ok' : 'insecure';
}
export function notifyPermission(): NotificationPermission | null {
  return 'Notification' in window ? Notification.permission : null;
}

let registration: ServiceWorkerRegistration | null = null;
const listeners = new Set<() => void>();
function changed(): void {
  for (const l of listeners) l();
}
/** Calls `l` when the permission, the worker or the install prompt change; returns the unsubscribe. */
export function onNotifyChange(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

interface InstallPrompt extends Event {
  prompt(): Promise<void>;
  userChoice: Promise<{ outcome: 'accepted' | 'dismissed' }>;
}
let installPrompt: InstallPrompt | null = null;
let installed = false;
export function canInstall(): boolean {
  return installPrompt !== null;
}
export function isInstalled(): boolean {
  return installed || (typeof matchMedia === 'function' && matchMedia('(display-mode: standalone)').matches);
}
/** Shows the browser's "install this app" dialog (after a tap). */
export async function install(): Promise<void> {
  const p = installPrompt;
  if (!p) return;
  installPrompt = null;
  await p.prompt();
  const choice = await p.userChoice.catch(() => null);
  if (choice?.outcome === 'accepted') installed = true;
  changed();
}

/** The phone view at one alarm: `#/phone?alarm=<id>` (a tap on a notification leads there). */
export function alarmHash(alarm: string): string {
  return `#/phone?alarm=${encodeURIComponent(alarm)}`;
}
function openAlarm(alarm: string): void {
  window.focus();
  location.hash = alarm ? alarmHash(alarm) : '#/phone';
}

/**
 * Registers /sw.js (scope `/`) when the browser can run it, and listens to it (a notification
 * tapped) and to the install prompt. A failure is logged, never fatal: the page works without it.
 */
export function installNotifications(): void {
  window.addEventListener('beforeinstallprompt', (e) => {
    e.preventDefault();
    installPrompt = e as InstallPrompt;
    changed();
  });
  window.addEventListener('appinstalled', () => {
    installed = true;
    installPrompt = null;
    changed();
  });
  if (notifySupport() !== 'ok') return;
  navigator.serviceWorker.addEventListener('message', (e: MessageEvent) => {
    const d = e.data as { type?: unknown; alarm?: unknown } | null;
    if (d && d.type === 'smokehub.open-alarm') openAlarm(typeof d.alarm === 'string' ? d.alarm : '');
  });
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).then(
    (r) => {
      registration = r;
      changed();
    },
    (err: unknown) => console.warn('smokehub: the service worker could not be registered', err),
  );
}

/** Asks for the notification permission: call it only from a tap (the button that says why). */
export async function askPermission(): Promise<NotificationPermission | null> {
  if (!('Notification' in window)) return null;
  const p = await Notification.requestPermission();
  changed();
  return p;
}

function notificationText(view: AlarmView): { title: string; body: string } {
  const own = getState().user?.household ?? null;
  const o = view.origin;
  const what = t(`headline.${view.kind}` as MsgKey);
  const where = o.household === own ? t('phone.yourHome', { what }) : t('phone.fireAt', { what, name: o.name || o.household });
  const title = view.kind === 'drill' ? `◎ ${t('phone.drill')}: ${where}` : `🔥 ${where}`;
  return { title, body: [o.address, t('notify.tapToOpen')].filter(Boolean).join(' — ') };
}

async function workerRegistration(): Promise<ServiceWorkerRegistration | null> {
  if (registration) return registration;
  if (!('serviceWorker' in navigator)) return null;
  return (await navigator.serviceWorker.getRegistration('/').catch(() => undefined)) ?? null;
}

/**
 * An alarm starts calling for attention (or escalates). Visible page: it vibrates once the page has
 * been tapped (the tone and the page say the rest). Hidden page: a system notification that stays until tapped or closed
 * (`requireInteraction`), one per alarm (`tag`), sounding and vibrating again when it changes
 * (`renotify`). Without the permission or a worker nothing more is done (the title and the tone still change).
 */
export async function notifyAlarm(view: AlarmView): Promise<void> {
  const pattern = view.kind === 'drill' ? DRILL_VIBRATION : ALARM_VIBRATION;
  if (document.visibilityState === 'visible') {
    // Browsers refuse (and Chromium logs an error) before the first tap on the page.
    const activation = (navigator as Navigator & { userActivation?: { hasBeenActive: boolean } }).userActivation;
    if (activation && !activation.hasBeenActive) return;
    try {
      navigator.vibrate?.(pattern);
    } catch {
      /* no vibration motor, or not allowed before a tap */
    }
    return;
  }
  if (notifyPermission() !== 'granted') return;
  const reg = await workerRegistration();
  if (!reg) return;
  const { title, body } = notificationText(view);
  const options: AlarmNotificationOptions = {
    body,
    tag: `alarm-${view.alarm}`,
    renotify: true,
    requireInteraction: true,
    vibrate: pattern,
    icon: '/icons/icon-192.png',
    badge: '/icons/icon-192.png',
    lang: getState().lang,
    data: { alarm: view.alarm, url: `/${alarmHash(view.alarm)}` },
  };
  try {
    await reg.showNotification(title, options);
  } catch (err) {
    console.warn('smokehub: the notification could not be shown', err);
  }
}

/** Nothing calls for attention any more: the alarm notifications go away. */
export async function clearAlarmNotifications(): Promise<void> {
  const reg = await workerRegistration();
  if (!reg) return;
  const shown = await reg.getNotifications().catch(() => [] as Notification[]);
  for (const n of shown) if (n.tag.startsWith('alarm-')) n.close();
}
