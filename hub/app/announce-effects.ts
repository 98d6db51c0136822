/**
 * The announcing half of carrying out engine effects, shared by the single box's alarm service
 * and a cluster node's (hub/cluster/cluster-alarm-service.ts): one alert per household per alarm
 * (the last view of the input, to every household any of its effects named), the nearby copy
 * marked, the station's copy, and the sounder commands. Returns what it touched, for the retained
 * state and the metrics.
 */
import type { Effect } from '../core/alarm-record.ts';
import type { AlarmView } from '../protocol/schema.ts';
import { topics } from '../protocol/topics.ts';
import type { MqttPublisher } from './context.ts';

export interface Announced {
  /** Alarms announced (0: nothing was). */
  alarms: number;
  /** Messages published (alerts and the station's). */
  published: number;
  /** Households alerted (their retained `…/alarms` needs rebuilding). */
  touched: Set<string>;
}

export function announceEffects(effects: readonly Effect[], mqtt: MqttPublisher, devicesOf: (household: string) => Array<{ id: string }>): Announced {
  const latest = new Map<string, { view: AlarmView; households: Set<string>; nearby: Set<string>; station: boolean }>();
  for (const e of effects) {
    if (e.type !== 'announce') continue;
    const cur = latest.get(e.view.alarm) ?? { view: e.view, households: new Set<string>(), nearby: new Set<string>(), station: false };
    cur.view = e.view;
    for (const h of e.households) cur.households.add(h);
    for (const h of e.nearby) cur.nearby.add(h);
    cur.station ||= e.station;
    latest.set(e.view.alarm, cur);
  }
  let published = 0;
  const touched = new Set<string>();
  for (const { view, households, nearby, station } of latest.values()) {
    const payload = JSON.stringify(view);
    for (const h of households) {
      mqtt.publish(topics.household(h, 'alert'), payload, { qos: 1 });
      touched.add(h);
    }
    // Households of other teams nearby: the same view, marked — they are told, not counted on.
    const nearbyPayload = nearby.size > 0 ? JSON.stringify({ ...view, nearby: true }) : '';
    for (const h of nearby) {
      mqtt.publish(topics.household(h, 'alert'), nearbyPayload, { qos: 1 });
      touched.add(h);
    }
    if (station) mqtt.publish(topics.station('alarm'), payload, { qos: 1 });
    published += households.size + nearby.size + (station ? 1 : 0);
  }
  for (const e of effects) {
    if (e.type !== 'command') continue;
    const payload = JSON.stringify(e.command);
    for (const dev of devicesOf(e.household)) mqtt.publish(topics.device(e.household, dev.id, 'cmd'), payload, { qos: 1 });
  }
  return { alarms: latest.size, published, touched };
}
