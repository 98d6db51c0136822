/**
 * What every inbound handler (one per channel, in the style of MQTT.js' `handlers/`) gets from the
 * message router: the sender, the parsed topic and payload, and the router's shared services. A
 * handler validates the payload against the shared schema, hands it on, and says whether the
 * message may be forwarded to subscribers as it is; a rejection is answered through `reject`
 * (never by disconnecting: MQTT.js would resend the same QoS 1 message forever).
 */
import type { Principal } from '../../core/acl.ts';
import type { DeviceEventSink, DeviceRef, InboundAlarmSink } from '../ports.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Issue } from '../../protocol/schema.ts';

export type RouteOutcome = 'forward' | 'drop';

export interface InboundServices {
  alarms: InboundAlarmSink;
  bus: DeviceEventSink;
  log: Logger;
  /** Counts, logs (rate-limited) and answers on the device's `error` topic. */
  reject(issues: Issue[], channel: string): void;
  /** A detector that sends garbage is failing: reported as `fault`, never taken as `clear`. */
  markFault(ref: DeviceRef, why: string): void;
}

export interface DeviceMessage {
  principal: Principal;
  ref: DeviceRef;
  payload: Buffer;
  now: number;
}

/** Device kinds whose malformed messages mean the detector itself may be failing. */
export const DETECTOR_KINDS = new Set(['smoke', 'heat', 'co']);
