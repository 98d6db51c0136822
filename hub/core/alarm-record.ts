/**
 * The alarm engine's data: settings, the registry reads it needs, the durable record of one alarm,
 * the effects it asks its caller to carry out, and the view people are shown. Pure types and
 * one pure function (the view).
 */
import type { Actor, AlarmKind, AlarmState, AlarmView, DeviceCommand, Dispatch, Responder, Via } from '../protocol/schema.ts';
import type { ERROR_CODES } from '../protocol/errors.ts';

export interface EngineSettings {
  /** ms a pre-alarm waits before neighbours are alerted; 0: alert at once. */
  verifyWindowMs: number;
  /** ms an active alarm may stay unconfirmed before it is escalated. */
  escalateAfterMs: number;
  /** ms without smoke after every alarming device cleared before the alarm closes. */
  resolveQuietMs: number;
  /** ms a hushed alarm is watched: still alarming when it ends → re-raised. */
  hushPeriodMs: number;
  /** ms a drill stays open before it ends by itself (default 15 min). */
  drillDurationMs?: number;
}

export interface HouseholdInfo {
  id: string;
  team: string;
  name: string;
  address: string;
  lat: number | null;
  lon: number | null;
}

/** Synchronous registry reads the engine needs. */
export interface Directory {
  household(id: string): HouseholdInfo | undefined;
  /** Ids of every household of a team (including the asker). */
  householdsOfTeam(team: string): string[];
  /** Households of other teams within the nearby radius of this one (none when unknown). */
  nearbyHouseholds?(household: string): string[];
}

export type EscalationReason = 'neighbour-need-help' | 'multiple-households' | 'not-cancelled-in-time';

/** The durable state of one alarm (what the journal stores and restores). */
export interface AlarmRecord {
  id: string;
  team: string;
  kind: AlarmKind;
  state: AlarmState;
  originHousehold: string;
  originDevice: string;
  raisedAt: number;
  updatedAt: number;
  closedAt: number | null;
  /** Devices currently alarming (not cleared), device id → household id. */
  alarming: Record<string, string>;
  responders: Responder[];
  escalation: EscalationReason | null;
  falseAlarm: boolean;
  /** Whether the neighbours (not just the origin household) have been alerted. */
  neighboursAlerted: boolean;
  verifyDeadline: number | null;
  escalateDeadline: number | null;
  resolveDeadline: number | null;
  /** While hushed: when the hush was given and when the watch ends. */
  hushedAt?: number | null;
  hushDeadline?: number | null;
  /** While hushed: each device's smoke level at the hush (re-raised at twice it). */
  hushSmoke?: Record<string, number>;
  /** The origin silenced its own sounders during a confirmed alarm. */
  silencedAt?: number | null;
  /** The origin said "false alarm" when it could no longer cancel (escalated). */
  originSaysFalseAlarm?: boolean;
  /** Households of other teams within the nearby radius, alerted with the team. */
  nearby?: string[];
  dispatch?: Dispatch | null;
  /** Drills: each household's first response (the drill report). */
  firstResponses?: Responder[];
}

/** Who caused an input and through which channel: every journal entry carries it. */
export interface Cause {
  by: Actor;
  via: Via;
}

export interface DeviceSource {
  team: string;
  household: string;
  device: string;
}

export type Effect =
  | { type: 'journal'; record: AlarmRecord; transition: string; detail: Record<string, unknown>; by: Actor; via: Via }
  /** Publish `view` to each household's alert topic (`nearby` ones get it marked so), and to the station when `station`. */
  | { type: 'announce'; view: AlarmView; households: string[]; nearby: string[]; station: boolean }
  /** Send `command` to every device of `household` (its sounders). */
  | { type: 'command'; household: string; command: DeviceCommand };

export type ResponseOutcome =
  | { ok: true; effects: Effect[] }
  | { ok: false; code: typeof ERROR_CODES.NOT_FOUND | typeof ERROR_CODES.FORBIDDEN | typeof ERROR_CODES.CONFLICT; message: string };

/** The earliest of an alarm's pending deadlines (verify, escalate, resolve, hush), or null. */
export function recordNextDeadline(a: AlarmRecord): number | null {
  let next: number | null = null;
  for (const d of [a.verifyDeadline, a.escalateDeadline, a.resolveDeadline, a.hushDeadline ?? null]) {
    if (d !== null && (next === null || d < next)) next = d;
  }
  return next;
}

export function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** The view of an alarm that people and devices are shown. */
export function alarmView(a: AlarmRecord, directory: Directory): AlarmView {
  const h = directory.household(a.originHousehold);
  const view: AlarmView = {
    alarm: a.id,
    state: a.state,
    kind: a.kind,
    team: a.team,
    origin: {
      household: a.originHousehold,
      name: h?.name ?? '',
      address: h?.address ?? '',
      lat: h?.lat ?? null,
      lon: h?.lon ?? null,
      device: a.originDevice,
    },
    raisedAt: a.raisedAt,
    updatedAt: a.updatedAt,
    responders: a.responders.map((r) => ({ ...r })),
    escalation: a.escalation,
    households: unique(Object.values(a.alarming)),
    silencedAt: a.silencedAt ?? null,
    hushedAt: a.state === 'hushed' ? (a.hushedAt ?? null) : null,
    hushUntil: a.state === 'hushed' ? (a.hushDeadline ?? null) : null,
    originSaysFalseAlarm: a.originSaysFalseAlarm ?? false,
    dispatch: a.dispatch ?? null,
    nearbyHouseholds: [...(a.nearby ?? [])],
  };
  return view;
}

/** A new alarm in `pre-alarm` (its verify window ending at `verifyDeadline`). */
export function newAlarmRecord(id: string, src: DeviceSource, kind: AlarmKind, now: number, verifyDeadline: number | null): AlarmRecord {
  return {
    id,
    team: src.team,
    kind,
    state: 'pre-alarm',
    originHousehold: src.household,
    originDevice: src.device,
    raisedAt: now,
    updatedAt: now,
    closedAt: null,
    alarming: src.device ? { [src.device]: src.household } : {},
    responders: [],
    escalation: null,
    falseAlarm: false,
    neighboursAlerted: false,
    verifyDeadline,
    escalateDeadline: null,
    resolveDeadline: null,
    hushedAt: null,
    hushDeadline: null,
    silencedAt: null,
    originSaysFalseAlarm: false,
    nearby: [],
    dispatch: null,
  };
}
