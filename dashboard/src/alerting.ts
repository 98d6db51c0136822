/**
 * Getting a person's attention when an alarm arrives: a synthesised temporal-three (T3) tone via
 * WebAudio (no audio files, nothing from the network) — for a drill a distinct two-note chime —,
 * a blinking title and a red favicon.
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

/** How many open alarms (of those `which` picks) alert this viewer (for the title and favicon). */
export function alertingCount(alarms: Record<string, AlarmView>, viewer: Viewer | null, which: (v: AlarmView) => boolean = () => true): number {
  if (!viewer) return 0;
  let n = 0;
  for (const v of Object.values(alarms)) if (which(v) && alertsViewer(v, viewer)) n++;
  return n;
}

let ctx: AudioContext | null = null;

function audioContext(): AudioContext | null {
  if (ctx) return ctx;
  const Ctor = (window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext) as
    | typeof AudioContext
    | undefined;
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

/** One tone of a pattern: start (s from the pattern's start), length (s), pitch (Hz). */
export interface Beep {
  at: number;
  dur: number;
  freq: number;
}
export interface TonePattern {
  wave: OscillatorType;
  beeps: Beep[];
  /** Length of the whole pattern (s). */
  length: number;
}
export type ToneKind = 'fire' | 'drill';

/**
 * The patterns, pure (tested without audio). `fire`: the temporal-three fire-alarm pattern (ISO 8201:
 * 0.5 s on, 0.5 s off ×3, then 1.5 s off) on a 950 Hz square wave. `drill`: a soft two-note chime
 * (660 Hz then 880 Hz sine, 0.3 s each, then 0.9 s off) so that nobody takes a drill for a fire.
 */
export function tonePattern(kind: ToneKind, cycles: number): TonePattern {
  const beeps: Beep[] = [];
  let t = 0;
  for (let cycle = 0; cycle < cycles; cycle++) {
    if (kind === 'fire') {
      for (let beep = 0; beep < 3; beep++) {
        beeps.push({ at: t, dur: 0.5, freq: 950 });
        t += 1;
      }
      t += 0.5;
    } else {
      beeps.push({ at: t, dur: 0.3, freq: 660 }, { at: t + 0.3, dur: 0.3, freq: 880 });
      t += 1.5;
    }
  }
  return { wave: kind === 'fire' ? 'square' : 'sine', beeps, length: t };
}

let stopAt = 0;
const playing = new Set<OscillatorNode>();
function playPattern(p: TonePattern, volume: number): void {
  const s = getState();
  if (!s.soundEnabled) return;
  const c = audioContext();
  if (!c || c.state !== 'running') return;
  const start = Math.max(c.currentTime + 0.02, stopAt);
  const gain = c.createGain();
  gain.gain.value = 0;
  gain.connect(c.destination);
  const osc = c.createOscillator();
  osc.type = p.wave;
  osc.frequency.setValueAtTime(p.beeps[0]?.freq ?? 950, start);
  osc.connect(gain);
  for (const b of p.beeps) {
    osc.frequency.setValueAtTime(b.freq, start + b.at);
    gain.gain.setValueAtTime(volume, start + b.at);
    gain.gain.setValueAtTime(0, start + b.at + b.dur);
  }
  const end = start + p.length;
  osc.start(start);
  osc.stop(end);
  stopAt = end;
  playing.add(osc);
  osc.onended = () => {
    playing.delete(osc);
    gain.disconnect();
  };
}
/** Plays the fire-alarm temporal-three pattern (0.5 s on, 0.5 s off ×3, 1.5 s pause), `cycles` times. */
export function playAlarmTone(cycles = 2): void {
  playPattern(tonePattern('fire', cycles), 0.18);
}
/** Plays the drill chime (two soft notes), `cycles` times: never the fire pattern. */
export function playDrillTone(cycles = 2): void {
  playPattern(tonePattern('drill', cycles), 0.22);
}
/** The tone an alarm calls for: the drill chime for a drill, the fire pattern otherwise. */
export function playToneFor(view: AlarmView, cycles: number): void {
  if (view.kind === 'drill') playDrillTone(cycles);
  else playAlarmTone(cycles);
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

const QUIET_ICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Ccircle cx='16' cy='16' r='13' fill='%23177245'/%3E%3C/svg%3E";
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
