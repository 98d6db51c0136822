/**
 * What the hub publishes on a Zigbee siren's `<base>/<friendly_name>/set` to start or stop it,
 * from the control its exposes declare (z2m-devices.ts). Pure.
 *
 * IAS WD `warning`: fires and panic buttons ring `fire`, CO and gas `emergency`, both at the
 * loudest level with the strobe; a drill rings `burglar` at `medium` without the strobe, so that
 * nobody mistakes it for a fire. The duration is long (the hub stops it, and re-sends the start
 * every SIREN_REFRESH_MS while the alarm stays open: a lost Zigbee command or a siren that timed
 * out rings again). Modes or levels the siren does not list fall back to its first.
 */
import type { AlarmKind } from '../protocol/schema.ts';
import type { SirenControl } from './z2m-devices.ts';

/** Seconds a started siren rings on its own (IAS WD `duration`, at most 65535). */
export const SIREN_DURATION_S = 1800;
/** How often a ringing siren's start is re-sent. */
export const SIREN_REFRESH_MS = 5 * 60_000;

const MODE: Record<AlarmKind, string> = { smoke: 'fire', heat: 'fire', panic: 'fire', co: 'emergency', gas: 'emergency', drill: 'burglar' };

/** The wanted mode, else the loudest the siren lists (never `stop`); modes unknown: the wanted one. */
function pickMode(wanted: string, offered: string[]): string {
  if (offered.length === 0 || offered.includes(wanted)) return wanted;
  return ['fire', 'emergency', 'fire_panic', 'emergency_panic', 'burglar'].find((m) => offered.includes(m)) ?? offered.find((m) => m !== 'stop') ?? wanted;
}

/** The start command for an alarm of `kind`. */
export function sirenStart(control: SirenControl, kind: AlarmKind): Record<string, unknown> {
  if (control.type === 'alarm') return { alarm: control.on };
  const drill = kind === 'drill';
  const warning: Record<string, unknown> = { mode: pickMode(MODE[kind], control.modes) };
  // Z2M 2.x's HS2WD-E lists no level: none is sent. A level it does not list: its loudest.
  if (control.levels.length > 0) {
    const level = drill ? 'medium' : 'very_high';
    warning.level = control.levels.includes(level) ? level : control.levels[control.levels.length - 1];
  }
  if (control.strobe) warning.strobe = !drill;
  // Always sent when it can be: a warning without a duration rings for Z2M's default, 10 s.
  if (control.duration) warning.duration = SIREN_DURATION_S;
  return { warning };
}

/** The stop command. */
export function sirenStop(control: SirenControl): Record<string, unknown> {
  if (control.type === 'alarm') return { alarm: control.off };
  const warning: Record<string, unknown> = { mode: 'stop' };
  if (control.strobe) warning.strobe = false;
  if (control.duration) warning.duration = 0;
  return { warning };
}
