/**
 * What the hub gives each of its parts (the composition root builds it once).
 * Extensions (telemetry, supervision, ...) are started with it and stopped in reverse order,
 * in the spirit of zigbee2mqtt's extensions and fastify's encapsulated plugins.
 */
import type { Logger } from '../observability/logger.ts';
import type { MetricsRegistry } from '../observability/metrics.ts';
import type { HubConfig } from '../config/config.ts';
import type { Db } from '../store/database.ts';
import type { Clock } from '../core/clock.ts';
import type { Router } from '../http/router.ts';
import type { Actor, AlarmView, ResponseKind, Notice, Via } from '../protocol/schema.ts';
import type { DeviceEvents, DeviceRef, InboundAlarmSink, PublishOptions, TreeRoutes } from '../broker/ports.ts';
import type { RegistryStore } from '../store/registry-types.ts';
import type { PgPool } from '../cluster/pg-pool.ts';
import type { RemoteActivity } from '../cluster/device-activity-relay.ts';

/** The device a message came from (defined by the broker, which resolves it: broker/ports.ts). */
export type { DeviceRef, PublishOptions };

/**
 * Events the hub emits on its bus: the broker's device events (broker/ports.ts) and the alarm
 * service's. Listeners must be quick (enqueue, don't work); a throw is caught and counted.
 */
export interface HubEvents extends DeviceEvents {
  /** An alarm changed state or responders; `transition` names what happened. */
  'alarm-changed': [view: AlarmView, transition: string];
  notice: [notice: Notice];
}

/** The hub's event bus (app/event-bus.ts): listeners keyed by owner, each wrapped (a throw is counted, never reaches the emitter). */
export interface HubBus {
  /** Adds `owner`'s listener; returns a function that removes it. */
  on<K extends keyof HubEvents>(owner: string, event: K, listener: (...args: HubEvents[K]) => void): () => void;
  /** Removes every listener of `owner` (call on stop). */
  removeOwner(owner: string): void;
  emit<K extends keyof HubEvents>(event: K, ...args: HubEvents[K]): void;
}

/** Publishing from the hub itself (bypasses client ACLs). */
export interface MqttPublisher {
  /** `done` hears whether the broker took it (a retained message fails when its store cannot be written). */
  publish(topic: string, payload: string | Buffer, opts?: PublishOptions, done?: (err: Error | null) => void): void;
}

/** The broker's ingress control: a part that stores telemetry holds it back while it is full. */
export interface IngressControl {
  /** Telemetry is neither handled nor acknowledged while `check()` returns true (devices keep it). */
  holdTelemetryWhile(check: () => boolean): void;
}

/**
 * What extensions may do with alarms (the alarm service implements it). An extension that
 * translates another protocol into the contract (Zigbee2MQTT) hands its device events and
 * telemetry on as the broker's handlers do (`InboundAlarmSink`).
 */
export interface AlarmPort extends Pick<InboundAlarmSink, 'handleDeviceEvent' | 'handleTelemetry'> {
  /** A household's response; throws a typed error (not_found, forbidden, conflict) when refused. */
  respond(household: string, alarmId: string, response: ResponseKind, cause: { by: Actor; via: Via }): AlarmView;
  viewOf(alarmId: string): AlarmView | undefined;
  /** Open alarms a household must know about. */
  concerning(household: string): AlarmView[];
  /** A timeline entry that does not change the alarm (an SMS sent, a call made). */
  note(alarmId: string, transition: string, detail: Record<string, unknown>, cause: { by: Actor; via: Via }): void;
}

/** Extra fields an extension adds to `GET /api/alarms/:id` (e.g. `contacts`: who was texted and called). */
export type AlarmDetailProvider = (alarmId: string) => unknown;

/**
 * Work that must run once per hub — cron jobs, supervision sweeps, the SMS queue and its modems,
 * pruning. On a single box this node always holds it; in a cluster, the node holding the lease
 * `name` in PostgreSQL (hub/cluster/leases.ts), taken over within seconds when that node dies.
 */
export interface SingletonGate {
  /** Whether this node runs `name` now (check before each run: a lease can be lost at any time). */
  holds(name: string): boolean;
  /** `listener(true)` when this node starts holding `name`, `(false)` when it stops; called at once with the current state. Returns an unsubscribe. */
  watch(name: string, listener: (held: boolean) => void): () => void;
}

/** The single box's gate: this node runs everything. */
export const SINGLE_BOX: SingletonGate = {
  holds: () => true,
  watch: (_name, listener) => {
    listener(true);
    return () => {};
  },
};

/** What a cluster node shares with the others (null on a single box). */
export interface ClusterContext {
  /** This node's name (unique in the cluster, stable across restarts). */
  nodeId: string;
  /** The cluster's PostgreSQL (registry, journal, leases); extensions keep their shared state there. */
  pool: PgPool;
  /**
   * The device activity of the other nodes (cluster/device-activity-relay.ts): what a once-per-cluster
   * part (supervision) must hear of devices connected elsewhere. Not on the hub bus: per-node work
   * (telemetry, alarms) handles its own devices only.
   */
  activity: { onRemote(listener: (a: RemoteActivity) => void): () => void };
}

export interface HubContext {
  config: HubConfig;
  logger: Logger;
  metrics: MetricsRegistry;
  db: Db;
  clock: Clock;
  registry: RegistryStore;
  bus: HubBus;
  mqtt: MqttPublisher;
  ingress: IngressControl;
  /** Handlers for the household trees another program lays out (`z2m`, `homeassistant`). */
  mqttTrees: TreeRoutes;
  http: Router;
  alarms: AlarmPort;
  /** Field name → provider, merged into `GET /api/alarms/:id`. */
  alarmDetails: Map<string, AlarmDetailProvider>;
  /** What runs once per hub runs only while `singleton.holds(name)`. */
  singleton: SingletonGate;
  /** Set on a cluster node (`--postgres`/`--redis`); `db` is then this node's own SQLite (outbox, node-local state). */
  cluster: ClusterContext | null;
}

export interface HubExtension {
  readonly name: string;
  /** Called once the database, broker and HTTP server exist, before they accept connections. */
  start(ctx: HubContext): void | Promise<void>;
  /**
   * Graceful shutdown begins: the broker still runs, so last words to MQTT clients go out and
   * reach the retained store (e.g. an availability `offline`). Called in reverse start order.
   */
  beforeBrokerClose?(): void | Promise<void>;
  /** Graceful shutdown: flush and release (the broker is closed by now). Called in reverse start order. */
  stop?(): void | Promise<void>;
}
