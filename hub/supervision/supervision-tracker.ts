/**
 * Device supervision as a pure state machine (no I/O, time passed in).
 *
 * A device is DOWN when it has not been heard for the supervision window, or when its connection
 * dropped (or it reported `offline`) and did not come back within a short grace (a client
 * take-over or a quick reconnect is not an outage). `sweep(now)` turns changes into transitions:
 * `offline` when a device goes down, `restored` when it comes back. A device that goes down
 * `flapCycles` times within `flapWindowMs` is reported ONCE as `flapping`; its further downs and
 * ups are not reported until it has been stable for a whole flap window, when one `stable`
 * transition tells whether it ended up online or offline.
 */
import type { DeviceKind } from '../protocol/schema.ts';

export type DownReason = 'silent' | 'disconnected' | 'reported-offline';

export interface SupervisedDevice {
  device: string;
  household: string;
  team: string;
  kind: DeviceKind;
}

export interface SupervisionOptions {
  /** A device not heard for this long is down. */
  windowMs: number;
  /** A dropped connection must stay dropped this long before the device is down. */
  disconnectGraceMs: number;
  /** This many down transitions within `flapWindowMs` make a device flapping. */
  flapCycles: number;
  flapWindowMs: number;
}

/** What a device's supervision looked like when it was last saved (restart continuity). */
export interface PersistedSupervision {
  down: boolean;
  since: number;
  reason: DownReason | null;
  flapping: boolean;
  flapHistory: number[];
}

export type TransitionKind = 'offline' | 'restored' | 'flapping' | 'stable';

export interface SupervisionTransition extends SupervisedDevice {
  transition: TransitionKind;
  at: number;
  /** When the device went down (offline/flapping), or was down since (restored). */
  since: number;
  /** Why it is down (offline, flapping, stable while down). */
  reason: DownReason | null;
  /** For `stable`: whether the device ended up down. */
  down: boolean;
  /** Down transitions counted in the flap window (flapping). */
  cycles: number;
}

export interface DeviceSupervisionView extends SupervisedDevice {
  status: 'online' | 'offline';
  flapping: boolean;
  lastHeardAt: number | null;
  since: number;
  reason: DownReason | null;
}

export type SupervisionState = 'ok' | 'offline' | 'flapping';

export interface DeviceLiveView {
  online: boolean;
  /** Last message since the hub started, or null when none yet. */
  lastHeardAt: number | null;
  supervision: SupervisionState;
}

interface Entry extends SupervisedDevice {
  /** Last message, or the moment tracking began (the device gets one window from then). */
  lastHeardAt: number;
  heardEver: boolean;
  /** 1 connected, 0 disconnected, null while no connect/disconnect event was seen. */
  connections: number | null;
  /** When it last connected (a cluster relays other nodes' connects and disconnects out of order). */
  connectedAt: number | null;
  disconnectedAt: number | null;
  reportedOfflineAt: number | null;
  /** The state last reported (or restored from disk). */
  down: boolean;
  since: number;
  reason: DownReason | null;
  flapping: boolean;
  flapHistory: number[];
  dirty: boolean;
}

function transitionOf(
  e: Entry,
  at: number,
  transition: TransitionKind,
  since: number,
  reason: DownReason | null,
  down: boolean,
  cycles: number,
): SupervisionTransition {
  return { device: e.device, household: e.household, team: e.team, kind: e.kind, transition, at, since, reason, down, cycles };
}

export class SupervisionTracker {
  private readonly entries = new Map<string, Entry>();
  constructor(private readonly opts: SupervisionOptions) {
    if (!(opts.windowMs > 0)) throw new RangeError('windowMs must be positive');
    if (!(opts.flapCycles >= 2)) throw new RangeError('flapCycles must be at least 2');
  }

  get size(): number {
    return this.entries.size;
  }

  has(device: string): boolean {
    return this.entries.has(device);
  }

  /** Starts (or refreshes the identity of) supervising a device; it gets one window from `now`. */
  track(ref: SupervisedDevice, now: number, persisted?: PersistedSupervision): void {
    const e = this.entries.get(ref.device);
    if (e) {
      e.household = ref.household;
      e.team = ref.team;
      e.kind = ref.kind;
      return;
    }
    // An explicit literal, not `...ref`: spread-cloned objects each get their own hidden class,
    // which made every lookup ~10x slower (measured: 1.2 µs vs 0.12 µs per heard() at 32,000 devices).
    this.entries.set(ref.device, {
      device: ref.device,
      household: ref.household,
      team: ref.team,
      kind: ref.kind,
      lastHeardAt: now,
      heardEver: false,
      connections: null,
      connectedAt: null,
      disconnectedAt: null,
      reportedOfflineAt: null,
      down: persisted?.down ?? false,
      since: persisted?.since ?? now,
      reason: persisted?.down ? persisted.reason : null,
      flapping: persisted?.flapping ?? false,
      flapHistory: [...(persisted?.flapHistory ?? [])],
      dirty: false,
    });
  }

  untrack(device: string): void {
    this.entries.delete(device);
  }

  /** Ids of every supervised device. */
  devices(): IterableIterator<string> {
    return this.entries.keys();
  }

  private entry(ref: SupervisedDevice, at: number): Entry {
    let e = this.entries.get(ref.device);
    if (!e) {
      this.track(ref, at);
      e = this.entries.get(ref.device)!;
    }
    return e;
  }

  /** Any message from the device. */
  heard(ref: SupervisedDevice, at: number): void {
    const e = this.entry(ref, at);
    if (at > e.lastHeardAt || !e.heardEver) e.lastHeardAt = Math.max(at, e.lastHeardAt);
    e.heardEver = true;
  }

