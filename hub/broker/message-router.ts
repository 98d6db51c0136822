/**
 * Everything a client publishes passes here (from Aedes' authorizePublish) before it is
 * acknowledged or forwarded. It checks the ACL and the payload size, then hands the message to its
 * channel's handler (handlers/event.ts, telemetry.ts, status.ts, response.ts), which checks it
 * against the shared schema; rejections are answered on the device's `error` topic (never by
 * disconnecting: MQTT.js would resend the same QoS 1 message forever).
 *
 * `route()` returns whether the message may be forwarded to subscribers as it is.
 */
import type { Principal } from '../core/acl.ts';
import { canPublish } from '../core/acl.ts';
import type { DeviceEventSink, DeviceRef, InboundAlarmSink, Publisher, TreeHandler, TreeRoutes } from './ports.ts';
import type { RegistryStore } from '../store/registry-types.ts';
import type { Logger } from '../observability/logger.ts';
import type { MetricsRegistry, Counter } from '../observability/metrics.ts';
import type { Clock } from '../core/clock.ts';
import { parseTopic, topics, type HouseholdTree } from '../protocol/topics.ts';
import { MAX_PAYLOAD_BYTES, type Issue } from '../protocol/schema.ts';
import { ERROR_CODES, type ErrorCode } from '../protocol/errors.ts';
import type { InboundServices, RouteOutcome } from './handlers/inbound.ts';
import { handleEvent } from './handlers/event.ts';
import { handleTelemetry } from './handlers/telemetry.ts';
import { handleStatus } from './handlers/status.ts';
import { handleResponse } from './handlers/response.ts';
import { RateLimitedLog } from '../observability/rate-limited-log.ts';

/**
 * Largest payload under a household tree (`z2m`, `homeassistant`): Zigbee2MQTT's retained
 * `bridge/devices` lists every device with its full exposes (tens of KiB per household; the tree's
 * handler applies tighter limits per topic).
 */
export const MAX_TREE_PAYLOAD_BYTES = 1024 * 1024;

/** One handler per device channel (handlers/*.ts); `error` and `cmd` are the hub's to publish. */
const DEVICE_HANDLERS = { event: handleEvent, telemetry: handleTelemetry, status: handleStatus } as const;

export interface RouterDeps {
  /** Resolves a device's team, household and kind. */
  registry: Pick<RegistryStore, 'getDevice'>;
  alarms: InboundAlarmSink;
  bus: DeviceEventSink;
  /** Where rejections are answered (the device's `error` topic): the broker itself. */
  mqtt: Publisher;
  clock: Clock;
  logger: Logger;
  metrics: MetricsRegistry;
}

export type { RouteOutcome } from './handlers/inbound.ts';

export class MessageRouter implements TreeRoutes {
  private readonly trees = new Map<HouseholdTree, TreeHandler>();
  private readonly messagesIn: Counter;
  private readonly rejects: Counter;
  private readonly log: Logger;
  private readonly rejectLog: RateLimitedLog;

  constructor(private readonly d: RouterDeps) {
    this.messagesIn = d.metrics.counter('smokehub_messages_in_total', 'MQTT messages received from clients, by channel');
    this.rejects = d.metrics.counter('smokehub_rejects_total', 'Rejected inputs by reason (error code) and channel');
    this.log = d.logger.child({ module: 'message-router' });
    this.rejectLog = new RateLimitedLog(this.log, d.clock, 60_000);
  }

  route(principal: Principal, clientId: string, topic: string, payload: Buffer): RouteOutcome {
    const now = this.d.clock.now();
    const t = parseTopic(topic);
    const ref = principal.type === 'device' ? this.refOf(principal) : undefined;
    if (ref) this.d.bus.emit('device-heard', ref, now);

    if (!t || !canPublish(principal, topic)) {
      this.reject(principal, clientId, topic, [{ code: ERROR_CODES.FORBIDDEN, message: `not allowed to publish on ${topic.slice(0, 128)}` }], 'acl');
      return 'drop';
    }
    const channel = 'channel' in t ? t.channel : t.scope;
    this.messagesIn.inc({ channel });
    const limit = 'channel' in t ? MAX_PAYLOAD_BYTES : MAX_TREE_PAYLOAD_BYTES;
    if (payload.length > limit) {
      this.reject(principal, clientId, topic, [{ code: ERROR_CODES.OVERSIZE, message: `payload is ${payload.length} bytes; the limit is ${limit}` }], channel);
      if (ref && channel === 'event') this.markFault(ref, now, 'oversize event');
      return 'drop';
    }
    if (t.scope === 'z2m' || t.scope === 'homeassistant') {
      const handler = this.trees.get(t.scope);
      if (!handler) return 'drop';
      const reject = (issues: Issue[], ch: string) => this.reject(principal, clientId, topic, issues, ch);
      return handler({ principal, clientId, household: t.household, path: t.path, payload, now, ref }, reject);
    }

    const services = this.services(principal, clientId, topic, now);
    if (t.scope === 'device' && ref) {
      const handler = DEVICE_HANDLERS[t.channel as keyof typeof DEVICE_HANDLERS];
      return handler ? handler(services, { principal, ref, payload, now }) : 'drop';
    }
    if (t.scope === 'household' && t.channel === 'response') return handleResponse(services, principal, t.household, payload);
    return 'drop';
  }

  handleTree(tree: HouseholdTree, handler: TreeHandler): () => void {
    this.trees.set(tree, handler);
    return () => {
      if (this.trees.get(tree) === handler) this.trees.delete(tree);
    };
  }

  /** What the handlers share for one message. */
  private services(principal: Principal, clientId: string, topic: string, now: number): InboundServices {
    return {
      alarms: this.d.alarms,
      bus: this.d.bus,
      log: this.log,
      reject: (issues, channel) => this.reject(principal, clientId, topic, issues, channel),
      markFault: (ref, why) => this.markFault(ref, now, why),
    };
  }

  private refOf(p: Extract<Principal, { type: 'device' }>): DeviceRef | undefined {
    const dev = this.d.registry.getDevice(p.device);
    return dev && { team: dev.team, household: dev.household, device: dev.id, kind: dev.kind };
  }

  /** A detector that sends garbage is failing: it is reported as `fault`, never taken as `clear`. */
  private markFault(ref: DeviceRef, now: number, why: string): void {
    this.d.bus.emit('device-event', ref, { id: `malformed-${now}`, type: 'fault' }, now, false);
    this.log.warn({ device: ref.device, household: ref.household, why }, 'detector sent a malformed message: marked fault');
  }

  private reject(principal: Principal, clientId: string, topic: string, issues: Issue[], channel: string): void {
    for (const i of issues) this.rejects.inc({ reason: i.code, channel });
    // Each sender and reason is logged once a minute at most (with the count held back); metrics count all.
    const key = `${principal.type === 'device' ? principal.device : principal.username}|${channel}|${issues[0]!.code}`;
    this.rejectLog.warn(key, { ...whoIs(principal), clientId, topic: topic.slice(0, 128), issues }, 'rejected input');
    if (principal.type === 'device') {
      const body = { topic: topic.slice(0, 128), error: issues[0]!.code as ErrorCode, issues, at: this.d.clock.now() };
      this.d.mqtt.publish(topics.device(principal.household, principal.device, 'error'), JSON.stringify(body), { qos: 0 });
    }
  }
}

/** Who sent a message, for logs. */
function whoIs(p: Principal): Record<string, string> {
  return p.type === 'device' ? { device: p.device, household: p.household } : { user: p.username };
}
