/**
 * Getting a person's attention when an alarm arrives: a synthesised temporal-three (T3) tone via
 * WebAudio (no audio files, nothing from the network), a blinking title and a red favicon.
 * Browsers only allow sound after a user gesture: `installAudioUnlock` waits for the first one.
 * Which alarms call for attention is decided here too (`alertsViewer`): a hushed alarm never does.
 */
import type { AlarmView } from '../../hub/protocol/schema.ts';
import { isOpenState } from '../../hub/protocol/schema.ts';
import type { Role } from './api.ts';
import { getState, setState, type AlarmChange } from './store.ts';

/** Who is looking: the station and team leaders see every alarm; a household its own and its alerted neighbours'. */
export interface Viewer {
  role: Role;
  household: string | null;
}

/**
 * Does this alarm call for this viewer's attention (tone, title, favicon)? Never when `hushed`:
 * the origin household silenced it and neighbours stood down (the hub still watches it). A
 * household hears its own alarm from pre-alarm on, a neighbour's once neighbours are alerted.
 */
export function alertsViewer(view: AlarmView, viewer: Viewer): boolean {
  if (!isOpenState(view.state) || view.state === 'hushed') return false;
  if (viewer.role !== 'household') return true;
  return view.origin.household === viewer.household || view.state === 'active' || view.state === 'escalated';
}

/**
 * What a change calls for: `alarm` when an alarm starts alerting the viewer (new, a neighbour's
 * alarm becoming active, or re-raised from hushed), `escalated` when an alerting one escalates.
 */
export function attentionFor(change: AlarmChange, viewer: Viewer): 'alarm' | 'escalated' | null {
  const { prev, next } = change;
  if (!next || !alertsViewer(next, viewer)) return null;
  if (!prev || !alertsViewer(prev, viewer)) return 'alarm';
  return next.state === 'escalated' && prev.state !== 'escalated' ? 'escalated' : null;
}

/** How many open alarms alert this viewer (for the title and favicon). */
export function alertingCount(alarms: Record<string, AlarmView>, viewer: Viewer | null): number {
  if (!viewer) return 0;
  let n = 0;
  for (const v of Object.values(alarms)) if (alertsViewer(v, viewer)) n++;
  return n;
}

let ctx: AudioContext | null = null;

function audioContext(): AudioContext | null {
  if (ctx) return ctx;
  const Ctor = (window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext) as typeof AudioContext | undefined;
  if (!Ctor) return null;
  ctx = new Ctor();
  return ctx;
}

/** Resumes audio on the first click/tap/key press (browsers' autoplay policy). */
export function installAudioUnlock(): void {
  const unlock = () => {
    const c = audioContext();
    if (!c) return;
    void c.resume().then(() => {
      if (c.state === 'running') {
        setState({ soundUnlocked: true });
        window.removeEventListener('pointerdown', unlock, true);
        window.removeEventListener('keydown', unlock, true);
      }
    });
  };
  window.addEventListener('pointerdown', unlock, true);
  window.addEventListener('keydown', unlock, true);
}

let stopAt = 0;
const playing = new Set<OscillatorNode>();
/** Plays the fire-alarm temporal-three pattern (0.5 s on, 0.5 s off ×3, 1.5 s pause), `cycles` times. */
export function playAlarmTone(cycles = 2): void {
  const s = getState();
  if (!s.soundEnabled) return;
  const c = audioContext();
  if (!c || c.state !== 'running') return;
  const start = Math.max(c.currentTime + 0.02, stopAt);
  const gain = c.createGain();
  gain.gain.value = 0;
  gain.connect(c.destination);
  const osc = c.createOscillator();
  osc.type = 'square';
  osc.frequency.value = 950;
  osc.connect(gain);
  let t = start;
  for (let cycle = 0; cycle < cycles; cycle++) {
    for (let beep = 0; beep < 3; beep++) {
      gain.gain.setValueAtTime(0.18, t);
      gain.gain.setValueAtTime(0, t + 0.5);
      t += 1;
    }
    t += 0.5;
  }
  osc.start(start);
  osc.stop(t);
  stopAt = t;
  playing.add(osc);
  osc.onended = () => {
    playing.delete(osc);
    gain.disconnect();
  };
}
/** Stops the tone now. */
export function silence(): void {
  for (const osc of playing) {
    try {
      osc.stop();
    } catch {
      /* already stopped */
    }
  }
  playing.clear();
  stopAt = 0;
}

const QUIET_ICON = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Ccircle cx='16' cy='16' r='13' fill='%23177245'/%3E%3C/svg%3E";
function alarmIcon(n: number): string {
  const label = n > 9 ? '9+' : String(n);
  const svg = `<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'><circle cx='16' cy='16' r='15' fill='#c4161c'/><text x='16' y='22' font-size='${label.length > 1 ? 15 : 19}' font-family='sans-serif' font-weight='bold' text-anchor='middle' fill='#fff'>${label}</text></svg>`;
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

let blinkTimer: ReturnType<typeof setInterval> | null = null;
let lastKey = '';
/** Keeps the tab title and favicon in step with the number of open alarms. */
export function updateAttention(openCount: number, titleAlarm: string, titleQuiet: string): void {
  const key = `${openCount}|${titleAlarm}|${titleQuiet}`;
  if (key === lastKey) return;
  lastKey = key;
  const link = document.getElementById('favicon') as HTMLLinkElement | null;
  if (blinkTimer) clearInterval(blinkTimer);
  blinkTimer = null;
  if (openCount > 0) {
    if (link) link.href = alarmIcon(openCount);
    document.title = titleAlarm;
    let on = true;
    blinkTimer = setInterval(() => {
      on = !on;
      document.title = on ? titleAlarm : `▲ ${titleAlarm}`;
    }, 1000);
  } else {
    if (link) link.href = QUIET_ICON;
    document.title = titleQuiet;
  }
}
