/**
 * A HubContext for extension unit tests, without a hub: a temporary SQLite database, an injected
 * clock, a fake registry, an MQTT publisher that records, and a SingletonGate the test toggles.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterContext, HubContext, SingletonGate } from '../../hub/app/context.ts';
import { EventBus } from '../../hub/app/event-bus.ts';
import { loadConfig, type HubConfig } from '../../hub/config/config.ts';
import type { Clock } from '../../hub/core/clock.ts';
import { silentLogger } from '../../hub/observability/logger.ts';
import { MetricsRegistry } from '../../hub/observability/metrics.ts';
import { openDatabase } from '../../hub/store/database.ts';
import type { Device } from '../../hub/store/registry-types.ts';

/** A gate whose leases the test gives and takes (`set`); watchers hear each change. */
export class ToggleGate implements SingletonGate {
  private readonly held = new Map<string, boolean>();
  private readonly listeners = new Map<string, Set<(held: boolean) => void>>();
  /** Names asked for or watched, in order (the extension's leases). */
  readonly asked = new Set<string>();

  holds(name: string): boolean {
    this.asked.add(name);
    return this.held.get(name) ?? false;
  }

  watch(name: string, listener: (held: boolean) => void): () => void {
    this.asked.add(name);
    const set = this.listeners.get(name) ?? new Set();
    this.listeners.set(name, set);
    set.add(listener);
    listener(this.holds(name));
    return () => set.delete(listener);
  }

  set(name: string, held: boolean): void {
    if ((this.held.get(name) ?? false) === held) return;
    this.held.set(name, held);
    for (const l of [...(this.listeners.get(name) ?? [])]) l(held);
  }

  watchers(name: string): number {
    return this.listeners.get(name)?.size ?? 0;
  }
}

export interface FakeHub {
  ctx: HubContext;
  gate: ToggleGate;
  published: Array<{ topic: string; payload: string }>;
  /** Closes the database and removes its directory. */
  close(): void;
}

export interface FakeHousehold {
  id: string;
  team: string;
  phones: string[];
}

export function fakeHubContext(o: {
  clock: Clock;
  config?: Partial<HubConfig>;
  devices?: Device[];
  households?: FakeHousehold[];
  cluster?: ClusterContext;
}): FakeHub {
  const dir = mkdtempSync(join(tmpdir(), 'smokehub-fake-hub-'));
  const db = openDatabase(dir);
  const logger = silentLogger();
  const metrics = new MetricsRegistry();
  const gate = new ToggleGate();
  const published: FakeHub['published'] = [];
  const devices = o.devices ?? [];
  const households = o.households ?? [];
  const registry = {
    listDevices: () => devices,
    listHouseholds: () => households,
    getHousehold: (id: string) => households.find((h) => h.id === id),
    householdsOfTeam: (team: string) => households.filter((h) => h.team === team),
    getDevice: (id: string) => devices.find((d) => d.id === id),
  };
  const noop = () => {};
  const http = new Proxy({}, { get: () => noop });
  const ctx = {
    config: { ...loadConfig({ flags: {}, env: {} }), dataDir: dir, ...o.config },
    logger,
    metrics,
    db,
    clock: o.clock,
    registry,
    bus: new EventBus(metrics, logger, o.clock),
    mqtt: {
      publish: (topic: string, payload: string | Buffer, _opts?: unknown, done?: (err: Error | null) => void) => {
        published.push({ topic, payload: String(payload) });
        done?.(null);
      },
    },
    ingress: { holdTelemetryWhile: noop },
    mqttTrees: {},
    http,
    alarms: { viewOf: () => undefined, concerning: () => [], note: noop, respond: noop, handleDeviceEvent: () => true, handleTelemetry: noop },
    alarmDetails: new Map(),
    singleton: gate,
    cluster: o.cluster ?? null,
  } as unknown as HubContext;
  return {
    ctx,
    gate,
    published,
    close: () => {
      if (db.open) db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
