/**
 * Home Assistant (`--homeassistant`, docs/home-assistant.md): MQTT discovery under each served
 * household's prefix `smokehub/h/H/homeassistant` (ha-households.ts), the alarm state and battery
 * levels following the bus, HA's birth message and answer buttons through the tree handler.
 * Availability follows the hub: `online` at start, `offline` on a graceful stop.
 */
import type { HubContext, HubExtension } from '../app/context.ts';
import type { DeviceRef } from '../broker/ports.ts';
import type { TimerHandle } from '../core/clock.ts';
import { packageVersion } from '../http/health-routes.ts';
import type { TelemetryReading } from '../protocol/schema.ts';
import { DeviceHealthStore } from '../supervision/device-health-store.ts';
import type { HaLanguage } from './discovery.ts';
import { HaHouseholds, type BatteryReading } from './ha-households.ts';
import { HaAnnounced } from './ha-announced.ts';

const OWNER = 'homeassistant';
/** How often households that gained or lost a household user are looked for (no event tells). */
export const RESCAN_MS = 60_000;

export interface HomeAssistantOptions {
  rescanMs?: number;
}

export function homeassistantExtension(opts: HomeAssistantOptions = {}): HubExtension & { handle: HaHouseholds | null; ready: Promise<void> | null } {
  let ctx: HubContext | null = null;
  let removeTree: (() => void) | null = null;
  let timer: TimerHandle | null = null;
  let stopped = false;

  const ext: HubExtension & { handle: HaHouseholds | null; ready: Promise<void> | null } = {
    name: OWNER,
    handle: null,
    ready: null,

    start(c: HubContext) {
      ctx = c;
      stopped = false;
      const log = c.logger.child({ module: 'homeassistant' });
      let batteries = new Map<string, BatteryReading>();
      try {
        batteries = new DeviceHealthStore(c.db).loadBatteries();
      } catch (err) {
        log.warn({ err }, 'battery levels not read: Home Assistant shows each as its device next reports it');
      }
      const households = new HaHouseholds({
        mqtt: c.mqtt,
        alarms: c.alarms,
        registry: c.registry,
        discovery: { lang: c.config.homeassistantLanguage as HaLanguage, version: packageVersion() },
        log,
        now: () => c.clock.now(),
        published: c.metrics.counter('smokehub_homeassistant_published_total', 'Retained messages published for Home Assistant, by kind and outcome'),
        presses: c.metrics.counter('smokehub_homeassistant_presses_total', 'Home Assistant answer buttons pressed, by response and outcome'),
        batteries,
        announced: new HaAnnounced(c.db),
      });
      ext.handle = households;
      c.metrics.gauge('smokehub_homeassistant_households', 'Households whose Home Assistant entities the hub publishes', () => households.count());

      removeTree = c.mqttTrees.handleTree('homeassistant', (m, reject) => households.handle(m, reject));
      c.bus.on(OWNER, 'alarm-changed', (view) => households.onAlarm(view));
      c.bus.on(OWNER, 'telemetry', (ref: DeviceRef, reading: TelemetryReading, at: number) => {
        const b = reading.values.battery;
        if (b !== undefined) households.onBattery(ref.household, ref.device, b, reading.ts ?? at);
      });

      // Published a chunk per turn, not awaited: the hub starts listening meanwhile. From the next
      // turn on: the hub restores the open alarms from the journal right after starting its
      // extensions (synchronously), so the first states published already show them.
      const startedAt = performance.now();
      ext.ready = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => (stopped ? undefined : households.rescan()))
        .then(() => {
          log.info({ households: households.count(), ms: Math.round(performance.now() - startedAt) }, 'Home Assistant discovery published');
        });
      const tick = () => {
        if (stopped) return;
        households.rescan().catch((err) => log.error({ err }, 'Home Assistant rescan failed'));
        timer = c.clock.setTimer(opts.rescanMs ?? RESCAN_MS, tick);
      };
      timer = c.clock.setTimer(opts.rescanMs ?? RESCAN_MS, tick);
    },

    async beforeBrokerClose() {
      await ext.handle?.goOffline();
    },

    stop() {
      stopped = true;
      timer?.cancel();
      timer = null;
      removeTree?.();
      removeTree = null;
      ctx?.bus.removeOwner(OWNER);
      ext.handle?.stop();
      ext.handle = null;
    },
  };
  return ext;
}
