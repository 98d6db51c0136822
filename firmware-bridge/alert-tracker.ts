/**
 * Which alarms make this household's sounder ring, and when it stops. Pure and synchronous:
 * it takes alarm views, hub commands and button presses, and answers with actions for the
 * board (sound, stand down, silence) and the hub (hush).
 *
 * Rules (docs/bridge.md):
 * - own alarm in any open state (pre-alarm included: NFPA 72 interconnect) → sound;
 * - a neighbour's alarm once `active` or `escalated` → sound (its pre-alarm is not ours to hear);
 * - `cancelled` / `resolved` → stand down;
 * - a local silence press quiets every sounding alarm; during the household's own pre-alarm it
 *   also sends `hush` (the hub cancels a false alarm); an alarm that escalates after being
 *   silenced sounds again, and a new alarm always sounds;
 * - after a reconnect the hub re-sends every open alarm of the team: alarms not re-sent within
 *   the resync window closed while the link was down and are stood down.
 */
import { isOpenState, type AlarmKind, type AlarmState, type AlarmView, type DeviceCommand } from '../hub/protocol/schema.ts';
import { isAlarmKind } from '../hub/protocol/schema.ts';

/** Alarms the board raised itself, before (or without) the hub's view. */
export const LOCAL_PREFIX = 'local-';

export interface TrackedAlarm {
  alarm: string;
  kind: AlarmKind;
  origin: string;
  state: AlarmState;
  silenced: boolean;
  own: boolean;
}

export type AlertAction =
  | { do: 'sound'; alarm: string; kind: AlarmKind; origin: string; own: boolean }
  | { do: 'stand-down'; alarm: string }
  | { do: 'silence' }
  | { do: 'hush'; alarm: string }
  | { do: 'test' };

/** Does this view mean "ring" for `household`? */
export function viewSounds(view: Pick<AlarmView, 'state'> & { origin: { household: string } }, household: string): boolean {
  if (!isOpenState(view.state)) return false;
  if (view.origin.household === household) return true;
  return view.state === 'active' || view.state === 'escalated';
}

export class AlertTracker {
  private readonly alarms = new Map<string, TrackedAlarm>();
  private unconfirmed: Set<string> | null = null;

  constructor(readonly household: string) {}

  /** An alarm view from the household's `alert` topic. */
  onView(view: AlarmView): AlertAction[] {
    this.unconfirmed?.delete(view.alarm);
    const known = this.alarms.get(view.alarm);
    const own = view.origin.household === this.household;
    if (!isOpenState(view.state)) {
      if (!known) return [];
      this.alarms.delete(view.alarm);
      return [{ do: 'stand-down', alarm: view.alarm }, ...this.silenceIfQuiet()];
    }
    if (!viewSounds(view, this.household)) {
      // e.g. a neighbour's pre-alarm: nothing to hear (yet).
      if (known) known.state = view.state;
      return [];
    }
    if (!known) {
      this.alarms.set(view.alarm, { alarm: view.alarm, kind: view.kind, origin: view.origin.household, state: view.state, silenced: false, own });
      return [{ do: 'sound', alarm: view.alarm, kind: view.kind, origin: view.origin.household, own }];
    }
    const escalatedNow = view.state === 'escalated' && known.state !== 'escalated';
    known.state = view.state;
    known.kind = view.kind;
    if (known.silenced && escalatedNow) {
      known.silenced = false;
      return [{ do: 'sound', alarm: known.alarm, kind: known.kind, origin: known.origin, own }];
    }
    return [];
  }

  /**
   * The household's own board detected something: sound at once, without waiting for the hub
   * (a smoke alarm rings where the smoke is, hub or no hub). Tracked as `local-<kind>` in
   * pre-alarm until the board reports `clear`; a silence press during it sends `hush`.
   */
  onLocalEvent(type: string): AlertAction[] {
    if (type === 'clear') {
      const local = [...this.alarms.values()].filter((a) => a.alarm.startsWith(LOCAL_PREFIX));
      if (local.length === 0) return [];
      for (const a of local) this.alarms.delete(a.alarm);
      return [...local.map((a) => ({ do: 'stand-down' as const, alarm: a.alarm })), ...this.silenceIfQuiet()];
    }
    // A panic is a person's call: the hub's alarm (no verify window) rings the house.
    if (!isAlarmKind(type) || type === 'panic') return [];
    const alarm = `${LOCAL_PREFIX}${type}`;
    const known = this.alarms.get(alarm);
    if (known && !known.silenced) return [];
    this.alarms.set(alarm, { alarm, kind: type, origin: this.household, state: 'pre-alarm', silenced: false, own: true });
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
        const alarm = typeof cmd.alarm === 'string' && cmd.alarm.length > 0 ? cmd.alarm : `cmd-${origin}-${kind}`;
        const known = this.alarms.get(alarm);
        if (known && !known.silenced) return [];
        const own = origin === this.household;
        this.alarms.set(alarm, { alarm, kind, origin, state: known?.state ?? 'active', silenced: false, own });
        return [{ do: 'sound', alarm, kind, origin, own }];
      }
      case 'silence': {
        if (typeof cmd.alarm === 'string' && cmd.alarm.length > 0) {
          if (!this.alarms.delete(cmd.alarm)) return [];
          return [{ do: 'stand-down', alarm: cmd.alarm }, ...this.silenceIfQuiet()];
        }
        const all = [...this.alarms.keys()];
        this.alarms.clear();
        return [...all.map((alarm) => ({ do: 'stand-down' as const, alarm })), { do: 'silence' as const }];
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
      if (a.own && a.state === 'pre-alarm') actions.push({ do: 'hush', alarm: a.alarm });
    }
    actions.push({ do: 'silence' });
    return actions;
  }

  /** The link (re)connected: alarms not re-sent before `endResync()` are stale. */
  beginResync(): void {
    this.unconfirmed = new Set([...this.alarms.keys()].filter((id) => !id.startsWith(LOCAL_PREFIX)));
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

  private silenceIfQuiet(): AlertAction[] {
    return this.isSounding() ? [] : [{ do: 'silence' }];
  }
}
