/**
 * The hub's side of each household's Home Assistant (docs/home-assistant.md): which households
 * are served (those with a household user — HA connects as that user — whose HA announced itself
 * with its birth message: ha-announced.ts), their retained discovery
 * configs, availability, alarm state and battery states, and what HA publishes back (its birth
 * message on `…/homeassistant/status`, a button press on `…/homeassistant/respond`).
 *
 * Work off the alarm path: bus listeners only mark households dirty, published on the next turn;
 * whole households (at start, on a rescan) are published a chunk at a time, the next chunk once
 * the broker took the previous one, so 16,000 households never hold the event loop for long.
 */
import type { AlarmPort, MqttPublisher } from '../app/context.ts';
import type { TreeMessage } from '../broker/ports.ts';
import type { Logger } from '../observability/logger.ts';
import type { Counter } from '../observability/metrics.ts';
import { ERROR_CODES, SmokehubError } from '../protocol/errors.ts';
import type { AlarmView, Issue } from '../protocol/schema.ts';
import type { RegistryStore } from '../store/registry-types.ts';
import {
  batteryConfig,
  batteryObjectId,
  batteryState,
  type DiscoveryMessage,
  type DiscoveryOptions,
  haTopics,
  householdConfigs,
  PAYLOAD_OFFLINE,
  PAYLOAD_ONLINE,
} from './discovery.ts';
import { householdState, parsePress, respondTarget, sameState, type HaState } from './ha-state.ts';

/** Households published per turn of the event loop at start or on a rescan. */
export const CHUNK_HOUSEHOLDS = 10;
/** A household's birth messages closer together than this are answered once (at the end). */
export const BIRTH_MIN_INTERVAL_MS = 2000;

const RETAIN = { qos: 1, retain: true } as const;

export interface BatteryReading {
  percent: number;
  at: number;
}

export interface HaHouseholdsDeps {
  mqtt: MqttPublisher;
  alarms: Pick<AlarmPort, 'concerning' | 'respond'>;
  registry: Pick<RegistryStore, 'getHousehold' | 'householdsOfTeam' | 'listDevices' | 'listUsers'>;
  discovery: DiscoveryOptions;
  log: Logger;
  now: () => number;
  /** Messages published, by kind (config, state, battery, availability). */
  published: Counter;
  /** Button presses, by response and outcome (recorded, no_alarm, refused). */
  presses: Counter;
  /** Last known battery levels (supervision's, at start). */
  batteries?: Map<string, BatteryReading>;
  /** Households whose HA announced itself (birth message); absent: every household with a household user. */
  announced?: { has(household: string): boolean; add(household: string, at: number): void; refresh?(): void };
}

interface Served {
  /** Devices whose battery sensor config is published, with the rounded level last published. */
  batteries: Map<string, number>;
  state: HaState | null;
  lastBirth: number;
  birthTimer: NodeJS.Timeout | null;
}

