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

function pick(wanted: string, offered: string[]): string {
  return offered.length === 0 || offered.includes(wanted) ? wanted : offered[0]!;
}

/** The start command for an alarm of `kind`. */
export function sirenStart(control: SirenControl, kind: AlarmKind): Record<string, unknown> {
  if (control.type === 'alarm') return { alarm: control.on };
  const drill = kind === 'drill';
  const warning: Record<string, unknown> = {
    mode: pick(MODE[kind], control.modes),
    level: pick(drill ? 'medium' : 'very_high', control.levels),
  };
  if (control.strobe) warning.strobe = !drill;
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
