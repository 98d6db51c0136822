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
 *
 * This file is the inputs (device events, telemetry, responses, the station, drills, deadlines)
 * and what each means; the state changes they share are in alarm-transitions.ts, the open alarms
 * in open-alarms.ts, what people are shown of them in alarm-views.ts.
 */
import type { AlarmView, DeviceAlarmKind, DeviceEvent, DispatchState, ResponseKind, TelemetryReading } from '../protocol/schema.ts';
import { isAlarmKind, isOpenState } from '../protocol/schema.ts';
import { ERROR_CODES } from '../protocol/errors.ts';
import {
  newAlarmRecord,
  type AlarmRecord,
  type Cause,
  type DeviceSource,
  type Directory,
  type Effect,
  type EngineSettings,
  type ResponseOutcome,
} from './alarm-record.ts';
import { AlarmTransitions } from './alarm-transitions.ts';
import { alarmsConcerning, teamAlarmView } from './alarm-views.ts';
import { FireEvidence, type Evidence } from './fire-evidence.ts';
import { OpenAlarms } from './open-alarms.ts';

export { recordNextDeadline } from './alarm-record.ts';
export type { AlarmRecord, Cause, DeviceSource, Directory, Effect, EngineSettings, EscalationReason, HouseholdInfo, ResponseOutcome } from './alarm-record.ts';

const timer = (reason: string): Cause => ({ by: { kind: 'hub', reason }, via: 'timer' });
const deviceCause = (src: DeviceSource): Cause => ({ by: { kind: 'device', id: src.device }, via: 'mqtt' });
const DEFAULT_DRILL_MS = 15 * 60_000;

export class AlarmEngine {
  private readonly open = new OpenAlarms();
  private readonly evidence = new FireEvidence();
  /** Who caused the input being handled (inputs are synchronous: one at a time). */
  private cause: Cause = timer('start');
  private readonly tx: AlarmTransitions;

  constructor(
    private readonly settings: EngineSettings,
    private readonly directory: Directory,
    private readonly newId: (now: number) => string,
  ) {
    this.tx = new AlarmTransitions(settings, directory, this.open, this.evidence, () => this.cause);
  }

  /** Loads open alarms from the journal after a restart (timers continue from their deadlines). */
  restore(records: AlarmRecord[]): void {
    for (const r of records) {
      if (!isOpenState(r.state)) continue;
      this.open.add(structuredClone(r));
    }
  }

  /**
   * Makes `records` the team's open alarms, replacing what this engine had of that team (a cluster
   * node does this under the team's lock, from the shared journal, before each input of the team).
   * The records are copied; closed ones are ignored; other teams and fire evidence are untouched.
   */
  syncTeam(team: string, records: AlarmRecord[]): void {
    this.open.replaceTeam(
      team,
      records.filter((r) => isOpenState(r.state)).map((r) => structuredClone(r)),
    );
  }

  /** The team's open alarms (live records, oldest first). */
  openAlarmsOf(team: string): AlarmRecord[] {
    return this.open.ofTeam(team);
  }

  get(id: string): AlarmRecord | undefined {
    return this.open.get(id);
  }

  openAlarms(): AlarmRecord[] {
    return this.open.all();
  }

  openAlarmOf(household: string): AlarmRecord | undefined {
    return this.open.ofHousehold(household);
  }

  /** The earliest pending deadline (verify, escalate, resolve, hush), for the caller's single timer. */
  nextDeadline(): number | null {
    return this.open.nextDeadline();
  }

  /** Open alarms a household must see right now (origin's own, or its team's alerted ones). */
  alarmsConcerning(household: string): AlarmView[] {
    return alarmsConcerning(household, this.open, this.directory);
  }

