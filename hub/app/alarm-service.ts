/**
 * Carries out the alarm engine's effects: journal (through the journal writer, which never loses an
 * acknowledged write), deadlines armed, then announce (MQTT alerts, the retained open-alarm state,
 * sounder commands), then the bus. One timer for the engine's next deadline, de-duplication of
 * device events, metrics.
 */
import type { AlarmEngine, Cause, Effect, DeviceSource } from '../core/alarm-engine.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { AlarmJournal } from '../store/alarm-journal.ts';
import type { Logger } from '../observability/logger.ts';
import type { MetricsRegistry, Counter, Histogram } from '../observability/metrics.ts';
import type { AlarmView, DeviceEvent, DispatchState, ResponseKind, TelemetryReading } from '../protocol/schema.ts';
import type { ResponseOutcome } from '../core/alarm-record.ts';
import { ERROR_CODES, ForbiddenError, NotFoundError, SmokehubError } from '../protocol/errors.ts';
import type { AlarmPort, HubBus, MqttPublisher } from './context.ts';
import type { JournalWriter } from './journal-writer.ts';
import { announceEffects } from './announce-effects.ts';
import { RetainedAlarmState } from './retained-alarm-state.ts';

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
  journal: Pick<AlarmJournal, 'openRecords' | 'markEventSeen' | 'isEventSeen' | 'get' | 'note' | 'write'>;
  /** Runs the journal's writes (nothing acknowledged is lost: journal-writer.ts). */
  writer: Pick<JournalWriter, 'attempt' | 'commit' | 'whenDurable' | 'stop'>;
  /** The alarm service's publisher port (the broker, bound late in hub.ts: late-publisher.ts). */
  mqtt: MqttPublisher;
  clock: Clock;
  bus: HubBus;
  logger: Logger;
  metrics: MetricsRegistry;
  /** Devices of a household (its sounders get `silence` commands). */
  devicesOf(household: string): Array<{ id: string }>;
  /** Every enrolled household (the retained state is rebuilt for each at start). */
  allHouseholds(): string[];
}

/** How long an HTTP answer waits for the journal before it says 503 (the action still stands). */
const HTTP_DURABLE_WAIT_MS = 10_000;

export class AlarmService implements AlarmPort {
  private timer: TimerHandle | null = null;
  private timerAt: number | null = null;
  private readonly transitions: Counter;
  private readonly fanoutSeconds: Histogram;
  private readonly announced: Counter;
  private stopped = false;
  /** Recent event ids, for de-duplication while the journal cannot be written. */
  private readonly recentEvents = new BoundedSet(10_000);
  private readonly retained: RetainedAlarmState;

