/**
 * A cluster node's parts that hang on its broker and hub bus, started once the broker exists and
 * stopped before the shared connections close (app/hub.ts): the cluster-wide device presence
 * (written from this node's bus, read through a snapshot by the status routes), the device
 * activity relayed to the other nodes, `/health` `redis`, and the once-per-cluster gate (leases).
 */
import type { HubBus, SingletonGate } from '../app/context.ts';
import type { HubHealth } from '../app/hub-health.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';
import type { DevicePresence } from '../broker/device-presence.ts';
import type { ClusterNodeParts } from './cluster-node.ts';
import { DeviceActivityRelay, relayBusActivity } from './device-activity-relay.ts';
import { LeaseGate } from './lease-gate.ts';
import { PresenceSnapshot } from './presence-snapshot.ts';

export interface ClusterWiring {
  presence: PresenceSnapshot;
  activity: DeviceActivityRelay;
  gate: SingletonGate;
  stop(): Promise<void>;
}

export async function wireClusterNode(
  c: ClusterNodeParts,
  d: { bus: HubBus; localPresence: Pick<DevicePresence, 'info'>; devices: () => string[]; health: HubHealth; clock: Clock; logger: Logger },
): Promise<ClusterWiring> {
  // Devices connected to this node are written to the cluster's presence; other nodes read it.
  d.bus.on('cluster', 'device-connected', (ref, at) => c.presence.connected(ref.device, at));
  d.bus.on('cluster', 'device-disconnected', (ref, at) => c.presence.disconnected(ref.device, at));
  const presence = new PresenceSnapshot({
    presence: c.presence,
    local: (id) => d.localPresence.info(id),
    devices: d.devices,
    clock: d.clock,
    logger: d.logger,
  });
  await presence.start();
  const activity = new DeviceActivityRelay({ redis: c.shared.connection(), nodeId: c.nodeId, clock: d.clock, logger: d.logger });
  await activity.start();
  relayBusActivity(d.bus, activity);
  // Without Redis the node refuses devices (they move to a node that has it): /health says so.
  c.shared.onHealthChange((ok) => d.health.report('redis', ok ? null : { message: c.shared.problem() ?? 'Redis unreachable', at: d.clock.now() }));
  const gate = new LeaseGate({ keeper: c.leases, logger: d.logger });
  return {
    presence,
    activity,
    gate,
    async stop() {
      presence.stop();
      d.bus.removeOwner('cluster');
      d.bus.removeOwner('cluster-activity');
      // Leases released first: another node takes over at its next attempt.
      await gate.stop().catch((err) => d.logger.error({ err }, 'leases not released'));
      await activity.stop().catch(() => {});
    },
  };
}
