/**
 * The alarm state machine: pure and synchronous. Time comes in as `now`, registry reads through an
 * injected `Directory`, ids from an injected generator. Every call returns the effects to carry out,
 * in order: `journal` effects must be made durable before the `announce` effects that follow them.
 * Every journal effect says who caused it (`by`) and through which channel (`via`).
 *
 *   smoke/heat/co ──► pre-alarm ──(verify window, or panic / 2nd device / need-help)──► active
 *   active ──(neighbour need-help | 2 households of a team | escalate-after)──► escalated
 *   pre-alarm ──(device hush | origin false-alarm)──► hushed ◄──(origin false-alarm)── active
 *   hushed ──(hush period ends still alarming | new device | panic | need-help | fire evidence)──► active
 *   hushed ──(all clear + quiet)──► cancelled       pre-alarm/active ──(all clear + quiet)──► resolved
 *   any open ──(station)──► resolved                escalated: closed only by the station
 *   drill (station / team leader) ──► active, never escalated ──(station, or its duration)──► resolved
 */
import type { Actor, DeviceAlarmKind, DeviceEvent, DispatchState, ResponseKind, TelemetryReading } from '../protocol/schema.ts';
import { isAlarmKind, isOpenState } from '../protocol/schema.ts';
import { ERROR_CODES } from '../protocol/errors.ts';
import {
  alarmView,
  newAlarmRecord,
  unique,
  type AlarmRecord,
  type Cause,
  type DeviceSource,
  type Directory,
  type Effect,
  type EngineSettings,
  type EscalationReason,
  type ResponseOutcome,
} from './alarm-record.ts';
import { FireEvidence, type Evidence } from './fire-evidence.ts';

export type { AlarmRecord, Cause, DeviceSource, Directory, Effect, EngineSettings, EscalationReason, HouseholdInfo, ResponseOutcome } from './alarm-record.ts';

const timer = (reason: string): Cause => ({ by: { kind: 'hub', reason }, via: 'timer' });
const deviceCause = (src: DeviceSource): Cause => ({ by: { kind: 'device', id: src.device }, via: 'mqtt' });
const DEFAULT_DRILL_MS = 15 * 60_000;

export class AlarmEngine {
  private alarms = new Map<string, AlarmRecord>();
  /** household → its open alarm id */
  private openByHousehold = new Map<string, string>();
  private readonly evidence = new FireEvidence();
  /** Who caused the input being handled (inputs are synchronous: one at a time). */
  private cause: Cause = timer('start');

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
      if (r.kind !== 'drill') this.openByHousehold.set(r.originHousehold, r.id);
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

  /** The earliest pending deadline (verify, escalate, resolve, hush), for the caller's single timer. */
  nextDeadline(): number | null {
    let next: number | null = null;
    for (const a of this.alarms.values()) {
      for (const d of [a.verifyDeadline, a.escalateDeadline, a.resolveDeadline, a.hushDeadline ?? null]) {
        if (d !== null && (next === null || d < next)) next = d;
      }
    }
    return next;
  }

  /** Open alarms a household must see right now (origin's own, or its team's alerted ones). */
  alarmsConcerning(household: string): ReturnType<AlarmEngine['view']>[] {
    const team = this.directory.household(household)?.team;
    if (team === undefined) return [];
    const out = [];
    for (const a of this.alarms.values()) {
      if (a.team !== team) {
        if (a.neighboursAlerted && a.nearby?.includes(household)) out.push({ ...this.view(a), nearby: true });
        continue;
      }
      if (a.originHousehold === household || a.neighboursAlerted || Object.values(a.alarming).includes(household)) out.push(this.view(a));
    }
    return out;
  }

  view(a: AlarmRecord) {
    const v = alarmView(a, this.directory);
    if (a.kind === 'drill') return v;
    // Each household has its own alarm; `households` also names the team's other households whose
    // devices are alarming now (their alarms escalate together: multiple-households).
    const others: string[] = [];
    for (const x of this.alarms.values()) {
      if (x !== a && x.team === a.team && x.kind !== 'drill') others.push(...Object.values(x.alarming));
    }
    if (others.length > 0) v.households = [...new Set([...(v.households ?? []), ...others])];
    return v;
  }

