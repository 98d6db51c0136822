/**
 * The Zigbee2MQTT extension (docs/zigbee2mqtt.md): a household's Z2M gateway, enrolled as a
 * device of kind `zigbee2mqtt`, connects to the hub's broker with `base_topic: smokehub/h/H/z2m`.
 * This extension handles that tree (z2m-gateways.ts: Zigbee devices enrolled as devices of H,
 * their states turned into contract events and telemetry) and rings the household's Zigbee sirens
 * (zigbee-sirens.ts). Always on: without an enrolled gateway it does nothing.
 */
import type { HubContext, HubExtension } from '../app/context.ts';
import type { DeviceRef } from '../broker/ports.ts';
import type { TimerHandle } from '../core/clock.ts';
import type { AlarmView } from '../protocol/schema.ts';
import { SIREN_REFRESH_MS } from './siren-commands.ts';
import { Z2mGateways } from './z2m-gateways.ts';
import { ZigbeeSirens } from './zigbee-sirens.ts';
import { ZigbeeStore } from './zigbee-store.ts';

const OWNER = 'zigbee';

export interface ZigbeeExtensionOptions {
  /** How often connected gateways and their online devices are marked heard (default: a quarter of the supervision window, at most 30 s). */
  vouchIntervalMs?: number;
  /** How often ringing sirens get their start again (default SIREN_REFRESH_MS). */
  sirenRefreshMs?: number;
}

export interface ZigbeeHandle {
  gateways: Z2mGateways;
  sirens: ZigbeeSirens;
}

export function zigbeeExtension(opts: ZigbeeExtensionOptions = {}): HubExtension & { handle: ZigbeeHandle | null } {
  let ctx: HubContext | null = null;
  let removeTree: (() => void) | null = null;
  let store: ZigbeeStore | null = null;
  const timers = new Map<string, TimerHandle>();
  let stopped = false;

  const ext: HubExtension & { handle: ZigbeeHandle | null } = {
    name: OWNER,
    handle: null,

    start(c: HubContext) {
      ctx = c;
      stopped = false;
      const { registry, bus, alarms, clock } = c;
      const log = c.logger.child({ module: 'zigbee' });
      const zstore = new ZigbeeStore(c.db);
      store = zstore;
      const commands = c.metrics.counter('smokehub_zigbee_siren_commands_total', 'Commands the hub sent to Zigbee sirens, by command (start, stop)');

      const householdsOf = (view: AlarmView) => {
        const out = new Set(registry.householdsOfTeam(view.team).map((h) => h.id));
        for (const h of view.nearbyHouseholds ?? []) out.add(h);
        return [...out];
      };
      // The gateways tell the sirens about enrolments and reconnections (built next).
      let sirens: ZigbeeSirens | null = null;
      const gateways = new Z2mGateways({
        store: zstore,
        registry,
        alarms,
        bus,
        log,
        clock,
        lists: c.metrics.counter(
          'smokehub_zigbee_device_lists_total',
          'Zigbee2MQTT device lists (bridge/devices) received, by outcome (applied; deferred: flood control, the latest wins)',
        ),
        events: {
          devicesChanged: (_gw, household) => sirens?.seed(household, alarms.concerning(household)),
          // What is open now (the journal's, after a restart), then the start or stop again.
          gatewayBack: (_gw, household) => sirens?.seed(household, alarms.concerning(household)),
        },
      });
      sirens = new ZigbeeSirens({
        mqtt: c.mqtt,
        childrenOf: (h) => gateways.childrenOf(h),
        reachable: (gw) => gateways.reachable(gw),
        householdsOf,
        log,
        commands,
      });
      const s = sirens;
      c.metrics.gauge('smokehub_zigbee_devices', 'Zigbee devices enrolled through Zigbee2MQTT gateways', () => gateways.count());

      removeTree = c.mqttTrees.handleTree('z2m', (m, reject) => gateways.handle(m, reject));
      bus.on(OWNER, 'alarm-changed', (view) => s.onAlarm(view));
      const onGateway = (connected: boolean) => (ref: DeviceRef, at: number) => {
        if (ref.kind === 'zigbee2mqtt') gateways.gatewayConnection(ref, connected, at);
      };
      bus.on(OWNER, 'device-connected', onGateway(true));
      bus.on(OWNER, 'device-disconnected', onGateway(false));

      // Households with sirens learn the alarms already open (a restart during an alarm).
      for (const h of new Set(
        registry
          .listDevices({})
          .filter((d) => d.kind === 'siren')
          .map((d) => d.household),
      ))
        s.seed(h, alarms.concerning(h));

      const every = (name: string, ms: number, fn: () => void) => {
        const tick = () => {
          if (stopped) return;
          try {
            fn();
          } catch (err) {
            log.error({ err, timer: name }, 'zigbee timer failed');
          }
          timers.set(name, clock.setTimer(ms, tick));
        };
        timers.set(name, clock.setTimer(ms, tick));
      };
      const vouchMs = opts.vouchIntervalMs ?? Math.min(30_000, Math.max(250, (c.config.supervisionWindowS * 1000) / 4));
      every('vouch', vouchMs, () => {
        gateways.vouch(clock.now());
        const lqi = gateways.takeLinkQualities();
        if (lqi.length > 0) zstore.saveLinkQuality(lqi);
      });
      every('siren-refresh', opts.sirenRefreshMs ?? SIREN_REFRESH_MS, () => s.refresh());
      ext.handle = { gateways, sirens: s };
      log.info({ vouchMs }, 'zigbee2mqtt support started');
    },

    stop() {
      stopped = true;
      for (const t of timers.values()) t.cancel();
      timers.clear();
      removeTree?.();
      removeTree = null;
      ctx?.bus.removeOwner(OWNER);
      ext.handle?.gateways.stop();
      const lqi = ext.handle?.gateways.takeLinkQualities() ?? [];
      if (lqi.length > 0) store?.saveLinkQuality(lqi);
      ext.handle = null;
    },
  };
  return ext;
}
