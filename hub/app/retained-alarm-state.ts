/**
 * The retained open-alarm state: `smokehub/h/H/alarms` holds every open alarm that concerns H
 * (`{"open":[],"at":…}` when none) and `smokehub/station/alarms` every open alarm. A client that was
 * offline while an alarm closed — or while the hub restarted — learns the truth as soon as it
 * subscribes: the broker hands it the retained message.
 */
import type { AlarmEngine } from '../core/alarm-engine.ts';
import type { Clock } from '../core/clock.ts';
import type { OpenAlarmsState } from '../protocol/schema.ts';
import { topics } from '../protocol/topics.ts';
import type { MqttPublisher } from './context.ts';

export class RetainedAlarmState {
  constructor(private readonly d: { engine: Pick<AlarmEngine, 'alarmsConcerning' | 'openAlarms' | 'view'>; mqtt: MqttPublisher; clock: Clock }) {}

  /** Publishes the state of each household given, and the station's. */
  publish(households: Iterable<string>): void {
    const at = this.d.clock.now();
    for (const h of households) this.send(topics.household(h, 'alarms'), { open: this.d.engine.alarmsConcerning(h), at });
    this.send(topics.station('alarms'), { open: this.d.engine.openAlarms().map((a) => this.d.engine.view(a)), at });
  }

  /** At start, before devices are accepted: every household's state, rebuilt from the journal. */
  publishAll(households: string[]): void {
    this.publish(households);
  }

  private send(topic: string, state: OpenAlarmsState): void {
    this.d.mqtt.publish(topic, JSON.stringify(state), { qos: 1, retain: true });
  }
}