  // ---- inputs -------------------------------------------------------------------------------

  /** A validated, de-duplicated device event (it came over MQTT from the device itself). */
  handleDeviceEvent(src: DeviceSource, event: DeviceEvent, now: number): Effect[] {
    this.cause = deviceCause(src);
    const type = event.type;
    if (event.level !== undefined && (type === 'smoke' || type === 'clear')) this.evidence.recordSmokeLevel(src.device, now, event.level);
    if (isAlarmKind(type)) return this.onAlarmSignal(src, type, now, { device: src.device, kind: type });
    if (type === 'clear') return this.onClear(src, now);
    if (type === 'hush') return this.onHush(src, now);
    // test (self-test), fault, tamper: never open, change or close an alarm.
    return [];
  }

  /**
   * Validated telemetry of a device. Fire evidence re-raises the household's hushed alarm, or opens
   * a `heat` alarm when none is open (a detector whose event was lost).
   */
  handleTelemetry(src: DeviceSource, reading: TelemetryReading, now: number): Effect[] {
    const { temperature, smoke } = reading.values;
    if (temperature === undefined && smoke === undefined) return [];
    this.cause = deviceCause(src);
    let found: Evidence | null = this.evidence.record(src.device, reading.ts ?? now, { temperature, smoke });
    const a = this.openAlarmOf(src.household);
    if (a?.state === 'hushed') {
      found ??= FireEvidence.smokeRising(smoke, a.hushSmoke?.[src.device]);
      if (!found) return [];
      a.alarming[src.device] = src.household;
      a.resolveDeadline = null;
      return this.reRaise(a, now, found.kind, { device: src.device, value: found.value });
    }
    if (!found || a) return [];
    return this.onAlarmSignal(src, 'heat', now, { device: src.device, kind: 'heat', evidence: found.kind, value: found.value });
  }

  /** A household's response (its device, its user, or the station on its behalf: `cause.by` says who). */
  handleResponse(household: string, alarmId: string, response: ResponseKind, now: number, cause: Cause): ResponseOutcome {
    this.cause = cause;
    const a = this.alarms.get(alarmId);
    if (!a) return { ok: false, code: ERROR_CODES.NOT_FOUND, message: `no open alarm ${alarmId}` };
    const team = this.directory.household(household)?.team;
    const nearby = a.neighboursAlerted && (a.nearby?.includes(household) ?? false);
    if (team !== a.team && !nearby) return { ok: false, code: ERROR_CODES.FORBIDDEN, message: `household ${household} is not in team ${a.team}` };
    const isOrigin = household === a.originHousehold;
    if (response === 'false-alarm') {
      if (!isOrigin) return { ok: false, code: ERROR_CODES.CONFLICT, message: 'only the origin household can report a false alarm' };
      if (a.kind === 'drill') return { ok: false, code: ERROR_CODES.CONFLICT, message: 'a drill is not a false alarm: the station or the team leader ends it' };
      return { ok: true, effects: this.falseAlarmFromOrigin(a, now, household) };
    }
    const existing = a.responders.find((r) => r.household === household);
    const entry = { household, response, at: now, by: cause.by, via: cause.via };
    if (existing) Object.assign(existing, entry);
    else a.responders.push(entry);
    if (a.kind === 'drill' && !a.firstResponses?.some((r) => r.household === household)) (a.firstResponses ??= []).push({ ...entry });
    a.updatedAt = now;
    if (a.kind === 'drill') return { ok: true, effects: this.transition(a, now, 'response', { household, response }) };
    if (response === 'need-help') {
      const effects: Effect[] = [];
      if (a.state === 'hushed') effects.push(...this.reRaise(a, now, 'need-help', { household }));
      if (isOrigin) {
        if (a.state === 'pre-alarm') return { ok: true, effects: this.activate(a, now, 'need-help') };
        if (effects.length > 0) return { ok: true, effects };
      } else if (a.state !== 'escalated') {
        return { ok: true, effects: [...effects, ...this.escalate(a, now, 'neighbour-need-help', { household })] };
      }
    }
    return { ok: true, effects: this.transition(a, now, 'response', { household, response }) };
  }