  connected(ref: SupervisedDevice, at: number): void {
    const e = this.entry(ref, at);
    // The broker reports a take-over (same client id reconnecting) as one connection: no counting.
    e.connections = 1;
    e.connectedAt = Math.max(at, e.connectedAt ?? at);
    e.disconnectedAt = null;
    e.reportedOfflineAt = null;
    this.heard(ref, at);
  }

  disconnected(ref: SupervisedDevice, at: number): void {
    const e = this.entry(ref, at);
    // The end of an older connection (on the node the device left) heard after the new one began.
    if (e.connectedAt !== null && at < e.connectedAt) return;
    e.connections = 0;
    e.disconnectedAt = at;
  }

  /** The device's own `status` message (its last will says `offline`). */
  statusReported(ref: SupervisedDevice, status: 'online' | 'offline', at: number): void {
    const e = this.entry(ref, at);
    if (status === 'offline') {
      e.reportedOfflineAt ??= at;
    } else {
      e.reportedOfflineAt = null;
      this.heard(ref, at);
    }
  }

  /** Why the device is down at `now`, or null when it is up. */
  private downReason(e: Entry, now: number): { reason: DownReason; since: number } | null {
    const { windowMs, disconnectGraceMs } = this.opts;
    if (e.connections === 0 && e.disconnectedAt !== null && now - e.disconnectedAt >= disconnectGraceMs) {
      return { reason: 'disconnected', since: e.disconnectedAt };
    }
    if (e.reportedOfflineAt !== null && now - e.reportedOfflineAt >= disconnectGraceMs) {
      return { reason: 'reported-offline', since: e.reportedOfflineAt };
    }
    if (now - e.lastHeardAt >= windowMs) return { reason: 'silent', since: e.lastHeardAt };
    return null;
  }

  /** Evaluates every device at `now`; returns the transitions to report. */
  sweep(now: number): SupervisionTransition[] {
    const out: SupervisionTransition[] = [];
    for (const e of this.entries.values()) {
      const t = this.evaluate(e, now);
      if (t) out.push(t);
    }
    return out;
  }

  private evaluate(e: Entry, now: number): SupervisionTransition | null {
    const { flapCycles, flapWindowMs } = this.opts;
    const down = this.downReason(e, now);
    // Forget down transitions older than the flap window.
    while (e.flapHistory.length > 0 && now - e.flapHistory[0]! >= flapWindowMs) {
      e.flapHistory.shift();
      e.dirty = true;
    }

    if (down && !e.down) {
      e.down = true;
      e.since = down.since;
      e.reason = down.reason;
      e.flapHistory.push(now);
      e.dirty = true;
      if (e.flapping) return null;
      if (e.flapHistory.length >= flapCycles) {
        e.flapping = true;
        return transitionOf(e, now, 'flapping', down.since, down.reason, true, e.flapHistory.length);
      }
      return transitionOf(e, now, 'offline', down.since, down.reason, true, e.flapHistory.length);
    }
    // Only a message can bring a device back: one that was down before a restart and has not been
    // heard since is still down, even while its fresh window runs.
    if (!down && e.down && e.heardEver) {
      const since = e.since;
      e.down = false;
      e.since = now;
      e.reason = null;
      e.dirty = true;
      if (e.flapping) return null;
      return transitionOf(e, now, 'restored', since, null, false, e.flapHistory.length);
    }
    if (e.flapping && e.flapHistory.length === 0) {
      // No down transition for a whole flap window: report once how it ended up.
      e.flapping = false;
      e.dirty = true;
      return transitionOf(e, now, 'stable', e.since, e.reason, e.down, 0);
    }
    return null;
  }

  view(device: string): DeviceSupervisionView | undefined {
    const e = this.entries.get(device);
    if (!e) return undefined;
    return {
      device: e.device,
      household: e.household,
      team: e.team,
      kind: e.kind,
      status: e.down ? 'offline' : 'online',
      flapping: e.flapping,
      lastHeardAt: e.heardEver ? e.lastHeardAt : null,
      since: e.since,
      reason: e.reason,
    };
  }

  /**
   * What the device looks like right now, for listings: `online` is live presence (heard within
   * the window, connection not dropped, no `offline` status), without the grace that supervision
   * allows before reporting; `supervision` is what has been reported (offline, flapping) or `ok`.
   */
  liveView(device: string, now: number): DeviceLiveView | undefined {
    const e = this.entries.get(device);
    if (!e) return undefined;
    return {
      online: e.heardEver && e.connections !== 0 && e.reportedOfflineAt === null && now - e.lastHeardAt < this.opts.windowMs,
      lastHeardAt: e.heardEver ? e.lastHeardAt : null,
      supervision: e.flapping ? 'flapping' : e.down ? 'offline' : 'ok',
    };
  }

  /** Devices currently reported down (offline or flapping while down). */
  downDevices(): DeviceSupervisionView[] {
    const out: DeviceSupervisionView[] = [];
    for (const e of this.entries.values()) if (e.down) out.push(this.view(e.device)!);
    return out;
  }

  countDown(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.down) n++;
    return n;
  }

  countFlapping(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.flapping) n++;
    return n;
  }

  /** State to save for devices whose reported state changed since the last call. */
  takeDirty(): Array<{ device: string; state: PersistedSupervision }> {
    const out: Array<{ device: string; state: PersistedSupervision }> = [];
    for (const e of this.entries.values()) {
      if (!e.dirty) continue;
      e.dirty = false;
      out.push({ device: e.device, state: { down: e.down, since: e.since, reason: e.reason, flapping: e.flapping, flapHistory: [...e.flapHistory] } });
    }
    return out;
  }
}
