/**
 * The hub's side of every household's Zigbee2MQTT gateway: it reads what Z2M publishes under
 * `smokehub/h/H/z2m/` (the router hands it over after the ACL: only H's gateway gets here) and
 * turns it into the contract — Zigbee devices enrolled as devices of H, their alarms, tests,
 * tampers and telemetry handed to the alarm service and the bus exactly as a device's own
 * `event`/`telemetry` would be, their presence from Z2M's availability.
 *
 * Presence: a Zigbee device is connected while Z2M says `online` and its gateway is connected;
 * its gateway disconnecting (or Z2M's will, `bridge/state` offline) disconnects all of them, and
 * they come back with their last availability when it reconnects. `vouch()` (on a timer) keeps
 * them heard meanwhile: battery detectors sleep for hours, Z2M watches them (docs/zigbee2mqtt.md).
 */
import type { DeviceRef, TreeMessage } from '../broker/ports.ts';
import type { AlarmPort, HubBus } from '../app/context.ts';
import type { RegistryStore } from '../store/registry-types.ts';
import type { Issue } from '../protocol/schema.ts';
import { isValidId } from '../protocol/topics.ts';
import { ERROR_CODES } from '../protocol/errors.ts';
import type { Logger } from '../observability/logger.ts';
import { readDeviceList, readOnlineState } from './z2m-devices.ts';
import { translateState, type RememberedState } from './z2m-state.ts';
import type { ZigbeeChild, ZigbeeStore } from './zigbee-store.ts';
import type { Clock } from '../core/clock.ts';
import type { Counter } from '../observability/metrics.ts';

/** Largest device state or availability message (Z2M states are a few hundred bytes). */
export const MAX_STATE_BYTES = 16 * 1024;
/** Devices enrolled per gateway at most (a household's Zigbee network; the rest are logged, not enrolled). */
export const MAX_DEVICES_PER_GATEWAY = 250;
/**
 * A gateway's device list is applied at most once per this interval (the latest one wins): parsing
 * and applying a large list costs milliseconds on the broker's path, so a gateway that floods it
 * must not delay anyone's alarm.
 */
export const DEVICE_LIST_INTERVAL_MS = 1000;

interface Gateway {
  id: string;
  /** When its device list was last applied, and the latest one waiting (flood control). */
  listAppliedAt: number;
  pendingList: TreeMessage | null;
  household: string;
  team: string;
  connected: boolean;
  bridgeOnline: boolean;
  byName: Map<string, ZigbeeChild>;
  byId: Map<string, ZigbeeChild>;
}

export interface GatewayEvents {
  /** A gateway's devices changed (enrolled, updated, removed). */
  devicesChanged(gateway: string, household: string): void;
  /** A gateway is reachable again (connected with Z2M online): its sirens may need the alarm re-sent. */
  gatewayBack(gateway: string, household: string): void;
}

export interface GatewaysDeps {
  store: ZigbeeStore;
  registry: RegistryStore;
  alarms: AlarmPort;
  bus: HubBus;
  log: Logger;
  events: GatewayEvents;
  clock: Pick<Clock, 'now' | 'setTimer'>;
  /** Device lists received, by outcome (`applied`, `deferred`: a newer one replaced it or waits). */
  lists: Pick<Counter, 'inc'>;
}

export class Z2mGateways {
  private readonly gateways = new Map<string, Gateway>();
  /** The gateways of each household: the sirens are looked up on every alarm change, for a whole team. */
  private readonly byHousehold = new Map<string, Set<Gateway>>();
  /** Z2M's last availability of each Zigbee device (kept across gateway reconnects). */
  private readonly availability = new Map<string, 'online' | 'offline'>();
  private readonly remembered = new Map<string, RememberedState>();
  private readonly lqi = new Map<string, number>();
  private seq = 0;
  private stopped = false;