  /** The station closes an alarm (any open state). */
  resolveByStation(alarmId: string, now: number, cause: Cause): ResponseOutcome {
    this.cause = cause;
    const a = this.alarms.get(alarmId);
    if (!a) return { ok: false, code: ERROR_CODES.NOT_FOUND, message: `no open alarm ${alarmId}` };
    return { ok: true, effects: this.close(a, now, 'resolved', 'resolved-by-station', {}) };
  }

  /** The station has seen the alarm, or a truck is on its way (`etaMin` minutes). */
  dispatchByStation(alarmId: string, state: DispatchState, info: { etaMin?: number; note?: string }, now: number, cause: Cause): ResponseOutcome {
    this.cause = cause;
    const a = this.alarms.get(alarmId);
    if (!a) return { ok: false, code: ERROR_CODES.NOT_FOUND, message: `no open alarm ${alarmId}` };
    if (a.kind === 'drill') return { ok: false, code: ERROR_CODES.CONFLICT, message: 'a drill is never dispatched' };
    if (state === 'acknowledged' && a.dispatch?.state === 'dispatched') return { ok: true, effects: [] }; // a truck is already on its way
    const by = cause.by.kind === 'user' ? cause.by.id : cause.by.kind;
    a.dispatch = { state, at: now, by, ...(info.etaMin !== undefined ? { etaMin: info.etaMin } : {}), ...(info.note ? { note: info.note } : {}) };
    return { ok: true, effects: this.transition(a, now, state, { ...info }) };
  }

  /**
   * Starts a drill at `household`: it alerts the team like a real alarm (active at once) but is
   * marked as a drill everywhere, never escalated, never sent to the fire station, and ends by itself
   * after the drill duration. A real alarm of the same household is separate (a real fire during a
   * drill is never taken for the drill).
   */
  startDrill(household: string, now: number, cause: Cause): ResponseOutcome {
    this.cause = cause;
    const h = this.directory.household(household);
    if (!h) return { ok: false, code: ERROR_CODES.NOT_FOUND, message: `no household ${household}` };
    if ([...this.alarms.values()].some((x) => x.kind === 'drill' && x.team === h.team)) {
      return { ok: false, code: ERROR_CODES.CONFLICT, message: `team ${h.team} already has a drill running` };
    }
    const drill: AlarmRecord = {
      ...this.newRecord({ team: h.team, household, device: '' }, 'drill', now),
      state: 'active',
      neighboursAlerted: true,
      verifyDeadline: null,
      resolveDeadline: now + (this.settings.drillDurationMs ?? DEFAULT_DRILL_MS),
      firstResponses: [],
    };
    this.alarms.set(drill.id, drill);
    return { ok: true, effects: this.transition(drill, now, 'drill-started', { household }) };
  }

  /** Fires every deadline that is due at `now`. */
  tick(now: number): Effect[] {
    const effects: Effect[] = [];
    for (const a of [...this.alarms.values()]) {
      if (a.resolveDeadline !== null && a.resolveDeadline <= now) {
        this.cause = timer(a.kind === 'drill' ? 'drill-duration' : 'resolve-quiet');
        effects.push(...(a.kind === 'drill' ? this.close(a, now, 'resolved', 'drill-ended', {}) : this.closeQuiet(a, now)));
        continue;
      }
      if (a.hushDeadline != null && a.hushDeadline <= now) {
        this.cause = timer('hush-period');
        a.hushDeadline = null;
        if (a.state === 'hushed' && Object.keys(a.alarming).length > 0)
          effects.push(...this.reRaise(a, now, 'hush-expired', { devices: Object.keys(a.alarming) }));
      }
      if (a.verifyDeadline !== null && a.verifyDeadline <= now) {
        this.cause = timer('verify-window');
        a.verifyDeadline = null;
        if (a.state === 'pre-alarm' && Object.keys(a.alarming).length > 0) effects.push(...this.activate(a, now, 'verify-window-elapsed'));
      }
      if (a.escalateDeadline !== null && a.escalateDeadline <= now) {
        this.cause = timer('escalate-after');
        a.escalateDeadline = null;
        if (a.state === 'active') effects.push(...this.escalate(a, now, 'not-cancelled-in-time', {}));
      }
    }
    return effects;
  }