  constructor(private readonly d: AlarmServiceDeps) {
    this.transitions = d.metrics.counter('smokehub_alarm_transitions_total', 'Alarm transitions by kind of transition');
    this.announced = d.metrics.counter('smokehub_alarm_announcements_total', 'Alarm views published (per household and station)');
    this.fanoutSeconds = d.metrics.histogram(
      'smokehub_fanout_seconds',
      'Hub-side time from a device event arriving to the last alert of its fan-out being handed to the broker',
      [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    );
    d.metrics.gauge('smokehub_alarms_open', 'Open alarms by state', () => {
      const counts = new Map<string, number>();
      for (const a of d.engine.openAlarms()) counts.set(a.state, (counts.get(a.state) ?? 0) + 1);
      return ['pre-alarm', 'active', 'escalated', 'hushed'].map((s) => [{ state: s }, counts.get(s) ?? 0] as [Record<string, string>, number]);
    });
    this.retained = new RetainedAlarmState({ engine: d.engine, mqtt: d.mqtt, clock: d.clock });
  }

  /**
   * Restores open alarms from the journal, re-arms their deadlines and publishes every household's
   * retained open-alarm state (call before devices are accepted).
   */
  start(): void {
    const open = this.d.journal.openRecords();
    this.d.engine.restore(open);
    if (open.length > 0) this.d.logger.info({ open: open.length }, 'restored open alarms from the journal');
    this.retained.publishAll(this.d.allHouseholds());
    // Deadlines that passed while the hub was down fire now.
    this.apply(this.d.engine.tick(this.d.clock.now()), performance.now());
    this.reschedule();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    this.d.writer.stop();
    this.retained.stop();
  }

  /** A validated device event. Returns false when it was a duplicate (already handled). */
  handleDeviceEvent(src: DeviceSource, event: DeviceEvent, receivedAt: number): boolean {
    const started = performance.now();
    const key = `${src.device}\u0000${event.id}`;
    let fresh = true;
    let effects: Effect[] = [];
    let handled = false;
    const handle = () => {
      effects = this.d.engine.handleDeviceEvent(src, event, receivedAt);
      handled = true;
    };
    // De-duplication, the transition(s) and their journal entries: one transaction, one fsync.
    const committed = this.d.writer.attempt(() => {
      fresh = this.d.journal.markEventSeen(src.device, event.id, receivedAt);
      if (!fresh) return;
      handle();
      this.journal(effects);
    });
    if (!committed) {
      // The journal is behind (disk full, I/O error): de-duplicate from memory and what is on disk,
      // handle the event and announce it at once; its writes wait in order (no PUBACK until they land).
      if (!handled) {
        fresh = !this.recentEvents.has(key) && !this.safeIsSeen(src.device, event.id);
        if (fresh) handle();
      }
      if (fresh) {
        const written = effects;
        this.d.writer.commit(() => {
          this.d.journal.markEventSeen(src.device, event.id, receivedAt);
          this.journal(written);
        });
      }
    }
    this.recentEvents.add(key);
    if (!fresh) return false;
    this.carryOut(effects, started);
    return true;
  }

  /** Validated telemetry: fire evidence may re-raise a hushed alarm or open a heat alarm. */
  handleTelemetry(src: DeviceSource, reading: TelemetryReading, receivedAt: number): void {
    const effects = this.d.engine.handleTelemetry(src, reading, receivedAt);
    if (effects.length > 0) this.apply(effects, performance.now());
  }

  /** A household's response; `cause` says who answered and how. Throws a typed error when refused. */
  respond(household: string, alarmId: string, response: ResponseKind, cause: Cause): AlarmView {
    return this.outcome(alarmId, this.d.engine.handleResponse(household, alarmId, response, this.d.clock.now(), cause));
  }

  /** The station resolves an alarm. */
  resolve(alarmId: string, cause: Cause): AlarmView {
    return this.outcome(alarmId, this.d.engine.resolveByStation(alarmId, this.d.clock.now(), cause));
  }

  /** The station has seen the alarm (`acknowledged`) or sent a truck (`dispatched`). */
  dispatch(alarmId: string, state: DispatchState, info: { etaMin?: number; note?: string }, cause: Cause): AlarmView {
    return this.outcome(alarmId, this.d.engine.dispatchByStation(alarmId, state, info, this.d.clock.now(), cause));
  }

  /** Starts a drill at a household (the station or the team's leader). */
  startDrill(household: string, cause: Cause): AlarmView {
    const out = this.d.engine.startDrill(household, this.d.clock.now(), cause);
    if (!out.ok) throw out.code === 'not_found' ? new NotFoundError(out.message) : new SmokehubError(ERROR_CODES.CONFLICT, out.message);
    this.apply(out.effects, performance.now());
    const started = out.effects.find((e): e is Extract<typeof e, { type: 'announce' }> => e.type === 'announce');
    if (!started) throw new SmokehubError(ERROR_CODES.CONFLICT, 'the drill did not start');
    return this.viewOf(started.view.alarm) ?? started.view;
  }

  /** Carries out an engine outcome for `alarmId`, or throws its typed error. */
  private outcome(alarmId: string, out: ResponseOutcome): AlarmView {
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
    return this.viewOf(alarmId)!;
  }

  /** A timeline entry that does not change the alarm (an SMS sent, delivered or failed; a call made). */
  note(alarmId: string, transition: string, detail: Record<string, unknown>, cause: Cause): void {
    const at = this.d.clock.now();
    this.d.writer.commit(() => void this.d.journal.note(alarmId, at, transition, detail, cause.by, cause.via));
  }

  /** Calls back once everything journalled so far is committed and on disk (the device's PUBACK). */
  whenDurable(cb: () => void): void {
    this.d.writer.whenDurable(cb);
  }

  /**
   * Resolves once everything journalled so far is on disk; rejects with 503 `unavailable` when the
   * journal cannot be written within 10 s (the action was taken and announced, and is kept in memory
   * and retried).
   */
  durable(timeoutMs = HTTP_DURABLE_WAIT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () =>
          reject(
            new SmokehubError(
              ERROR_CODES.UNAVAILABLE,
              'done and announced, but not yet on disk: the alarm journal cannot be written (disk full?); the hub keeps retrying',
            ),
          ),
        timeoutMs,
      );
      t.unref();
      this.d.writer.whenDurable(() => {
        clearTimeout(t);
        resolve();
      });
    });
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

  /** Journal, then carry out (inputs other than device events, and timers). */
  private apply(effects: Effect[], startedAt: number /* performance.now() */): void {
    if (effects.length === 0) return;
    this.d.writer.commit(() => this.journal(effects));
    this.carryOut(effects, startedAt);
  }

  private safeIsSeen(device: string, id: string): boolean {
    try {
      return this.d.journal.isEventSeen(device, id);
    } catch {
      return false;
    }
  }

  /** Every transition goes to the timeline; each alarm's state row is written once, with its last state. */
  private journal(effects: Effect[]): void {
    const last = new Map<string, number>();
    effects.forEach((e, i) => e.type === 'journal' && last.set(e.record.id, i));
    effects.forEach((e, i) => {
      if (e.type !== 'journal') return;
      const final = last.get(e.record.id) === i;
      this.d.journal.write({
        record: e.record,
        view: final ? this.d.engine.view(e.record) : null,
        transition: e.transition,
        detail: e.detail,
        by: e.by,
        via: e.via,
      });
    });
  }

  /**
   * Deadlines first (nothing that follows can leave an alarm without its timer), then publish, then
   * tell the bus. One input can move an alarm twice (raised then activated at once): people get only
   * its latest view, sent once to the union of the households concerned; the journal, the logs and
   * the bus still see every transition.
   */
  private carryOut(effects: Effect[], startedAt: number): void {
    this.reschedule();
    const done = announceEffects(effects, this.d.mqtt, this.d.devicesOf);
    if (done.alarms > 0) {
      this.fanoutSeconds.observe((performance.now() - startedAt) / 1000);
      this.announced.inc(undefined, done.published);
      this.retained.publish(done.touched);
    }

    let transition = '';
    for (const e of effects) {
      if (e.type === 'journal') {
        transition = e.transition;
        this.transitions.inc({ transition });
        this.d.logger.info(
          {
            alarm: e.record.id,
            team: e.record.team,
            household: e.record.originHousehold,
            state: e.record.state,
            transition,
            by: e.by,
            via: e.via,
            ...e.detail,
          },
          'alarm transition',
        );
      } else if (e.type === 'announce') {
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