  constructor(private readonly d: GatewaysDeps) {
    for (const [gw, children] of d.store.load()) {
      const g = this.gateway(gw);
      if (g) for (const c of children) this.index(g, c);
    }
    for (const [id, state] of d.store.loadAvailability()) this.availability.set(id, state);
  }

  /** No more work (the extension stops): a device list still waiting is dropped (Z2M's is retained). */
  stop(): void {
    this.stopped = true;
  }

  /** Zigbee devices enrolled. */
  count(): number {
    let n = 0;
    for (const g of this.gateways.values()) n += g.byId.size;
    return n;
  }

  /** Every Zigbee device of a household (for the sirens). */
  childrenOf(household: string): ZigbeeChild[] {
    const out: ZigbeeChild[] = [];
    for (const g of this.byHousehold.get(household) ?? []) out.push(...g.byId.values());
    return out;
  }

  /** Is the gateway connected with Z2M online (a command published now reaches it)? */
  reachable(gateway: string): boolean {
    const g = this.gateways.get(gateway);
    return !!g && g.connected && g.bridgeOnline;
  }

  /** The link qualities reported since the last call. */
  takeLinkQualities(): Array<[string, number]> {
    const out = [...this.lqi];
    this.lqi.clear();
    return out;
  }

  /** The tree handler (`smokehub/h/H/z2m/…`). */
  handle(m: TreeMessage, reject: (issues: Issue[], channel: string) => void): 'forward' | 'drop' {
    if (m.ref?.kind !== 'zigbee2mqtt') return 'drop';
    const g = this.gateway(m.ref.device);
    if (!g) return 'drop';
    const [first, second] = m.path;
    if (first === 'bridge') {
      if (second === 'state' && m.path.length === 2) return this.onBridgeState(g, m, reject);
      if (second === 'devices' && m.path.length === 2) return this.onDevices(g, m, reject);
      // bridge/info, logging, definitions, event, response…: nothing the hub needs, not kept.
      return 'drop';
    }
    if (m.payload.length > MAX_STATE_BYTES) {
      reject([{ code: ERROR_CODES.OVERSIZE, message: `a Zigbee device message is at most ${MAX_STATE_BYTES} bytes` }], 'z2m');
      return 'drop';
    }
    // An empty payload clears a retained topic (Z2M does it for a removed or renamed device): it is
    // no state, and never a fault or a clear.
    if (m.payload.length === 0) return 'forward';
    const last = m.path[m.path.length - 1];
    if (last === 'availability') {
      const child = g.byName.get(m.path.slice(0, -1).join('/'));
      return child ? this.onAvailability(g, child, m, reject) : 'drop';
    }
    const child = g.byName.get(m.path.join('/'));
    // `…/set`, `…/get` (commands, the hub's to send) and devices that are not detectors or sirens.
    return child ? this.onState(child, m, reject) : 'drop';
  }

  /** Keeps connected gateways and their Z2M-online devices heard (called on a timer). */
  vouch(now: number): void {
    for (const g of this.gateways.values()) {
      if (!g.connected) continue;
      this.d.bus.emit('device-heard', this.gatewayRef(g), now);
      if (!g.bridgeOnline) continue;
      for (const c of g.byId.values()) if (this.availability.get(c.id) === 'online') this.d.bus.emit('device-heard', this.ref(c), now);
    }
  }

  /** The broker saw the gateway connect or disconnect (bus `device-connected`/`-disconnected`). */
  gatewayConnection(ref: DeviceRef, connected: boolean, now: number): void {
    const g = this.gateway(ref.device);
    if (!g) return;
    g.connected = connected;
    if (!connected) {
      g.bridgeOnline = false;
      for (const c of g.byId.values()) this.d.bus.emit('device-disconnected', this.ref(c), now);
    }
    // Connected: Z2M publishes bridge/state online right after; presence comes back with it.
  }

