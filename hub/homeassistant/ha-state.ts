/**
 * What a household's Home Assistant is shown of the alarms that concern it, and which alarm its
 * answer buttons answer. Pure, over the alarm views the hub already gives the household
 * (`alarms.concerning(H)`, the same as its retained `smokehub/h/H/alarms`).
 *
 * - `alarm` (the binary sensor) is `ON` while an alarm sounds for H by the rules of the
 *   household's own sounders (core/alert-tracker.ts `viewSounds`): its own alarm from pre-alarm
 *   on, a neighbour's once active or escalated; a hushed alarm (the origin says it is under
 *   control) is `OFF`. A drill counts (`kind` says `drill`).
 * - `state` is the state of the most urgent open alarm (escalated, active, pre-alarm, hushed; a
 *   real alarm before a drill; then the latest raised), or `none`.
 * - the buttons answer the latest raised open alarm of another household (one that sounds for H
 *   first): `respond_to`.
 */
import { viewSounds } from '../core/alert-tracker.ts';
import type { AlarmState, AlarmView, ResponseKind } from '../protocol/schema.ts';
import { BUTTON_RESPONSES, type ButtonResponse } from './discovery.ts';

/** The retained JSON on `smokehub/h/H/homeassistant/state` (also every entity's attributes). */
export interface HaState {
  alarm: 'ON' | 'OFF';
  state: 'none' | AlarmState;
  alarm_id: string | null;
  kind: string | null;
  drill: boolean;
  /** The alarm is H's own (its devices raised it). */
  own: boolean;
  /** Sent to H as a household of another team close to the fire. */
  nearby: boolean;
  origin_household: string | null;
  origin_name: string | null;
  origin_address: string | null;
  raised_at: string | null;
  responders: number;
  coming: number;
  escalation: string | null;
  /** What H last answered to `respond_to`, if it did. */
  my_response: ResponseKind | null;
  /** The alarm the buttons answer (null: none to answer). */
  respond_to: string | null;
  /** Open alarms that concern H. */
  open_alarms: number;
  at: string;
}

const URGENCY: Partial<Record<AlarmState, number>> = { escalated: 4, active: 3, 'pre-alarm': 2, hushed: 1 };

function urgency(v: AlarmView): number {
  return (v.kind === 'drill' ? 0 : 10) + (URGENCY[v.state] ?? 0);
}

/** The most urgent of the open alarms (null when none). */
export function mostUrgent(views: readonly AlarmView[]): AlarmView | null {
  let best: AlarmView | null = null;
  for (const v of views) {
    if (!best || urgency(v) > urgency(best) || (urgency(v) === urgency(best) && v.raisedAt > best.raisedAt)) best = v;
  }
  return best;
}

/** The alarm H's buttons answer: the latest raised open alarm of another household, one that sounds for H first. */
export function respondTarget(views: readonly AlarmView[], household: string): AlarmView | null {
  let best: AlarmView | null = null;
  let bestSounds = false;
  for (const v of views) {
    if (v.origin.household === household || URGENCY[v.state] === undefined) continue;
    const sounds = viewSounds(v, household);
    if (!best || (sounds && !bestSounds) || (sounds === bestSounds && v.raisedAt > best.raisedAt)) {
      best = v;
      bestSounds = sounds;
    }
  }
  return best;
}

/** The state of `household` given the open alarms that concern it. */
export function householdState(household: string, views: readonly AlarmView[], now: number): HaState {
  const top = mostUrgent(views);
  const target = respondTarget(views, household);
  const mine = target?.responders.filter((r) => r.household === household).at(-1);
  return {
    alarm: views.some((v) => viewSounds(v, household)) ? 'ON' : 'OFF',
    state: top?.state ?? 'none',
    alarm_id: top?.alarm ?? null,
    kind: top?.kind ?? null,
    drill: top?.kind === 'drill',
    own: top ? top.origin.household === household : false,
    nearby: top?.nearby === true,
    origin_household: top?.origin.household ?? null,
    origin_name: top?.origin.name ?? null,
    origin_address: top?.origin.address ?? null,
    raised_at: top ? new Date(top.raisedAt).toISOString() : null,
    responders: top ? new Set(top.responders.map((r) => r.household)).size : 0,
    coming: top ? new Set(top.responders.filter((r) => r.response === 'coming').map((r) => r.household)).size : 0,
    escalation: top?.escalation ?? null,
    my_response: mine?.response ?? null,
    respond_to: target?.alarm ?? null,
    open_alarms: views.length,
    at: new Date(now).toISOString(),
  };
}

/** Two states that differ only in `at` need not be published again. */
export function sameState(a: HaState, b: HaState): boolean {
  return JSON.stringify({ ...a, at: '' }) === JSON.stringify({ ...b, at: '' });
}

/** A button's payload (`coming`, `unable`, `need-help`), or null when it is none of them. */
export function parsePress(payload: Buffer | string): ButtonResponse | null {
  if (payload.length > 32) return null;
  const s = payload.toString().trim();
  return (BUTTON_RESPONSES as readonly string[]).includes(s) ? (s as ButtonResponse) : null;
}