export class HaHouseholds {
  private readonly served = new Map<string, Served>();
  private readonly batteries: Map<string, BatteryReading>;
  private readonly dirty = new Set<string>();
  private flushScheduled = false;
  private readonly queue: string[] = [];
  private draining: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly d: HaHouseholdsDeps) {
    this.batteries = new Map(d.batteries ?? []);
  }

  /** Households served now. */
  count(): number {
    return this.served.size;
  }

  isServed(household: string): boolean {
    return this.served.has(household);
  }

  /** The households that should be served: those with a household user whose HA announced itself. */
  wanted(): Set<string> {
    const out = new Set<string>();
    for (const u of this.d.registry.listUsers()) {
      if (u.role !== 'household' || !u.household || !this.d.registry.getHousehold(u.household)) continue;
      if (this.d.announced && !this.d.announced.has(u.household)) continue;
      out.add(u.household);
    }
    return out;
  }

  /**
   * Serves the households that gained a household user, removes the entities of those that lost
   * their last one. Resolves once the new ones are published (a chunk per turn).
   */
  rescan(): Promise<void> {
    this.d.announced?.refresh?.();
    const wanted = this.wanted();
    for (const h of [...this.served.keys()]) if (!wanted.has(h)) this.remove(h);
    for (const h of wanted) {
      if (this.served.has(h)) continue;
      this.served.set(h, { batteries: new Map(), state: null, lastBirth: 0, birthTimer: null });
      this.queue.push(h);
    }
    return this.drain();
  }

  /** Publishes the queued households a chunk at a time, the next chunk once the broker took this one. */
  private drain(): Promise<void> {
    if (this.draining) return this.draining;
    const run = async () => {
      while (this.queue.length > 0 && !this.stopped) {
        const chunk = this.queue.splice(0, CHUNK_HOUSEHOLDS);
        const pending: Promise<void>[] = [];
        for (const h of chunk) if (this.served.has(h)) pending.push(...this.publishHousehold(h));
        await Promise.all(pending);
        await new Promise((r) => setImmediate(r));
      }
    };
    this.draining = run().finally(() => {
      this.draining = null;
    });
    return this.draining;
  }

  /** Everything of one household: configs, availability, state, batteries. Returns the broker's callbacks. */
  private publishHousehold(h: string): Promise<void>[] {
    const s = this.served.get(h);
    const hh = this.d.registry.getHousehold(h);
    if (!s || !hh) return [];
    const info = { id: h, name: hh.name };
    const out: Promise<void>[] = [];
    for (const m of householdConfigs(info, this.d.discovery)) out.push(this.sendConfig(m));
    out.push(this.send(haTopics.availability(h), PAYLOAD_ONLINE, 'availability'));
    s.state = null;
    out.push(...this.publishState(h));
    s.batteries.clear();
    for (const dev of this.d.registry.listDevices({ household: h })) {
      const b = this.batteries.get(dev.id);
      if (!b) continue;
      out.push(this.sendConfig(batteryConfig(info, dev, this.d.discovery)));
      out.push(this.send(haTopics.battery(h, dev.id), batteryState(b.percent, b.at), 'battery'));
      s.batteries.set(dev.id, Math.round(b.percent));
    }
    return out;
  }

  /** Clears a household's retained topics (HA removes an entity whose config is emptied). */
  private remove(h: string): void {
    const s = this.served.get(h);
    if (!s) return;
    if (s.birthTimer) clearTimeout(s.birthTimer);
    this.served.delete(h);
    const info = { id: h, name: this.d.registry.getHousehold(h)?.name ?? h };
    for (const m of householdConfigs(info, this.d.discovery)) this.send(m.topic, '', 'config');
    for (const dev of s.batteries.keys()) {
      this.send(haTopics.config(h, 'sensor', batteryObjectId(dev)), '', 'config');
      this.send(haTopics.battery(h, dev), '', 'battery');
    }
    this.send(haTopics.state(h), '', 'state');
    this.send(haTopics.availability(h), '', 'availability');
    this.d.log.info({ household: h }, 'Home Assistant entities removed: the household has no household user any more');
  }

  /** Publishes H's state when it changed (or always, after `served.state` was reset). */
  private publishState(h: string): Promise<void>[] {
    const s = this.served.get(h);
    if (!s) return [];
    const next = householdState(h, this.d.alarms.concerning(h), this.d.now());
    if (s.state && sameState(s.state, next)) return [];
    s.state = next;
    return [this.send(haTopics.state(h), JSON.stringify(next), 'state')];
  }

  /** An alarm changed: the households it may concern are published on the next turn. */
  onAlarm(view: AlarmView): void {
    for (const h of this.d.registry.householdsOfTeam(view.team)) if (this.served.has(h.id)) this.dirty.add(h.id);
    for (const h of view.nearbyHouseholds ?? []) if (this.served.has(h)) this.dirty.add(h);
    if (this.dirty.size === 0 || this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const hs = [...this.dirty];
      this.dirty.clear();
      if (this.stopped) return;
      for (const h of hs) this.publishState(h);
    });
  }

  /** A device's battery level (telemetry): its sensor appears with its first level, its state follows. */
  onBattery(household: string, device: string, percent: number, at: number): void {
    const prev = this.batteries.get(device);
    if (prev && prev.at > at) return;
    this.batteries.set(device, { percent, at });
    const s = this.served.get(household);
    if (!s || this.stopped) return;
    const rounded = Math.round(percent);
    const published = s.batteries.get(device);
    if (published === rounded) return;
    if (published === undefined) {
      const dev = this.d.registry.listDevices({ household }).find((x) => x.id === device);
      const hh = this.d.registry.getHousehold(household);
      if (!dev || !hh) return;
      this.sendConfig(batteryConfig({ id: household, name: hh.name }, dev, this.d.discovery));
    }
    s.batteries.set(device, rounded);
    this.send(haTopics.battery(household, device), batteryState(percent, at), 'battery');
  }

  /** The tree handler (`smokehub/h/H/homeassistant/…`): the ACL let only H's household users get here, on `status` or `respond`. */
  handle(m: TreeMessage, reject: (issues: Issue[], channel: string) => void): 'forward' | 'drop' {
    const [what] = m.path;
    if (what === 'status') this.onStatus(m, reject);
    else if (what === 'respond') this.onRespond(m, reject);
    // Nothing HA publishes is for other subscribers.
    return 'drop';
  }

  /** HA's birth (`online`): it (re)started, so the household's entities are published again. */
  private onStatus(m: TreeMessage, reject: (issues: Issue[], channel: string) => void): void {
    const text = m.payload.length <= 32 ? m.payload.toString().trim() : '';
    if (text === PAYLOAD_OFFLINE) return; // HA's last will: nothing to do.
    if (text !== PAYLOAD_ONLINE) {
      reject([{ code: ERROR_CODES.BAD_PAYLOAD, message: 'Home Assistant status must be online or offline' }], 'homeassistant');
      return;
    }
    const h = m.household;
    // Only a household user of H may publish here (ACL): its HA announced itself.
    this.d.announced?.add(h, m.now);
    let s = this.served.get(h);
    if (!s) {
      // Its first birth, or a household user added since the last scan: served from now on.
      s = { batteries: new Map(), state: null, lastBirth: 0, birthTimer: null };
      this.served.set(h, s);
    }
    const since = m.now - s.lastBirth;
    if (since >= BIRTH_MIN_INTERVAL_MS) {
      s.lastBirth = m.now;
      this.publishHousehold(h);
    } else if (!s.birthTimer) {
      const served = s;
      served.birthTimer = setTimeout(() => {
        served.birthTimer = null;
        served.lastBirth = this.d.now();
        if (!this.stopped && this.served.get(h) === served) this.publishHousehold(h);
      }, BIRTH_MIN_INTERVAL_MS - since);
      served.birthTimer.unref();
    }
    this.d.log.info({ household: h, user: m.principal.type === 'user' ? m.principal.username : undefined }, 'Home Assistant (re)started: entities published');
  }

  /** A button: H's response to the alarm `respond_to` (journalled; the PUBACK waits for it). */
  private onRespond(m: TreeMessage, reject: (issues: Issue[], channel: string) => void): void {
    const response = parsePress(m.payload);
    if (!response) {
      reject([{ code: ERROR_CODES.BAD_PAYLOAD, message: 'a Home Assistant button sends coming, unable or need-help' }], 'homeassistant');
      return;
    }
    const h = m.household;
    const target = respondTarget(this.d.alarms.concerning(h), h);
    if (!target) {
      this.d.presses.inc({ response, outcome: 'no_alarm' });
      reject([{ code: ERROR_CODES.NOT_FOUND, message: 'no open alarm of another household to answer' }], 'homeassistant');
      return;
    }
    const p = m.principal;
    const by = p.type === 'user' ? { kind: 'user' as const, id: p.username, role: p.role } : { kind: 'device' as const, id: p.device };
    try {
      this.d.alarms.respond(h, target.alarm, response, { by, via: 'mqtt' });
    } catch (err) {
      if (!(err instanceof SmokehubError)) throw err;
      this.d.presses.inc({ response, outcome: 'refused' });
      reject([{ code: err.code, message: err.message }], 'homeassistant');
      return;
    }
    this.d.presses.inc({ response, outcome: 'recorded' });
    this.d.log.info({ household: h, alarm: target.alarm, response, by }, 'Home Assistant response recorded');
  }

  /** Graceful stop: every served household's entities become unavailable. Resolves once the broker took it. */
  goOffline(): Promise<void> {
    this.stopped = true;
    const pending: Promise<void>[] = [];
    for (const [h, s] of this.served) {
      if (s.birthTimer) clearTimeout(s.birthTimer);
      pending.push(this.send(haTopics.availability(h), PAYLOAD_OFFLINE, 'availability'));
    }
    return Promise.all(pending).then(() => undefined);
  }

  /** Stops publishing (timers cleared). */
  stop(): void {
    this.stopped = true;
    for (const s of this.served.values()) if (s.birthTimer) clearTimeout(s.birthTimer);
    this.queue.length = 0;
  }

  private sendConfig(m: DiscoveryMessage): Promise<void> {
    return this.send(m.topic, JSON.stringify(m.config), 'config');
  }

  /** A retained publish; resolves when the broker took it (or failed: logged by the broker, counted here). */
  private send(topic: string, payload: string, kind: string): Promise<void> {
    return new Promise((resolve) => {
      this.d.mqtt.publish(topic, payload, RETAIN, (err) => {
        this.d.published.inc({ kind, outcome: err ? 'failed' : 'ok' });
        resolve();
      });
    });
  }
}
