/**
 * Which alarms make this household's sounder ring, and when it stops. Pure and synchronous:
 * it takes alarm views, the hub's retained open-alarm state, hub commands and button presses,
 * and answers with actions for the board (sound, stand down, silence) and the hub (hush).
 *
 * Rules (docs/bridge.md):
 * - own alarm in `pre-alarm`, `active` or `escalated` → sound (pre-alarm included: NFPA 72 interconnect);
 * - a neighbour's alarm once `active` or `escalated` → sound (its pre-alarm is not ours to hear);
 * - `hushed`: a neighbour's alarm stands down (the household says it is under control); the own
 *   household's is silenced (its sounders quiet while the hub watches it);
 * - `cancelled` / `resolved`, or missing from the retained open-alarm state → stand down;
 * - `hushed` → `active`/`escalated` (re-raised: fire evidence, hush period over) → sound again,
 *   even if it was silenced;
 * - a local silence press quiets every sounding alarm; during the household's own alarm it also
 *   sends `hush` (in pre-alarm the hub hushes it; in active/escalated it only silences the
 *   household's sounders). A neighbour's alarm silenced locally sounds again if it escalates; the
 *   own alarm does unless the hub recorded the silence (`silencedAt`); a new alarm always sounds;
 * - after a reconnect the hub re-sends every open alarm of the team and its retained open-alarm
 *   state: alarms not in that state (or, from a hub without it, not re-sent within the resync
 *   window) closed while the link was down and are stood down.
 */
import { isOpenState, type AlarmKind, type AlarmState, type AlarmView, type DeviceCommand, type OpenAlarmsState } from '../protocol/schema.ts';
import { isAlarmKind } from '../protocol/schema.ts';

/** Alarms the board raised itself, before (or without) the hub's view. */
export const LOCAL_PREFIX = 'local-';
/** Alarms a hub `sound` command named without an alarm id. */
export const CMD_PREFIX = 'cmd-';

export interface TrackedAlarm {
  alarm: string;
  kind: AlarmKind;
  origin: string;
  state: AlarmState;
  silenced: boolean;
  own: boolean;
  /** Where it came from: a hub alarm view, a hub `sound` command, or the board itself. */
  source: 'view' | 'command' | 'local';
  /** `updatedAt` of the last view (0 when not from a view). */
  updatedAt: number;
  /** The hub-recorded silence (`silencedAt` of the view) already applied. */
  silencedAt: number | null;
}

export type AlertAction =
  | { do: 'sound'; alarm: string; kind: AlarmKind; origin: string; own: boolean }
  | { do: 'stand-down'; alarm: string }
  | { do: 'silence' }
  | { do: 'hush'; alarm: string }
  | { do: 'test' };

const LOUD_STATES: readonly AlarmState[] = ['active', 'escalated'];

/** Does this view mean "ring" for `household`? (Silences are the tracker's business.) */
export function viewSounds(view: Pick<AlarmView, 'state'> & { origin: { household: string } }, household: string): boolean {
  if (!isOpenState(view.state) || view.state === 'hushed') return false;
  if (view.origin.household === household) return true;
  return LOUD_STATES.includes(view.state);
}

export class AlertTracker {
  private readonly alarms = new Map<string, TrackedAlarm>();
  private unconfirmed: Set<string> | null = null;

  constructor(readonly household: string) {}

