/**
 * Rings a household's Zigbee sirens when an alarm concerns it, by the same rules as a bridge's
 * sounder (hub/core/alert-tracker.ts: its own alarm from pre-alarm on, a neighbour's once active,
 * a drill; stand-down on cancel, resolve or a neighbour's hush; its own hush silences it), and
 * stops them when nothing is left to ring for. The start is re-sent when the household's gateway
 * comes back, when a siren is enrolled during the alarm, and every SIREN_REFRESH_MS while it rings.
 */
import { AlertTracker } from '../core/alert-tracker.ts';
import type { AlarmKind, AlarmView } from '../protocol/schema.ts';
import { topics } from '../protocol/topics.ts';
import type { MqttPublisher } from '../app/context.ts';
import type { Logger } from '../observability/logger.ts';
import type { Counter } from '../observability/metrics.ts';
import { sirenStart, sirenStop } from './siren-commands.ts';
import type { ZigbeeChild } from './zigbee-store.ts';

export interface SirensDeps {
  mqtt: MqttPublisher;
  /** The household's Zigbee devices (its sirens among them). */
  childrenOf(household: string): ZigbeeChild[];
  /** Can a command reach the gateway now? */
  reachable(gateway: string): boolean;
  /** Households an alarm concerns: its team's, and the nearby ones it was sent to. */
  householdsOf(view: AlarmView): string[];
  log: Logger;
  commands: Counter;
}

/** The alarm whose kind a ringing household's sirens sound: a real alarm before a drill. */
function loudest(tracker: AlertTracker): AlarmKind | null {
  const sounding = tracker.tracked().filter((a) => !a.silenced);
  if (sounding.length === 0) return null;
  return (sounding.find((a) => a.kind !== 'drill') ?? sounding[0]!).kind;
}

export class ZigbeeSirens {
  private readonly trackers = new Map<string, AlertTracker>();
  /** Households whose sirens were last told to ring, with the kind. */
  private readonly ringing = new Map<string, AlarmKind>();
  /** Households whose stop did not reach every siren (a gateway was away): sent when it is back. */
  private readonly stopOwed = new Set<string>();

  constructor(private readonly d: SirensDeps) {}

  /** An alarm changed: every concerned household with sirens follows it. */
  onAlarm(view: AlarmView): void {
    for (const h of this.d.householdsOf(view)) {
      if (!this.hasSirens(h)) continue;
      this.tracker(h).onView(view);
      this.apply(h, false);
    }
  }

  /**
   * Open alarms a household must know, then the start (or an owed stop) sent again: at start, when
   * a siren is enrolled, when its gateway is reachable again.
   */
  seed(household: string, open: AlarmView[]): void {
    if (!this.hasSirens(household)) return;
    const tracker = this.tracker(household);
    for (const v of open) tracker.onView(v);
    this.apply(household, true);
  }

  /** Re-sends the start to every ringing household (the refresh timer). */
  refresh(): void {
    for (const h of this.ringing.keys()) this.apply(h, true);
  }

  isRinging(household: string): boolean {
    return this.ringing.has(household);
  }

  /** Starts (kind) or stops (null) the household's sirens when that changed, or again when `force`. */
  private apply(household: string, force: boolean): void {
    const kind = loudest(this.tracker(household));
    const was = this.ringing.get(household);
    if (kind === null) {
      // Stopped only if the hub rang them (a household testing its own siren is left alone).
      if (was === undefined && !(force && this.stopOwed.has(household))) return;
      this.ringing.delete(household);
      this.send(household, null);
      return;
    }
    if (was === kind && !force) return;
    this.ringing.set(household, kind);
    this.send(household, kind);
  }

  private send(household: string, kind: AlarmKind | null): void {
    let sent = 0;
    this.stopOwed.delete(household);
    for (const c of this.d.childrenOf(household)) {
      if (!c.siren) continue;
      if (!this.d.reachable(c.gateway)) {
        if (kind === null) this.stopOwed.add(household);
        continue;
      }
      const command = kind === null ? sirenStop(c.siren) : sirenStart(c.siren, kind);
      this.d.mqtt.publish(topics.z2m(household, ...c.friendlyName.split('/'), 'set'), JSON.stringify(command), { qos: 1 });
      this.d.commands.inc({ command: kind === null ? 'stop' : 'start' });
      sent++;
    }
    this.d.log.info({ household, kind, command: kind === null ? 'stop' : 'start', sirens: sent }, 'Zigbee sirens commanded');
  }

  private hasSirens(household: string): boolean {
    return this.d.childrenOf(household).some((c) => c.siren !== null);
  }

  private tracker(household: string): AlertTracker {
    let t = this.trackers.get(household);
    if (!t) {
      t = new AlertTracker(household);
      this.trackers.set(household, t);
    }
    return t;
  }
}
