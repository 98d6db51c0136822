/**
 * The alarm engine's state changes, shared by its inputs and deadlines: activate, hush, re-raise,
 * escalate (one alarm, or a team's alarms together), close; each changes the record and returns
 * the effects (journal, then announce). Pure and synchronous: time comes in as `now`, who caused
 * the change through `cause()` (the input being handled).
 */
import type { Actor } from '../protocol/schema.ts';
import { isOpenState } from '../protocol/schema.ts';
import { unique, type AlarmRecord, type Cause, type Directory, type Effect, type EngineSettings, type EscalationReason } from './alarm-record.ts';
import { teamAlarmView } from './alarm-views.ts';
import type { FireEvidence } from './fire-evidence.ts';
import type { OpenAlarms } from './open-alarms.ts';

export class AlarmTransitions {
  constructor(
    private readonly settings: EngineSettings,
    private readonly directory: Directory,
    private readonly open: OpenAlarms,
    private readonly evidence: FireEvidence,
    private readonly cause: () => Cause,
  ) {}

  /** Every device cleared and stayed quiet: a hushed alarm was a false alarm, any other is over. */
  closeQuiet(a: AlarmRecord, now: number): Effect[] {
    if (a.state !== 'hushed') return this.close(a, now, 'resolved', 'all-clear', {});
    a.falseAlarm = true;
    return this.close(a, now, 'cancelled', 'confirmed-false', {});
  }

  /** The origin household silenced it: neighbours stand down, the hub watches it for the hush period. */
  hush(a: AlarmRecord, now: number, how: 'hush' | 'false-alarm', detail: Record<string, unknown>): Effect[] {
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
  reRaise(a: AlarmRecord, now: number, why: string, detail: Record<string, unknown>): Effect[] {
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

  activate(a: AlarmRecord, now: number, why: string): Effect[] {
    if (a.state !== 'pre-alarm') return [];
    a.state = 'active';
    a.verifyDeadline = null;
    this.alertNeighbours(a);
    a.escalateDeadline = now + this.settings.escalateAfterMs;
    return this.transition(a, now, 'activated', { why });
  }

  escalate(a: AlarmRecord, now: number, reason: EscalationReason, detail: Record<string, unknown>): Effect[] {
    if (!isOpenState(a.state) || a.state === 'escalated' || a.kind === 'drill') return [];
    a.state = 'escalated';
    a.escalation = reason;
    this.alertNeighbours(a);
    a.verifyDeadline = a.escalateDeadline = a.resolveDeadline = null;
    a.hushDeadline = null;
    return this.transition(a, now, 'escalated', { reason, ...detail });
  }

  /** Two or more households of one team alarming at once: every open alarm of the team escalates. */
  crossEscalate(team: string, now: number): Effect[] {
    const open = this.open.all().filter((x) => x.team === team && x.kind !== 'drill');
    if (open.length < 2) return [];
    const effects: Effect[] = [];
    for (const x of open) effects.push(...this.escalate(x, now, 'multiple-households', { households: open.map((o) => o.originHousehold) }));
    return effects;
  }

  close(a: AlarmRecord, now: number, state: 'cancelled' | 'resolved', transition: string, detail: Record<string, unknown>): Effect[] {
    if (!isOpenState(a.state)) return [];
    a.state = state;
    a.closedAt = now;
    a.verifyDeadline = a.escalateDeadline = a.resolveDeadline = null;
    a.hushDeadline = null;
    const effects = this.transition(a, now, transition, detail);
    this.open.remove(a);
    return effects;
  }

  silenceCommand(a: AlarmRecord): Effect {
    return { type: 'command', household: a.originHousehold, command: { cmd: 'silence', alarm: a.id } };
  }

  /** Journal the new state, then announce it to whoever it concerns. */
  transition(a: AlarmRecord, now: number, transition: string, detail: Record<string, unknown>): Effect[] {
    a.updatedAt = now;
    const households = a.neighboursAlerted ? this.directory.householdsOfTeam(a.team) : unique([a.originHousehold, ...Object.values(a.alarming)]);
    const nearby = a.neighboursAlerted ? [...(a.nearby ?? [])] : [];
    const cause = this.cause();
    const by: Actor = { ...cause.by };
    return [
      { type: 'journal', record: structuredClone(a), transition, detail, by, via: cause.via },
      { type: 'announce', view: teamAlarmView(a, this.open, this.directory), households, nearby, station: true },
    ];
  }

  /** The team, and the households of other teams nearby (fixed at the first alert: who was told stays told). */
  private alertNeighbours(a: AlarmRecord): void {
    if (!a.neighboursAlerted) a.nearby = this.directory.nearbyHouseholds?.(a.originHousehold) ?? [];
    a.neighboursAlerted = true;
  }
}