  /** An alarm view from the household's `alert` topic (or from its retained open-alarm state). */
  onView(view: AlarmView): AlertAction[] {
    this.unconfirmed?.delete(view.alarm);
    const known = this.alarms.get(view.alarm);
    const own = view.origin.household === this.household;
    if (!isOpenState(view.state)) {
      if (!known) return [];
      this.alarms.delete(view.alarm);
      return [{ do: 'stand-down', alarm: view.alarm }, ...this.silenceIfQuiet()];
    }
    if (view.state === 'hushed') {
      // Own: the board's local alarm (the same smoke) goes quiet too, even before the hub's first view.
      if (!known) return own ? this.silenceOwn(null) : [];
      known.updatedAt = view.updatedAt;
      if (!own) {
        // The origin household says it is under control: neighbours stand down.
        this.alarms.delete(view.alarm);
        return [{ do: 'stand-down', alarm: view.alarm }, ...this.silenceIfQuiet()];
      }
      known.state = 'hushed';
      return this.silenceOwn(known);
    }
    if (!viewSounds(view, this.household)) {
      // e.g. a neighbour's pre-alarm: nothing to hear (yet).
      if (known) known.state = view.state;
      return [];
    }
    const hubSilenced = own && view.silencedAt != null;
    if (!known) {
      this.alarms.set(view.alarm, {
        alarm: view.alarm,
        kind: view.kind,
        origin: view.origin.household,
        state: view.state,
        own,
        silenced: hubSilenced,
        source: 'view',
        updatedAt: view.updatedAt,
        silencedAt: hubSilenced ? view.silencedAt! : null,
      });
      // The household silenced it already (e.g. the bridge restarted after a hush): stay quiet.
      return hubSilenced ? [] : [{ do: 'sound', alarm: view.alarm, kind: view.kind, origin: view.origin.household, own }];
    }
    const reRaised = known.state === 'hushed';
    const escalatedNow = view.state === 'escalated' && known.state !== 'escalated';
    known.state = view.state;
    known.kind = view.kind;
    known.source = 'view';
    known.updatedAt = view.updatedAt;
    const sound: AlertAction = { do: 'sound', alarm: known.alarm, kind: known.kind, origin: known.origin, own };
    if (reRaised) {
      // Back from hushed: fire again. Sound even if it was silenced.
      known.silenced = false;
      known.silencedAt = view.silencedAt ?? null;
      return [sound];
    }
    if (hubSilenced && view.silencedAt !== known.silencedAt) {
      // A device of the household pressed hush during the confirmed alarm: its sounders go quiet.
      known.silencedAt = view.silencedAt!;
      return this.silenceOwn(known);
    }
    if (known.silenced && escalatedNow && !hubSilenced) {
      known.silenced = false;
      return [sound];
    }
    return [];
  }

  /**
   * The hub's retained open-alarm state for this household (`smokehub/h/H/alarms`): every alarm
   * it tracks that is not open any more is stood down; the open ones are applied as views.
   */
  onOpenState(state: OpenAlarmsState): AlertAction[] {
    // The hub said what is open: no need to wait for re-sends.
    this.unconfirmed = null;
    const open = new Set(state.open.map((v) => v.alarm));
    const actions: AlertAction[] = [];
    for (const a of [...this.alarms.values()]) {
      if (a.source !== 'view' || open.has(a.alarm)) continue;
      // A view newer than this state (it was built before that view): keep it.
      if (a.updatedAt > state.at) continue;
      this.alarms.delete(a.alarm);
      actions.push({ do: 'stand-down', alarm: a.alarm });
    }
    for (const v of state.open) actions.push(...this.onView(v).filter((x) => x.do !== 'silence'));
    return actions.length > 0 ? [...actions, ...this.silenceIfQuiet()] : [];
  }

  /**
   * The household's own board detected something: sound at once, without waiting for the hub
   * (a smoke alarm rings where the smoke is, hub or no hub). Tracked as `local-<kind>` in
   * pre-alarm until the board reports `clear`; a silence press during it sends `hush`.
   */
  onLocalEvent(type: string): AlertAction[] {
    if (type === 'clear') {
      const local = [...this.alarms.values()].filter((a) => a.source === 'local');
      if (local.length === 0) return [];
      for (const a of local) this.alarms.delete(a.alarm);
      return [...local.map((a) => ({ do: 'stand-down' as const, alarm: a.alarm })), ...this.silenceIfQuiet()];
    }
    // A panic is a person's call: the hub's alarm (no verify window) rings the house.
    if (!isAlarmKind(type) || type === 'panic') return [];
    const alarm = `${LOCAL_PREFIX}${type}`;
    const known = this.alarms.get(alarm);
    if (known && !known.silenced) return [];
    this.alarms.set(alarm, {
      alarm,
      kind: type,
      origin: this.household,
      state: 'pre-alarm',
      silenced: false,
      own: true,
      source: 'local',
      updatedAt: 0,
      silencedAt: null,
    });
    return [{ do: 'sound', alarm, kind: type, origin: this.household, own: true }];
  }