  private onBridgeState(g: Gateway, m: TreeMessage, reject: (issues: Issue[], channel: string) => void): 'forward' | 'drop' {
    const state = readOnlineState(m.payload);
    if (!state) {
      reject([{ code: ERROR_CODES.BAD_FIELD, message: 'bridge/state must be {"state":"online"|"offline"} or online/offline' }], 'z2m');
      return 'drop';
    }
    const was = g.bridgeOnline;
    g.bridgeOnline = state === 'online';
    for (const c of g.byId.values()) {
      if (!g.bridgeOnline) this.d.bus.emit('device-disconnected', this.ref(c), m.now);
      else if (this.availability.get(c.id) === 'online') this.d.bus.emit('device-connected', this.ref(c), m.now);
    }
    if (g.bridgeOnline && !was) this.d.events.gatewayBack(g.id, g.household);
    return 'forward';
  }

  /** Applies a device list now, or the latest one once DEVICE_LIST_INTERVAL_MS has passed since the last. */
  private onDevices(g: Gateway, m: TreeMessage, reject: (issues: Issue[], channel: string) => void): 'forward' | 'drop' {
    const wait = g.listAppliedAt + DEVICE_LIST_INTERVAL_MS - m.now;
    if (wait <= 0 && !g.pendingList) return this.applyDevices(g, m, reject);
    const scheduled = g.pendingList !== null;
    g.pendingList = m;
    this.d.lists.inc({ outcome: 'deferred' });
    if (!scheduled) {
      this.d.clock.setTimer(Math.max(0, wait), () => {
        if (this.stopped) return; // dropped: Z2M publishes its list again with its next change
        const latest = g.pendingList;
        g.pendingList = null;
        if (latest) this.applyDevices(g, { ...latest, now: this.d.clock.now() }, reject);
      });
    }
    return 'forward';
  }

  private applyDevices(g: Gateway, m: TreeMessage, reject: (issues: Issue[], channel: string) => void): 'forward' | 'drop' {
    g.listAppliedAt = m.now;
    this.d.lists.inc({ outcome: 'applied' });
    const list = readDeviceList(m.payload);
    if (list.error) {
      reject([{ code: ERROR_CODES.BAD_JSON, message: list.error }], 'z2m');
      return 'drop';
    }
    if (list.devices.length > MAX_DEVICES_PER_GATEWAY) {
      this.d.log.warn(
        { gateway: g.id, devices: list.devices.length, max: MAX_DEVICES_PER_GATEWAY },
        'Zigbee gateway lists more devices than the hub enrols: the rest are ignored',
      );
      list.devices.length = MAX_DEVICES_PER_GATEWAY;
    }
    const r = this.d.store.sync(g.id, g.household, list.devices, m.now, isValidId);
    if (r.added.length + r.updated.length + r.removed.length > 0) {
      this.d.registry.reloadDevices([...r.added.map((c) => c.id), ...r.updated.map((c) => c.id), ...r.removed]);
      for (const id of r.removed) {
        const c = g.byId.get(id);
        if (c) g.byName.delete(c.friendlyName);
        g.byId.delete(id);
        this.availability.delete(id);
        this.remembered.delete(id);
      }
      // A renamed device: its old name goes.
      for (const c of r.updated) {
        const old = g.byId.get(c.id);
        if (old) g.byName.delete(old.friendlyName);
      }
      for (const c of [...r.added, ...r.updated]) this.index(g, c);
      this.d.log.info(
        { gateway: g.id, household: g.household, added: r.added.map((c) => c.id), updated: r.updated.length, removed: r.removed },
        'Zigbee devices of the gateway changed',
      );
      this.d.events.devicesChanged(g.id, g.household);
    }
    for (const c of r.conflicts) this.d.log.warn({ gateway: g.id, device: c.id, why: c.why }, 'Zigbee device not enrolled');
    if (list.skipped.length > 0) this.d.log.debug({ gateway: g.id, skipped: list.skipped.slice(0, 50) }, 'Zigbee devices not enrolled');
    return 'forward';
  }