  // ---- transitions --------------------------------------------------------------------------

  private onAlarmSignal(src: DeviceSource, kind: DeviceAlarmKind, now: number, detail: Record<string, unknown>): Effect[] {
    const a = this.openAlarmOf(src.household);
    if (a) {
      const wasAlarming = a.alarming[src.device] !== undefined;
      a.alarming[src.device] = src.household;
      a.resolveDeadline = null;
      if (a.state === 'hushed') {
        if (kind === 'panic') return this.reRaise(a, now, 'panic', { device: src.device });
        if (!wasAlarming) return this.reRaise(a, now, 'new-device', { device: src.device, kind });
        return []; // the hushed device repeating itself: the hush holds (its period is watched)
      }
      const secondDevice = !wasAlarming && Object.keys(a.alarming).length >= 2;
      if (a.state === 'pre-alarm' && (kind === 'panic' || secondDevice || a.verifyDeadline === null)) {
        return this.activate(a, now, kind === 'panic' ? 'panic' : secondDevice ? 'second-device' : 'smoke-after-window');
      }
      if (!wasAlarming) return this.transition(a, now, 'device-alarming', detail);
      return []; // the same device repeating itself: no new fan-out
    }
    const immediate = kind === 'panic' || this.settings.verifyWindowMs === 0;
    const created = this.newRecord(src, kind, now);
    if (immediate) created.verifyDeadline = null;
    this.alarms.set(created.id, created);
    this.openByHousehold.set(src.household, created.id);
    const effects = this.transition(created, now, 'raised', detail);
    if (immediate) effects.push(...this.activate(created, now, kind === 'panic' ? 'panic' : 'no-verify-window'));
    effects.push(...this.crossEscalate(created.team, now));
    return effects;
  }

  private newRecord(src: DeviceSource, kind: AlarmRecord['kind'], now: number): AlarmRecord {
    return newAlarmRecord(this.newId(now), src, kind, now, now + this.settings.verifyWindowMs);
  }

  private onClear(src: DeviceSource, now: number): Effect[] {
    const a = this.openAlarmOf(src.household);
    if (!a || a.alarming[src.device] === undefined) return [];
    delete a.alarming[src.device];
    // An escalated alarm is closed only by the station; the others once quiet.
    if (Object.keys(a.alarming).length === 0 && a.state !== 'escalated') a.resolveDeadline = now + this.settings.resolveQuietMs;
    const effects = this.transition(a, now, 'device-cleared', { device: src.device });
    if (a.resolveDeadline !== null && a.resolveDeadline <= now) effects.push(...this.closeQuiet(a, now));
    return effects;
  }

  /** Every device cleared and stayed quiet: a hushed alarm was a false alarm, any other is over. */
  private closeQuiet(a: AlarmRecord, now: number): Effect[] {
    if (a.state !== 'hushed') return this.close(a, now, 'resolved', 'all-clear', {});
    a.falseAlarm = true;
    return this.close(a, now, 'cancelled', 'confirmed-false', {});
  }

  /** A device of the household pressed hush: silence, never cancel. */
  private onHush(src: DeviceSource, now: number): Effect[] {
    const a = this.openAlarmOf(src.household);
    if (!a) return [];
    if (a.state === 'pre-alarm') return this.hush(a, now, 'hush', { device: src.device });
    if (a.state === 'active' || a.state === 'escalated') {
      a.silencedAt = now;
      return [...this.transition(a, now, 'silenced', { device: src.device }), this.silenceCommand(a)];
    }
    return []; // already hushed: the hush period is not extended
  }

  private falseAlarmFromOrigin(a: AlarmRecord, now: number, household: string): Effect[] {
    if (a.state === 'pre-alarm' || a.state === 'active') return this.hush(a, now, 'false-alarm', { household });
    if (a.state === 'escalated') {
      a.originSaysFalseAlarm = true;
      return this.transition(a, now, 'false-alarm-reported', { household });
    }
    return []; // already hushed
  }

