/**
 * The ports the broker consumes, owned here so that hub/broker imports nothing from hub/app: the
 * composition root (app/hub.ts) hands the broker their implementations at construction, as Aedes
 * takes authenticate/authorizePublish. The alarm service implements the alarm ports, the hub's
 * event bus the device events.
 */
import type { Actor, AlarmView, DeviceEvent, DeviceKind, Issue, ResponseKind, TelemetryReading, Via } from '../protocol/schema.ts';
import type { Principal } from '../core/acl.ts';
import type { HouseholdTree } from '../protocol/topics.ts';

/** Identifies the device a message came from, resolved from the registry. */
export interface DeviceRef {
  team: string;
  household: string;
  device: string;
  kind: DeviceKind;
}

/** What the broker tells the rest of the hub about devices (app/context.ts `HubEvents` extends it). */
export interface DeviceEvents {
  'device-connected': [ref: DeviceRef, at: number];
  'device-disconnected': [ref: DeviceRef, at: number];
  /** Any valid or invalid message from a device: it is alive. */
  'device-heard': [ref: DeviceRef, at: number];
  'device-status': [ref: DeviceRef, status: 'online' | 'offline', at: number];
  /** A validated device event (after the alarm engine has handled it). `duplicate`: seen before. */
  'device-event': [ref: DeviceRef, event: DeviceEvent, receivedAt: number, duplicate: boolean];
  /** Validated telemetry fields (invalid fields already removed and reported). */
  telemetry: [ref: DeviceRef, reading: TelemetryReading, receivedAt: number];
}

/** Where device events go (the hub's bus). Listeners must be quick: they run on the broker's path. */
export interface DeviceEventSink {
  emit<K extends keyof DeviceEvents>(event: K, ...args: DeviceEvents[K]): void;
}

/** The alarm side of inbound messages: what the channel handlers (handlers/*.ts) hand on. */
export interface InboundAlarmSink {
  /** A validated device event; false when it was a duplicate (already handled). */
  handleDeviceEvent(src: DeviceRef, event: DeviceEvent, receivedAt: number): boolean;
  /** Validated telemetry, checked for fire evidence. */
  handleTelemetry(src: DeviceRef, reading: TelemetryReading, receivedAt: number): void;
  /** A household's response; throws a SmokehubError (not_found, forbidden, conflict) when refused. */
  respond(household: string, alarmId: string, response: ResponseKind, cause: { by: Actor; via: Via }): unknown;
}

/** Everything the broker needs of the alarm service. */
export interface BrokerAlarmPort extends InboundAlarmSink {
  /** Calls back once everything journalled so far is committed and on disk (an event's PUBACK waits for it). */
  whenDurable(cb: () => void): void;
  /** Open alarms a household must be (re)sent when it (re)subscribes to its alerts. */
  concerning(household: string): AlarmView[];
  /** Every open alarm (the station's catch-up). */
  openViews(): AlarmView[];
}

export interface PublishOptions {
  qos?: 0 | 1;
  retain?: boolean;
}

/** Publishing from the hub itself (bypasses client ACLs); the broker is one. */
export interface Publisher {
  /** `done` hears whether the broker took it (a retained message fails when its store cannot be written). */
  publish(topic: string, payload: string | Buffer, opts?: PublishOptions, done?: (err: Error | null) => void): void;
}

/**
 * A message under a household subtree another program lays out (`z2m`: a Zigbee2MQTT gateway's
 * base topic; `homeassistant`: HA's discovery prefix), after the ACL and the tree's size limit.
 */
export interface TreeMessage {
  principal: Principal;
  clientId: string;
  household: string;
  /** The levels below `smokehub/h/H/<tree>/`. */
  path: string[];
  payload: Buffer;
  now: number;
  /** The sending device (a gateway), when a device sent it. */
  ref?: DeviceRef;
}

/**
 * The extension that speaks a tree handles its messages: synchronously (an event it derives is
 * journalled before the PUBACK), never throwing on bad input. `reject` counts, logs and answers
 * on the sender's `error` topic. Returns whether the message may be forwarded as it is.
 */
export type TreeHandler = (m: TreeMessage, reject: (issues: Issue[], channel: string) => void) => 'forward' | 'drop';

/** Where extensions plug in the handler of a tree (the message router). */
export interface TreeRoutes {
  /** Returns a function that removes the handler; a tree without one drops its messages. */
  handleTree(tree: HouseholdTree, handler: TreeHandler): () => void;
}
