/**
 * Carries out the alarm engine's effects: journal (durable, synchronous) before announce (MQTT),
 * one timer for the engine's next deadline, de-duplication of device events, metrics.
 */
import type { AlarmEngine, Effect, DeviceSource } from '../core/alarm-engine.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { AlarmJournal } from '../store/alarm-journal.ts';
import type { Logger } from '../observability/logger.ts';
import type { MetricsRegistry, Counter, Histogram } from '../observability/metrics.ts';
import type { AlarmView, DeviceEvent, ResponseKind } from '../protocol/schema.ts';
import { topics } from '../protocol/topics.ts';
import { ERROR_CODES, ForbiddenError, NotFoundError, SmokehubError } from '../protocol/errors.ts';
import type { HubBus, MqttPublisher } from './context.ts';

/** A set that forgets its oldest entries beyond `max`. */
class BoundedSet {
  private readonly items = new Set<string>();
  constructor(private readonly max: number) {}
  has(k: string): boolean {
    return this.items.has(k);
  }
  add(k: string): void {
    if (this.items.has(k)) return;
    this.items.add(k);
    if (this.items.size > this.max) this.items.delete(this.items.values().next().value as string);
  }
}

export interface AlarmServiceDeps {
  engine: AlarmEngine;
  journal: AlarmJournal;
  mqtt: MqttPublisher;
  clock: Clock;
  bus: HubBus;
  logger: Logger;
  metrics: MetricsRegistry;
  /** Makes journal commits durable off the event loop (absent: the database fsyncs each commit). */
  durability?: Durability;
}

/** What the alarm service needs of store/wal-durability.ts. */
export interface Durability {
  flushSoon(): void;
  durable(): Promise<void>;
}

export class AlarmService {
  private timer: TimerHandle | null = null;
  private timerAt: number | null = null;
  private readonly transitions: Counter;
  private readonly fanoutSeconds: Histogram;
  private readonly announced: Counter;
  private readonly journalErrors: Counter;
  private stopped = false;
  /** Recent event ids, for de-duplication when the journal cannot be written. */
  private readonly recentEvents = new BoundedSet(10_000);