  /** The view of an open (or just closed) alarm, with the team's other alarming households. */
  view(a: AlarmRecord): AlarmView {
    return teamAlarmView(a, this.open, this.directory);
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
      return this.tx.reRaise(a, now, found.kind, { device: src.device, value: found.value });
    }
    if (!found || a) return [];
    return this.onAlarmSignal(src, 'heat', now, { device: src.device, kind: 'heat', evidence: found.kind, value: found.value });
  }

  /** A household's response (its device, its user, or the station on its behalf: `cause.by` says who). */
  handleResponse(household: string, alarmId: string, response: ResponseKind, now: number, cause: Cause): ResponseOutcome {
    this.cause = cause;
    const a = this.open.get(alarmId);
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
    if (a.kind === 'drill') return { ok: true, effects: this.tx.transition(a, now, 'response', { household, response }) };
    if (response === 'need-help') {
      const effects: Effect[] = [];
      if (a.state === 'hushed') effects.push(...this.tx.reRaise(a, now, 'need-help', { household }));
      if (isOrigin) {
        if (a.state === 'pre-alarm') return { ok: true, effects: this.tx.activate(a, now, 'need-help') };
        if (effects.length > 0) return { ok: true, effects };
      } else if (a.state !== 'escalated') {
        return { ok: true, effects: [...effects, ...this.tx.escalate(a, now, 'neighbour-need-help', { household })] };
      }
    }
    return { ok: true, effects: this.tx.transition(a, now, 'response', { household, response }) };
  }

  /** The station closes an alarm (any open state). */
  resolveByStation(alarmId: string, now: number, cause: Cause): ResponseOutcome {
    this.cause = cause;
    const a = this.open.get(alarmId);
    if (!a) return { ok: false, code: ERROR_CODES.NOT_FOUND, message: `no open alarm ${alarmId}` };
    return { ok: true, effects: this.tx.close(a, now, 'resolved', 'resolved-by-station', {}) };
  }

  /** The station has seen the alarm, or a truck is on its way (`etaMin` minutes). */
  dispatchByStation(alarmId: string, state: DispatchState, info: { etaMin?: number; note?: string }, now: number, cause: Cause): ResponseOutcome {
    this.cause = cause;
    const a = this.open.get(alarmId);
    if (!a) return { ok: false, code: ERROR_CODES.NOT_FOUND, message: `no open alarm ${alarmId}` };
    if (a.kind === 'drill') return { ok: false, code: ERROR_CODES.CONFLICT, message: 'a drill is never dispatched' };
    if (state === 'acknowledged' && a.dispatch?.state === 'dispatched') return { ok: true, effects: [] }; // a truck is already on its way
    const by = cause.by.kind === 'user' ? cause.by.id : cause.by.kind;
    a.dispatch = { state, at: now, by, ...(info.etaMin !== undefined ? { etaMin: info.etaMin } : {}), ...(info.note ? { note: info.note } : {}) };
    return { ok: true, effects: this.tx.transition(a, now, state, { ...info }) };
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
    if (this.open.all().some((x) => x.kind === 'drill' && x.team === h.team)) {
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
    this.open.add(drill);
    return { ok: true, effects: this.tx.transition(drill, now, 'drill-started', { household }) };
  }

  /** Fires every deadline that is due at `now` (only the alarms of `team` when given). */
  tick(now: number, team?: string): Effect[] {
    const effects: Effect[] = [];
    for (const a of this.open.all()) {
      if (team !== undefined && a.team !== team) continue;
      if (a.resolveDeadline !== null && a.resolveDeadline <= now) {
        this.cause = timer(a.kind === 'drill' ? 'drill-duration' : 'resolve-quiet');
        effects.push(...(a.kind === 'drill' ? this.tx.close(a, now, 'resolved', 'drill-ended', {}) : this.tx.closeQuiet(a, now)));
        continue;
      }
      if (a.hushDeadline != null && a.hushDeadline <= now) {
        this.cause = timer('hush-period');
        a.hushDeadline = null;
        if (a.state === 'hushed' && Object.keys(a.alarming).length > 0)
          effects.push(...this.tx.reRaise(a, now, 'hush-expired', { devices: Object.keys(a.alarming) }));
      }
      if (a.verifyDeadline !== null && a.verifyDeadline <= now) {
        this.cause = timer('verify-window');
        a.verifyDeadline = null;
        if (a.state === 'pre-alarm' && Object.keys(a.alarming).length > 0) effects.push(...this.tx.activate(a, now, 'verify-window-elapsed'));
      }
      if (a.escalateDeadline !== null && a.escalateDeadline <= now) {
        this.cause = timer('escalate-after');
        a.escalateDeadline = null;
        if (a.state === 'active') effects.push(...this.tx.escalate(a, now, 'not-cancelled-in-time', {}));
      }
    }
    return effects;
  }

  // ---- what each input means ----------------------------------------------------------------

  private onAlarmSignal(src: DeviceSource, kind: DeviceAlarmKind, now: number, detail: Record<string, unknown>): Effect[] {
    const a = this.openAlarmOf(src.household);
    if (a) {
      const wasAlarming = a.alarming[src.device] !== undefined;
      a.alarming[src.device] = src.household;
      a.resolveDeadline = null;
      if (a.state === 'hushed') {
        if (kind === 'panic') return this.tx.reRaise(a, now, 'panic', { device: src.device });
        if (!wasAlarming) return this.tx.reRaise(a, now, 'new-device', { device: src.device, kind });
        return []; // the hushed device repeating itself: the hush holds (its period is watched)
      }
      const secondDevice = !wasAlarming && Object.keys(a.alarming).length >= 2;
      if (a.state === 'pre-alarm' && (kind === 'panic' || secondDevice || a.verifyDeadline === null)) {
        return this.tx.activate(a, now, kind === 'panic' ? 'panic' : secondDevice ? 'second-device' : 'smoke-after-window');
      }
      if (!wasAlarming) return this.tx.transition(a, now, 'device-alarming', detail);
      return []; // the same device repeating itself: no new fan-out
    }
    const immediate = kind === 'panic' || this.settings.verifyWindowMs === 0;
    const created = this.newRecord(src, kind, now);
    if (immediate) created.verifyDeadline = null;
    this.open.add(created);
    const effects = this.tx.transition(created, now, 'raised', detail);
    if (immediate) effects.push(...this.tx.activate(created, now, kind === 'panic' ? 'panic' : 'no-verify-window'));
    effects.push(...this.tx.crossEscalate(created.team, now));
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
    const effects = this.tx.transition(a, now, 'device-cleared', { device: src.device });
    if (a.resolveDeadline !== null && a.resolveDeadline <= now) effects.push(...this.tx.closeQuiet(a, now));
    return effects;
  }

  /** A device of the household pressed hush: silence, never cancel. */
  private onHush(src: DeviceSource, now: number): Effect[] {
    const a = this.openAlarmOf(src.household);
    if (!a) return [];
    if (a.state === 'pre-alarm') return this.tx.hush(a, now, 'hush', { device: src.device });
    if (a.state === 'active' || a.state === 'escalated') {
      a.silencedAt = now;
      return [...this.tx.transition(a, now, 'silenced', { device: src.device }), this.tx.silenceCommand(a)];
    }
    return []; // already hushed: the hush period is not extended
  }

  private falseAlarmFromOrigin(a: AlarmRecord, now: number, household: string): Effect[] {
    if (a.state === 'pre-alarm' || a.state === 'active') return this.tx.hush(a, now, 'false-alarm', { household });
    if (a.state === 'escalated') {
      a.originSaysFalseAlarm = true;
      return this.tx.transition(a, now, 'false-alarm-reported', { household });
    }
    return []; // already hushed
  }
}