  private onAvailability(g: Gateway, c: ZigbeeChild, m: TreeMessage, reject: (issues: Issue[], channel: string) => void): 'forward' | 'drop' {
    const state = readOnlineState(m.payload);
    if (!state) {
      reject([{ code: ERROR_CODES.BAD_FIELD, message: 'availability must be {"state":"online"|"offline"} or online/offline' }], 'z2m');
      return 'drop';
    }
    // Stored at once (a change is rare): a kill -9 must not forget it, Z2M does not send it again.
    if (this.availability.get(c.id) !== state) this.d.store.saveAvailability([[c.id, state]]);
    this.availability.set(c.id, state);
    if (state === 'online' && g.bridgeOnline) this.d.bus.emit('device-connected', this.ref(c), m.now);
    else if (state === 'offline') this.d.bus.emit('device-disconnected', this.ref(c), m.now);
    return 'forward';
  }

  private onState(c: ZigbeeChild, m: TreeMessage, reject: (issues: Issue[], channel: string) => void): 'forward' | 'drop' {
    const ref = this.ref(c);
    this.d.bus.emit('device-heard', ref, m.now);
    const alarmOpen = this.d.alarms.concerning(c.household).some((v) => v.origin.device === c.id);
    const t = translateState(c, this.remembered.get(c.id), m.payload, alarmOpen);
    if (t.issues.length > 0) reject(t.issues, 'z2m');
    if (t.malformed && c.kind !== 'siren') {
      // A detector that sends garbage is failing: a fault, never a clear.
      this.d.bus.emit('device-event', ref, { id: `malformed-${m.now}`, type: 'fault' }, m.now, false);
    }
    this.remembered.set(c.id, t.next);
    for (const type of t.events) {
      const event = { id: `z2m-${m.now.toString(36)}-${(this.seq++ % 1_000_000).toString(36)}`, type };
      const fresh = this.d.alarms.handleDeviceEvent(ref, event, m.now);
      this.d.bus.emit('device-event', ref, event, m.now, !fresh);
    }
    if (Object.keys(t.telemetry).length > 0) {
      const reading = { ts: m.now, values: t.telemetry };
      this.d.alarms.handleTelemetry(ref, reading, m.now);
      this.d.bus.emit('telemetry', ref, reading, m.now);
    }
    if (t.linkquality !== null) this.lqi.set(c.id, t.linkquality);
    return t.malformed ? 'drop' : 'forward';
  }

  private gateway(id: string): Gateway | undefined {
    const dev = this.d.registry.getDevice(id);
    if (dev?.kind !== 'zigbee2mqtt') return undefined;
    let g = this.gateways.get(id);
    if (!g) {
      g = {
        id,
        household: dev.household,
        team: dev.team,
        connected: false,
        bridgeOnline: false,
        byName: new Map(),
        byId: new Map(),
        listAppliedAt: Number.NEGATIVE_INFINITY,
        pendingList: null,
      };
      this.gateways.set(id, g);
      this.placeIn(g, dev.household);
    } else if (g.household !== dev.household || g.team !== dev.team) {
      // The gateway was moved to another household (registry import): its devices follow at the next list.
      this.byHousehold.get(g.household)?.delete(g);
      this.placeIn(g, dev.household);
      g.team = dev.team;
    }
    return g;
  }

  private placeIn(g: Gateway, household: string): void {
    g.household = household;
    const set = this.byHousehold.get(household) ?? new Set<Gateway>();
    set.add(g);
    this.byHousehold.set(household, set);
  }

  private index(g: Gateway, c: ZigbeeChild): void {
    g.byId.set(c.id, c);
    g.byName.set(c.friendlyName, c);
  }

  private ref(c: ZigbeeChild): DeviceRef {
    const g = this.gateways.get(c.gateway);
    return { team: g?.team ?? '', household: c.household, device: c.id, kind: c.kind };
  }

  private gatewayRef(g: Gateway): DeviceRef {
    return { team: g.team, household: g.household, device: g.id, kind: 'zigbee2mqtt' };
  }
}
