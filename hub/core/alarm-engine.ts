/**
 * The alarm state machine: pure and synchronous. Time comes in as `now`, registry reads through an
 * injected `Directory`, ids from an injected generator. Every call returns the effects to carry out,
 * in order: `journal` effects must be made durable before the `announce` effects that follow them.
 *
 *   smoke/heat/co ──► pre-alarm ──(verify window, or panic / 2nd device / need-help)──► active
 *   active ──(neighbour need-help | 2 households of a team | escalate-after)──► escalated
 *   open ──(origin hush / false-alarm)──► cancelled        open ──(all clear + quiet | station)──► resolved
 */
import type {
  AlarmKind,
  AlarmState,
  AlarmView,
  DeviceEvent,
  ResponseKind,
  Responder,
} from '../protocol/schema.ts';
import { isAlarmKind, isOpenState } from '../protocol/schema.ts';

export interface EngineSettings {
  /** ms a pre-alarm waits before neighbours are alerted; 0: alert at once. */
  verifyWindowMs: number;
  /** ms an active alarm may stay uncancelled before it is escalated. */
  escalateAfterMs: number;
  /** ms without smoke after every alarming device cleared before the alarm resolves. */
  resolveQuietMs: number;
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
}

export interface DeviceSource {
  team: string;
  household: string;
  device: string;
}

export type Effect =
  | { type: 'journal'; record: AlarmRecord; transition: string; detail: Record<string, unknown> }
  /** Publish `view` to each household's alert topic, and to the station when `station`. */
  | { type: 'announce'; view: AlarmView; households: string[]; station: boolean };

export type ResponseOutcome =
  | { ok: true; effects: Effect[] }
  | { ok: false; code: 'not_found' | 'forbidden' | 'conflict'; message: string };

const CLOSED_STATES: AlarmState[] = ['cancelled', 'resolved'];

export class AlarmEngine {
  private alarms = new Map<string, AlarmRecord>();
  /** household → its open alarm id */
  private openByHousehold = new Map<string, string>();

  constructor(
    private readonly settings: EngineSettings,
    private readonly directory: Directory,
    private readonly newId: (now: number) => string,
  ) {}

  /** Loads open alarms from the journal after a restart (timers continue from their deadlines). */
  restore(records: AlarmRecord[]): void {
    for (const r of records) {
      if (!isOpenState(r.state)) continue;
      this.alarms.set(r.id, structuredClone(r));
      this.openByHousehold.set(r.originHousehold, r.id);
    }
  }

  get(id: string): AlarmRecord | undefined {
    return this.alarms.get(id);
  }

  openAlarms(): AlarmRecord[] {
    return [...this.alarms.values()];
  }

  openAlarmOf(household: string): AlarmRecord | undefined {
    const id = this.openByHousehold.get(household);
    return id === undefined ? undefined : this.alarms.get(id);
  }

  /** The earliest pending deadline (verify, escalate, resolve), for the caller's single timer. */
  nextDeadline(): number | null {
    let next: number | null = null;
    for (const a of this.alarms.values()) {
      for (const d of [a.verifyDeadline, a.escalateDeadline, a.resolveDeadline]) {
        if (d !== null && (next === null || d < next)) next = d;
      }
    }
    return next;
  }

  /** Open alarms a household must see right now (origin's own, or its team's alerted ones). */
  alarmsConcerning(household: string): AlarmView[] {
    const team = this.directory.household(household)?.team;
    if (team === undefined) return [];
    const out: AlarmView[] = [];
    for (const a of this.alarms.values()) {
      if (a.team !== team) continue;
      if (a.originHousehold === household || a.neighboursAlerted || household in invert(a.alarming)) out.push(this.view(a));
    }
    return out;
  }

  // ---- inputs -------------------------------------------------------------------------------

  /** A validated, de-duplicated device event. */
  handleDeviceEvent(src: DeviceSource, event: DeviceEvent, now: number): Effect[] {
    const type = event.type;
    if (isAlarmKind(type)) return this.onAlarmSignal(src, type, now);
    if (type === 'clear') return this.onClear(src, now);
    if (type === 'hush') {
      const a = this.openAlarmOf(src.household);
      return a ? this.cancelByOrigin(a, now, 'hush', { device: src.device }) : [];
    }
    // test (self-test), fault, tamper: never open, change or close an alarm.
    return [];
  }