  /** The origin household silenced it: neighbours stand down, the hub watches it for the hush period. */
  private hush(a: AlarmRecord, now: number, how: 'hush' | 'false-alarm', detail: Record<string, unknown>): Effect[] {
    a.state = 'hushed';
    a.hushedAt = now;
    a.hushDeadline = now + this.settings.hushPeriodMs;
    a.verifyDeadline = null;
    a.escalateDeadline = null;
    a.hushSmoke = {};
    for (const device of Object.keys(a.alarming)) {
      const level = this.evidence.smokeLevel(device);
      if (level !== null) a.hushSmoke[device] = level;
    }
    return [...this.transition(a, now, 'hushed', { how, ...detail }), this.silenceCommand(a)];
  }

  /** A hushed alarm shows fire again: straight to active (no second verify window), neighbours alerted. */
  private reRaise(a: AlarmRecord, now: number, why: string, detail: Record<string, unknown>): Effect[] {
    if (a.state !== 'hushed') return [];
    a.state = 'active';
    a.hushDeadline = null;
    a.hushSmoke = {};
    a.resolveDeadline = null;
    a.silencedAt = null;
    this.alertNeighbours(a);
    a.escalateDeadline = now + this.settings.escalateAfterMs;
    return this.transition(a, now, 're-raised', { why, ...detail });
  }

  private activate(a: AlarmRecord, now: number, why: string): Effect[] {
    if (a.state !== 'pre-alarm') return [];
    a.state = 'active';
    a.verifyDeadline = null;
    this.alertNeighbours(a);
    a.escalateDeadline = now + this.settings.escalateAfterMs;
    return this.transition(a, now, 'activated', { why });
  }

  /** The team, and the households of other teams nearby (fixed at the first alert: who was told stays told). */
  private alertNeighbours(a: AlarmRecord): void {
    if (!a.neighboursAlerted) a.nearby = this.directory.nearbyHouseholds?.(a.originHousehold) ?? [];
    a.neighboursAlerted = true;
  }

  private escalate(a: AlarmRecord, now: number, reason: EscalationReason, detail: Record<string, unknown>): Effect[] {
    if (!isOpenState(a.state) || a.state === 'escalated' || a.kind === 'drill') return [];
    a.state = 'escalated';
    a.escalation = reason;
    this.alertNeighbours(a);
    a.verifyDeadline = a.escalateDeadline = a.resolveDeadline = null;
    a.hushDeadline = null;
    return this.transition(a, now, 'escalated', { reason, ...detail });
  }

  /** Two or more households of one team alarming at once: every open alarm of the team escalates. */
  private crossEscalate(team: string, now: number): Effect[] {
    const open = [...this.alarms.values()].filter((x) => x.team === team && x.kind !== 'drill');
    if (open.length < 2) return [];
    const effects: Effect[] = [];
    for (const x of open) effects.push(...this.escalate(x, now, 'multiple-households', { households: open.map((o) => o.originHousehold) }));
    return effects;
  }

  private close(a: AlarmRecord, now: number, state: 'cancelled' | 'resolved', transition: string, detail: Record<string, unknown>): Effect[] {
    if (!isOpenState(a.state)) return [];
    a.state = state;
    a.closedAt = now;
    a.verifyDeadline = a.escalateDeadline = a.resolveDeadline = null;
    a.hushDeadline = null;
    const effects = this.transition(a, now, transition, detail);
    this.alarms.delete(a.id);
    if (this.openByHousehold.get(a.originHousehold) === a.id) this.openByHousehold.delete(a.originHousehold);
    return effects;
  }

  private silenceCommand(a: AlarmRecord): Effect {
    return { type: 'command', household: a.originHousehold, command: { cmd: 'silence', alarm: a.id } };
  }

  /** Journal the new state, then announce it to whoever it concerns. */
  private transition(a: AlarmRecord, now: number, transition: string, detail: Record<string, unknown>): Effect[] {
    a.updatedAt = now;
    const households = a.neighboursAlerted ? this.directory.householdsOfTeam(a.team) : unique([a.originHousehold, ...Object.values(a.alarming)]);
    const nearby = a.neighboursAlerted ? [...(a.nearby ?? [])] : [];
    const by: Actor = { ...this.cause.by };
    return [
      { type: 'journal', record: structuredClone(a), transition, detail, by, via: this.cause.via },
      { type: 'announce', view: this.view(a), households, nearby, station: true },
    ];
  }
}