  /** A command from the device's `cmd` topic. */
  onCommand(cmd: DeviceCommand): AlertAction[] {
    switch (cmd.cmd) {
      case 'test':
        return [{ do: 'test' }];
      case 'sound': {
        const kind: AlarmKind = typeof cmd.kind === 'string' && isAlarmKind(cmd.kind) ? cmd.kind : 'smoke';
        const origin = typeof cmd.origin === 'string' ? cmd.origin : this.household;
        const alarm = typeof cmd.alarm === 'string' && cmd.alarm.length > 0 ? cmd.alarm : `${CMD_PREFIX}${origin}-${kind}`;
        const known = this.alarms.get(alarm);
        if (known && !known.silenced) return [];
        const own = origin === this.household;
        if (known) known.silenced = false;
        else this.alarms.set(alarm, { alarm, kind, origin, state: 'active', silenced: false, own, source: 'command', updatedAt: 0, silencedAt: null });
        return [{ do: 'sound', alarm, kind, origin, own }];
      }
      case 'silence': {
        // Alarms the hub sent views for stay tracked (silenced): a repeated view must not ring again.
        if (typeof cmd.alarm === 'string' && cmd.alarm.length > 0) {
          const known = this.alarms.get(cmd.alarm);
          // The hub silences the origin household's sounders: an alarm we have no view of yet is ours.
          if (!known) return this.silenceOwn(null);
          if (known.source === 'command') {
            this.alarms.delete(cmd.alarm);
            return [{ do: 'stand-down', alarm: cmd.alarm }, ...this.silenceIfQuiet()];
          }
          if (known.own) return this.silenceOwn(known);
          if (known.silenced) return [];
          known.silenced = true;
          return this.silenceIfQuiet();
        }
        const actions: AlertAction[] = [];
        for (const a of [...this.alarms.values()]) {
          if (a.source === 'command') {
            this.alarms.delete(a.alarm);
            actions.push({ do: 'stand-down', alarm: a.alarm });
          } else {
            a.silenced = true;
          }
        }
        return [...actions, { do: 'silence' }];
      }
      default:
        return [];
    }
  }

  /**
   * The local silence/hush press. Returns [] when nothing was sounding (the caller may then
   * treat the press as something else, e.g. a panic button).
   */
  onSilencePress(): AlertAction[] {
    const audible = [...this.alarms.values()].filter((a) => !a.silenced);
    if (audible.length === 0) return [];
    const actions: AlertAction[] = [];
    for (const a of audible) {
      a.silenced = true;
      // Own alarm: the hub hushes a pre-alarm and records the silence of a confirmed one.
      if (a.own && (a.source === 'local' || a.state === 'pre-alarm' || LOUD_STATES.includes(a.state))) actions.push({ do: 'hush', alarm: a.alarm });
    }
    actions.push({ do: 'silence' });
    return actions;
  }

  /** The link (re)connected: hub alarms not re-sent (or not in the retained state) before `endResync()` are stale. */
  beginResync(): void {
    this.unconfirmed = new Set([...this.alarms.values()].filter((a) => a.source === 'view').map((a) => a.alarm));
  }

  endResync(): AlertAction[] {
    const stale = this.unconfirmed;
    this.unconfirmed = null;
    if (!stale || stale.size === 0) return [];
    const actions: AlertAction[] = [];
    for (const id of stale) {
      if (this.alarms.delete(id)) actions.push({ do: 'stand-down', alarm: id });
    }
    return actions.length > 0 ? [...actions, ...this.silenceIfQuiet()] : [];
  }

  /** Is anything sounding right now (not silenced)? */
  isSounding(): boolean {
    for (const a of this.alarms.values()) if (!a.silenced) return true;
    return false;
  }

  /** The household's own open alarm in pre-alarm, if any. */
  ownPreAlarm(): TrackedAlarm | undefined {
    for (const a of this.alarms.values()) if (a.own && a.state === 'pre-alarm') return a;
    return undefined;
  }

  tracked(): TrackedAlarm[] {
    return [...this.alarms.values()].map((a) => ({ ...a }));
  }

  /**
   * The hub silenced the household's own alarm (hushed, or a hush during the confirmed alarm):
   * it and the board's own local alarms (the same smoke) go quiet; neighbours' alarms keep sounding.
   */
  private silenceOwn(which: TrackedAlarm | null): AlertAction[] {
    let changed = false;
    for (const a of this.alarms.values()) {
      if (a.silenced || (a !== which && a.source !== 'local')) continue;
      a.silenced = true;
      changed = true;
    }
    return changed ? this.silenceIfQuiet() : [];
  }

  private silenceIfQuiet(): AlertAction[] {
    return this.isSounding() ? [] : [{ do: 'silence' }];
  }
}