  /** A household's (or the station's, on a household's behalf) response to an alarm. */
  handleResponse(household: string, alarmId: string, response: ResponseKind, now: number): ResponseOutcome {
    const a = this.alarms.get(alarmId);
    if (!a) return { ok: false, code: 'not_found', message: `no open alarm ${alarmId}` };
    const team = this.directory.household(household)?.team;
    if (team !== a.team) return { ok: false, code: 'forbidden', message: `household ${household} is not in team ${a.team}` };
    const isOrigin = household === a.originHousehold;
    if (isOrigin && response === 'false-alarm') {
      return { ok: true, effects: this.cancelByOrigin(a, now, 'false-alarm', { household }) };
    }
    if (!isOrigin && response === 'false-alarm') {
      return { ok: false, code: 'conflict', message: 'only the origin household can report a false alarm' };
    }
    const effects: Effect[] = [];
    const existing = a.responders.find((r) => r.household === household);
    if (existing) {
      existing.response = response;
      existing.at = now;
    } else {
      a.responders.push({ household, response, at: now });
    }
    a.updatedAt = now;
    if (response === 'need-help') {
      if (isOrigin) {
        if (a.state === 'pre-alarm') return { ok: true, effects: this.activate(a, now, 'need-help') };
      } else if (a.state !== 'escalated') {
        return { ok: true, effects: this.escalate(a, now, 'neighbour-need-help', { household }) };
      }
    }
    effects.push(...this.transition(a, now, 'response', { household, response }));
    return { ok: true, effects };
  }

  /** The station closes an alarm. */
  resolveByStation(alarmId: string, by: string, now: number): ResponseOutcome {
    const a = this.alarms.get(alarmId);
    if (!a) return { ok: false, code: 'not_found', message: `no open alarm ${alarmId}` };
    return { ok: true, effects: this.close(a, now, 'resolved', 'resolved-by-station', { by }) };
  }

  /** Fires every deadline that is due at `now`. */
  tick(now: number): Effect[] {
    const effects: Effect[] = [];
    for (const a of [...this.alarms.values()]) {
      if (a.resolveDeadline !== null && a.resolveDeadline <= now) {
        effects.push(...this.close(a, now, 'resolved', 'all-clear', {}));
        continue;
      }
      if (a.verifyDeadline !== null && a.verifyDeadline <= now) {
        a.verifyDeadline = null;
        if (Object.keys(a.alarming).length > 0) effects.push(...this.activate(a, now, 'verify-window-elapsed'));
      }
      if (a.escalateDeadline !== null && a.escalateDeadline <= now && a.state === 'active') {
        effects.push(...this.escalate(a, now, 'not-cancelled-in-time', {}));
      }
    }
    return effects;
  }

  // ---- transitions --------------------------------------------------------------------------

  private onAlarmSignal(src: DeviceSource, kind: AlarmKind, now: number): Effect[] {
    const existing = this.openAlarmOf(src.household);
    if (existing) {
      const a = existing;
      const wasAlarming = a.alarming[src.device] !== undefined;
      a.alarming[src.device] = src.household;
      a.resolveDeadline = null;
      const secondDevice = !wasAlarming && Object.keys(a.alarming).length >= 2;
      if (a.state === 'pre-alarm' && (kind === 'panic' || secondDevice || a.verifyDeadline === null)) {
        return this.activate(a, now, kind === 'panic' ? 'panic' : secondDevice ? 'second-device' : 'smoke-after-window');
      }
      if (!wasAlarming) {
        a.updatedAt = now;
        return this.transition(a, now, 'device-alarming', { device: src.device, kind });
      }
      return []; // the same device repeating itself: no new fan-out
    }
    const id = this.newId(now);
    const immediate = kind === 'panic' || this.settings.verifyWindowMs === 0;
    const a: AlarmRecord = {
      id,
      team: src.team,
      kind,
      state: 'pre-alarm',
      originHousehold: src.household,
      originDevice: src.device,
      raisedAt: now,
      updatedAt: now,
      closedAt: null,
      alarming: { [src.device]: src.household },
      responders: [],
      escalation: null,
      falseAlarm: false,
      neighboursAlerted: false,
      verifyDeadline: immediate ? null : now + this.settings.verifyWindowMs,
      escalateDeadline: null,
      resolveDeadline: null,
    };
    this.alarms.set(id, a);
    this.openByHousehold.set(src.household, id);
    const effects = this.transition(a, now, 'raised', { device: src.device, kind });
    if (immediate) effects.push(...this.activate(a, now, kind === 'panic' ? 'panic' : 'no-verify-window'));
    effects.push(...this.crossEscalate(a.team, now));
    return effects;
  }

