/**
 * What the devices connected to one node do, heard by every other node: the broker's device events
 * (`device-heard`, `-connected`, `-disconnected`, `-status`, `-event`, and telemetry carrying a
 * battery level) are batched every `flushMs` onto one Redis pub/sub channel, and each other node
 * hands them to its `onRemote` listeners. It is for what runs once per cluster and must see every
 * device — supervision (a detector silent for the supervision window, flapping, a low battery, a
 * self-test answer) — not for the per-node work (telemetry storage, alarms: each node handles its
 * own devices' messages), which is why remote activity is not re-emitted on the node's hub bus.
 *
 * Pub/sub is at most once: a batch published while Redis is away is lost (the next messages of
 * the devices are heard; supervision's window is minutes). A batch is bounded (`maxBatch`: older
 * `heard` entries are folded, one per device, before anything is dropped).
 */
import type { Redis } from 'ioredis';
import type { DeviceEvents, DeviceRef } from '../broker/ports.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';

/** One device's activity, as relayed (`args` are the bus event's arguments after the ref). */
export type RemoteActivity =
  | { kind: 'device-connected' | 'device-disconnected' | 'device-heard'; ref: DeviceRef; at: number }
  | { kind: 'device-status'; ref: DeviceRef; status: 'online' | 'offline'; at: number }
  | { kind: 'device-event'; ref: DeviceRef; event: DeviceEvents['device-event'][1]; at: number; duplicate: boolean }
  | { kind: 'battery'; ref: DeviceRef; battery: number; at: number };

export interface DeviceActivityRelayDeps {
  /** A connection for publishing (RedisMqtt.connection()); a duplicate of it subscribes. */
  redis: Redis;
  nodeId: string;
  clock: Clock;
  logger: Logger;
  flushMs?: number;
  maxBatch?: number;
  channel?: string;
}

interface Batch {
  node: string;
  items: RemoteActivity[];
}

export class DeviceActivityRelay {
  private readonly channel: string;
  private readonly sub: Redis;
  private pending: RemoteActivity[] = [];
  private readonly heardAt = new Map<string, number>();
  private timer: TimerHandle | null = null;
  private readonly listeners = new Set<(a: RemoteActivity) => void>();
  private stopped = false;
  private lost = 0;

  constructor(private readonly d: DeviceActivityRelayDeps) {
    this.channel = d.channel ?? 'smokehub:device-activity';
    this.sub = d.redis.duplicate();
    this.sub.on('error', () => {}); // reconnects; RedisMqtt reports Redis' health
    this.sub.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.receive(message);
    });
  }

  async start(): Promise<void> {
    await this.sub.subscribe(this.channel);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.flush();
    this.sub.disconnect();
  }

  /** Listens to remote nodes' device activity; returns an unsubscribe. */
  onRemote(listener: (a: RemoteActivity) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** This node's device activity (called from its hub bus listeners). */
  local(a: RemoteActivity): void {
    if (this.stopped) return;
    if (a.kind === 'device-heard') {
      // Many messages of one device between two flushes are one `heard`: the latest.
      if (this.heardAt.has(a.ref.device)) {
        this.heardAt.set(a.ref.device, a.at);
        return;
      }
      this.heardAt.set(a.ref.device, a.at);
    }
    this.pending.push(a);
    if (this.pending.length > (this.d.maxBatch ?? 20_000)) {
      this.pending.shift();
      this.lost++;
    }
    this.timer ??= this.d.clock.setTimer(this.d.flushMs ?? 200, () => {
      this.timer = null;
      this.flush();
    });
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const items = this.pending.map((a) => (a.kind === 'device-heard' ? { ...a, at: this.heardAt.get(a.ref.device) ?? a.at } : a));
    this.pending = [];
    this.heardAt.clear();
    const batch: Batch = { node: this.d.nodeId, items };
    this.d.redis.publish(this.channel, JSON.stringify(batch)).catch((err: Error) => {
      this.lost += items.length;
      this.d.logger.warn({ err: err.message, lost: this.lost }, 'device activity not relayed to the other nodes (Redis)');
    });
  }

  private receive(message: string): void {
    let batch: Batch;
    try {
      batch = JSON.parse(message) as Batch;
    } catch {
      return;
    }
    if (!batch || batch.node === this.d.nodeId || !Array.isArray(batch.items)) return;
    for (const a of batch.items) {
      if (!a || typeof a !== 'object' || !a.ref || typeof a.ref.device !== 'string' || typeof a.at !== 'number') continue;
      for (const l of this.listeners) {
        try {
          l(a);
        } catch (err) {
          this.d.logger.warn({ err }, 'remote device activity listener failed');
        }
      }
    }
  }
}

/** Feeds a node's hub bus device events into the relay. */
export function relayBusActivity(
  bus: { on<K extends keyof DeviceEvents>(owner: string, event: K, fn: (...args: DeviceEvents[K]) => void): () => void },
  relay: Pick<DeviceActivityRelay, 'local'>,
): void {
  bus.on('cluster-activity', 'device-connected', (ref, at) => relay.local({ kind: 'device-connected', ref, at }));
  bus.on('cluster-activity', 'device-disconnected', (ref, at) => relay.local({ kind: 'device-disconnected', ref, at }));
  bus.on('cluster-activity', 'device-heard', (ref, at) => relay.local({ kind: 'device-heard', ref, at }));
  bus.on('cluster-activity', 'device-status', (ref, status, at) => relay.local({ kind: 'device-status', ref, status, at }));
  bus.on('cluster-activity', 'device-event', (ref, event, at, duplicate) => relay.local({ kind: 'device-event', ref, event, at, duplicate }));
  bus.on('cluster-activity', 'telemetry', (ref, reading, at) => {
    const battery = reading.values.battery;
    if (battery !== undefined) relay.local({ kind: 'battery', ref, battery, at });
  });
}