  constructor(private readonly d: AlarmServiceDeps) {
    this.transitions = d.metrics.counter('smokehub_alarm_transitions_total', 'Alarm transitions by kind of transition');
    this.announced = d.metrics.counter('smokehub_alarm_announcements_total', 'Alarm views published (per household and station)');
    this.fanoutSeconds = d.metrics.histogram(
      'smokehub_fanout_seconds',
      'Hub-side time from a device event arriving to the last alert of its fan-out being handed to the broker',
      [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    );
    this.journalErrors = d.metrics.counter('smokehub_journal_errors_total', 'Alarm journal writes that failed (alarms were still announced)');
    d.metrics.gauge('smokehub_alarms_open', 'Open alarms by state', () => {
      const counts = new Map<string, number>();
      for (const a of d.engine.openAlarms()) counts.set(a.state, (counts.get(a.state) ?? 0) + 1);
      return ['pre-alarm', 'active', 'escalated'].map((s) => [{ state: s }, counts.get(s) ?? 0] as [Record<string, string>, number]);
    });
  }

  /** Restores open alarms from the journal and re-arms their deadlines. */
  start(): void {
    const open = this.d.journal.openRecords();
    this.d.engine.restore(open);
    if (open.length > 0) this.d.logger.info({ open: open.length }, 'restored open alarms from the journal');
    // Deadlines that passed while the hub was down fire now.
    this.apply(this.d.engine.tick(this.d.clock.now()), performance.now());
    this.reschedule();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
  }

  /** A validated device event. Returns false when it was a duplicate (already handled). */
  handleDeviceEvent(src: DeviceSource, event: DeviceEvent, receivedAt: number): boolean {
    const started = performance.now();
    const key = `${src.device}\u0000${event.id}`;
    let fresh = true;
    let ran = false;
    let effects: Effect[] = [];
    try {
      // De-duplication, the transition(s) and their journal entries: one transaction, one fsync.
      this.d.journal.atomically(() => {
        fresh = this.d.journal.markEventSeen(src.device, event.id, receivedAt);
        if (!fresh) return;
        effects = this.d.engine.handleDeviceEvent(src, event, receivedAt);
        ran = true;
        this.journal(effects);
      });
      this.d.durability?.flushSoon();
    } catch (err) {
      // The journal failed (disk full, I/O error). A life-safety hub still handles and announces
      // the event — de-duplicated in memory — and says so loudly.
      if (!ran) {
        fresh = !this.recentEvents.has(key);
        if (fresh) effects = this.d.engine.handleDeviceEvent(src, event, receivedAt);
      }
      this.journalFailed(err, effects);
    }
    this.recentEvents.add(key);
    if (!fresh) return false;
    this.announce(effects, started);
    this.reschedule();
    return true;
  }

  /** A household's response; throws a typed error when it is refused. */
  respond(household: string, alarmId: string, response: ResponseKind): AlarmView {
    const now = this.d.clock.now();
    const out = this.d.engine.handleResponse(household, alarmId, response, now);
    if (!out.ok) {
      if (out.code === 'not_found') {
        const closed = this.d.journal.get(alarmId);
        if (closed) throw new SmokehubError(ERROR_CODES.CONFLICT, `alarm ${alarmId} is already ${closed.view.state}`);
        throw new NotFoundError(out.message);
      }
      if (out.code === 'forbidden') throw new ForbiddenError(out.message);
      throw new SmokehubError(ERROR_CODES.CONFLICT, out.message);
    }
    this.apply(out.effects, performance.now());
    this.reschedule();
    return this.viewOf(alarmId)!;
  }

  /** The station resolves an alarm. */
  resolve(alarmId: string, by: string): AlarmView {
    const now = this.d.clock.now();
    const out = this.d.engine.resolveByStation(alarmId, by, now);
    if (!out.ok) {
      const closed = this.d.journal.get(alarmId);
      if (closed) throw new SmokehubError(ERROR_CODES.CONFLICT, `alarm ${alarmId} is already ${closed.view.state}`);
      throw new NotFoundError(out.message);
    }
    this.apply(out.effects, performance.now());
    this.reschedule();
    return this.viewOf(alarmId)!;
  }

  /** Resolves once everything journalled so far is on disk (at once when each commit is fsynced). */
  durable(): Promise<void> {
    return this.d.durability?.durable() ?? Promise.resolve();
  }

  /** The current view of an alarm, open or closed. */
  viewOf(alarmId: string): AlarmView | undefined {
    const open = this.d.engine.get(alarmId);
    return open ? this.d.engine.view(open) : this.d.journal.get(alarmId)?.view;
  }

  openViews(): AlarmView[] {
    return this.d.engine.openAlarms().map((a) => this.d.engine.view(a));
  }

  /** Open alarms a household must be (re)sent when it (re)subscribes. */
  concerning(household: string): AlarmView[] {
    return this.d.engine.alarmsConcerning(household);
  }

  /** Journal then announce (inputs other than device events, and timers). */
  private apply(effects: Effect[], startedAt: number /* performance.now() */): void {
    if (effects.length === 0) return;
    try {
      this.d.journal.atomically(() => this.journal(effects));
      this.d.durability?.flushSoon();
    } catch (err) {
      this.journalFailed(err, effects);
    }
    this.announce(effects, startedAt);
  }

  /** Every transition goes to the timeline; each alarm's state row is written once, with its last state. */
  private journal(effects: Effect[]): void {
    const last = new Map<string, number>();
    effects.forEach((e, i) => e.type === 'journal' && last.set(e.record.id, i));
    effects.forEach((e, i) => {
      if (e.type !== 'journal') return;
      const final = last.get(e.record.id) === i;
      this.d.journal.write(e.record, final ? this.d.engine.view(e.record) : null, e.transition, e.detail);
    });
  }

  private journalFailed(err: unknown, effects: Effect[]): void {
    this.journalErrors.inc();
    this.d.logger.error({ err, transitions: effects.filter((e) => e.type === 'journal').length }, 'ALARM JOURNAL WRITE FAILED: announcing anyway');
  }

  /**
   * Publishes, then records. One input can move an alarm twice (raised then activated at once):
   * people get only its latest view, sent once to the union of the households concerned; the
   * journal, the logs and the bus still see every transition.
   */
  private announce(effects: Effect[], startedAt: number): void {
    const announces = effects.filter((e): e is Extract<Effect, { type: 'announce' }> => e.type === 'announce');
    if (announces.length === 0) return;
    const latest = new Map<string, { view: AlarmView; households: Set<string>; station: boolean }>();
    for (const a of announces) {
      const cur = latest.get(a.view.alarm);
      const households = cur?.households ?? new Set<string>();
      for (const h of a.households) households.add(h);
      latest.set(a.view.alarm, { view: a.view, households, station: (cur?.station ?? false) || a.station });
    }
    let published = 0;
    for (const { view, households, station } of latest.values()) {
      const payload = JSON.stringify(view);
      for (const h of households) this.d.mqtt.publish(topics.household(h, 'alert'), payload, { qos: 1 });
      if (station) this.d.mqtt.publish(topics.station('alarm'), payload, { qos: 1 });
      published += households.size + (station ? 1 : 0);
    }
    this.fanoutSeconds.observe((performance.now() - startedAt) / 1000);
    this.announced.inc(undefined, published);

    let transition = '';
    for (const e of effects) {
      if (e.type === 'journal') {
        transition = e.transition;
        this.transitions.inc({ transition });
        this.d.logger.info(
          { alarm: e.record.id, team: e.record.team, household: e.record.originHousehold, state: e.record.state, transition, ...e.detail },
          'alarm transition',
        );
      } else {
        this.d.bus.emit('alarm-changed', e.view, transition);
      }
    }
  }

  private reschedule(): void {
    if (this.stopped) return;
    const next = this.d.engine.nextDeadline();
    if (next === this.timerAt) return;
    this.timer?.cancel();
    this.timer = null;
    this.timerAt = next;
    if (next === null) return;
    this.timer = this.d.clock.setTimer(next - this.d.clock.now(), () => {
      this.timer = null;
      this.timerAt = null;
      try {
        this.apply(this.d.engine.tick(this.d.clock.now()), performance.now());
      } catch (err) {
        this.d.logger.error({ err }, 'alarm timer failed');
      }
      this.reschedule();
    });
  }
}