  private onClear(src: DeviceSource, now: number): Effect[] {
    const a = this.openAlarmOf(src.household);
    if (!a || a.alarming[src.device] === undefined) return [];
    delete a.alarming[src.device];
    a.updatedAt = now;
    if (Object.keys(a.alarming).length === 0) a.resolveDeadline = now + this.settings.resolveQuietMs;
    const effects = this.transition(a, now, 'device-cleared', { device: src.device });
    if (a.resolveDeadline !== null && a.resolveDeadline <= now) effects.push(...this.close(a, now, 'resolved', 'all-clear', {}));
    return effects;
  }

  private activate(a: AlarmRecord, now: number, why: string): Effect[] {
    if (a.state !== 'pre-alarm') return [];
    a.state = 'active';
    a.verifyDeadline = null;
    a.neighboursAlerted = true;
    a.escalateDeadline = now + this.settings.escalateAfterMs;
    a.updatedAt = now;
    return this.transition(a, now, 'activated', { why });
  }

  private escalate(a: AlarmRecord, now: number, reason: EscalationReason, detail: Record<string, unknown>): Effect[] {
    if (!isOpenState(a.state) || a.state === 'escalated') return [];
    a.state = 'escalated';
    a.escalation = reason;
    a.neighboursAlerted = true;
    a.verifyDeadline = null;
    a.escalateDeadline = null;
    a.updatedAt = now;
    return this.transition(a, now, 'escalated', { reason, ...detail });
  }

  /** Two or more households of one team alarming at once: every open alarm of the team escalates. */
  private crossEscalate(team: string, now: number): Effect[] {
    const open = [...this.alarms.values()].filter((x) => x.team === team);
    if (open.length < 2) return [];
    const effects: Effect[] = [];
    for (const x of open) effects.push(...this.escalate(x, now, 'multiple-households', { households: open.map((o) => o.originHousehold) }));
    return effects;
  }

  /**
   * The origin household says it is a false alarm (hush button or response). It cancels, unless
   * others have independently confirmed a fire (a neighbour's need-help, or alarms in two
   * households): then it is recorded and only the station or an all-clear closes the alarm.
   */
  private cancelByOrigin(a: AlarmRecord, now: number, how: 'hush' | 'false-alarm', detail: Record<string, unknown>): Effect[] {
    if (a.state === 'escalated' && a.escalation !== 'not-cancelled-in-time') {
      a.updatedAt = now;
      return this.transition(a, now, 'cancel-refused', { how, reason: a.escalation, ...detail });
    }
    a.falseAlarm = true;
    return this.close(a, now, 'cancelled', how, detail);
  }

  private close(a: AlarmRecord, now: number, state: 'cancelled' | 'resolved', transition: string, detail: Record<string, unknown>): Effect[] {
    if (CLOSED_STATES.includes(a.state)) return [];
    a.state = state;
    a.closedAt = now;
    a.updatedAt = now;
    a.verifyDeadline = a.escalateDeadline = a.resolveDeadline = null;
    const effects = this.transition(a, now, transition, detail);
    this.alarms.delete(a.id);
    if (this.openByHousehold.get(a.originHousehold) === a.id) this.openByHousehold.delete(a.originHousehold);
    return effects;
  }

  /** Journal the new state, then announce it to whoever it concerns. */
  private transition(a: AlarmRecord, now: number, transition: string, detail: Record<string, unknown>): Effect[] {
    a.updatedAt = now;
    const view = this.view(a);
    const households = a.neighboursAlerted
      ? this.directory.householdsOfTeam(a.team)
      : unique([a.originHousehold, ...Object.values(a.alarming)]);
    return [
      { type: 'journal', record: structuredClone(a), transition, detail },
      { type: 'announce', view, households, station: true },
    ];
  }

  view(a: AlarmRecord): AlarmView {
    const h = this.directory.household(a.originHousehold);
    return {
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
    };
  }
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}
function invert(o: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) out[v] = k;
  return out;
}
