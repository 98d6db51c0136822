/**
 * The retained open-alarm state: `smokehub/h/H/alarms` holds every open alarm that concerns H
 * (`{"open":[],"at":…}` when none) and `smokehub/station/alarms` every open alarm. A client that was
 * offline while an alarm closed — or while the hub restarted — learns the truth as soon as it
 * subscribes: the broker hands it the retained message.
 *
 * The broker stores a retained message before it forwards it; when that store cannot be written
 * (a full disk) the publish fails. Such topics are published again, with the state of that moment,
 * every second until the broker takes them.
 */
import type { AlarmEngine } from '../core/alarm-engine.ts';
import type { Clock } from '../core/clock.ts';
import type { OpenAlarmsState } from '../protocol/schema.ts';
import { topics } from '../protocol/topics.ts';
import type { MqttPublisher } from './context.ts';

const RETRY_MS = 1000;
const STATION = '';

export class RetainedAlarmState {
  /** Households ('' = the station) whose last publish failed. */
  private readonly failed = new Set<string>();
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(private readonly d: { engine: Pick<AlarmEngine, 'alarmsConcerning' | 'openAlarms' | 'view'>; mqtt: MqttPublisher; clock: Clock }) {}

  /** Publishes the state of each household given, and the station's. */
  publish(households: Iterable<string>): void {
    for (const h of households) this.send(h);
    this.send(STATION);
  }

  /** At start, before devices are accepted: every household's state, rebuilt from the journal. */
  publishAll(households: string[]): void {
    this.publish(households);
  }

  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.failed.clear();
  }

  private send(household: string): void {
    const at = this.d.clock.now();
    const state: OpenAlarmsState =
      household === STATION
        ? { open: this.d.engine.openAlarms().map((a) => this.d.engine.view(a)), at }
        : { open: this.d.engine.alarmsConcerning(household), at };
    const topic = household === STATION ? topics.station('alarms') : topics.household(household, 'alarms');
    this.failed.delete(household);
    this.d.mqtt.publish(topic, JSON.stringify(state), { qos: 1, retain: true }, (err) => {
      if (!err) return;
      this.failed.add(household);
      this.retrySoon();
    });
  }

  private retrySoon(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      const again = [...this.failed];
      this.failed.clear();
      for (const h of again) this.send(h);
    }, RETRY_MS);
    this.retryTimer.unref();
  }
}
