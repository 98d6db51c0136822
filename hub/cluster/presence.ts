/**
 * Cluster-wide device presence in Redis: a detector connected to node 2 is online when node 1's
 * dashboard asks. The rules are in presence-records.ts; this is their Redis side:
 *  - `<prefix>devices`: a hash, device id → its record (JSON), one field per device ever seen;
 *  - `<prefix>node:<node id>`: the node's run id, expiring after `ttlMs`, refreshed every ttl/3;
 *  - `<prefix>beats`: a hash, node id → when it last beat (ms), kept after it expires.
 * A node that dies stops refreshing its heartbeat: within `ttlMs` every device it held reads
 * offline, as of its last beat. A disconnect writes the offline record only if the stored record
 * is still the one this node wrote for that connection (compare-and-set in one Lua call), so a
 * device that moved to another node stays online there whatever order the writes land in.
 *
 * Writes do not wait: the broker's path only enqueues them. A write that fails (Redis unreachable)
 * is kept (the latest per device) and retried at each beat.
 *
 * Fed by the hub's bus ('device-connected', 'device-disconnected' from the broker): see
 * docs/cluster.md.
 */
import type { Redis } from 'ioredis';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';
import {
  type ClusterPresenceInfo,
  decodeRecord,
  encodeRecord,
  type NodeLiveness,
  type OnlineRecord,
  refreshIntervalMs,
  resolvePresence,
} from './presence-records.ts';

export type { ClusterPresenceInfo } from './presence-records.ts';

export const DEFAULT_PRESENCE_TTL_MS = 30_000;

export interface ClusterPresenceOptions {
  /** A connection of its own (RedisMqtt.connection()). */
  redis: Redis;
  nodeId: string;
  clock: Clock;
  logger: Logger;
  /** A dead node's devices read offline after at most this long (default 30 s). */
  ttlMs?: number;
  /** Key prefix (default `smokehub:presence:`). */
  prefix?: string;
}

// KEYS[1] devices hash; ARGV: device, expected value, new value. Sets only if the field still holds the expected value.
const CAS_SCRIPT = `if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]); return 1 end
return 0`;

type Write = { kind: 'set'; value: string } | { kind: 'cas'; expected: string; value: string };

export class ClusterPresence {
  /** This process' run of the node (a restart is a new run: the old run's records read offline). */
  readonly run: string;
  private readonly ttlMs: number;
  private readonly prefix: string;
  private readonly devicesKey: string;
  /** Devices connected to this node: the value written for each connection. */
  private readonly local = new Map<string, string>();
  /** Failed writes, the latest per device, retried at each beat. */
  private readonly pending = new Map<string, Write>();
  /** The latest write made per device (a failure of an older one is not retried). */
  private readonly latest = new Map<string, Write>();
  private timer: TimerHandle | null = null;
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly o: ClusterPresenceOptions) {
    this.ttlMs = o.ttlMs ?? DEFAULT_PRESENCE_TTL_MS;
    this.prefix = o.prefix ?? 'smokehub:presence:';
    this.devicesKey = `${this.prefix}devices`;
    this.run = `${o.clock.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    this.log = o.logger.child({ module: 'presence' });
  }

  /** The first heartbeat (awaited), then one every ttl/3. */
  async start(): Promise<void> {
    await this.beat();
    this.schedule();
  }

  /** A device connected to this node. */
  connected(device: string, at: number): void {
    const rec: OnlineRecord = { node: this.o.nodeId, run: this.run, connectedAt: at };
    const value = encodeRecord(rec);
    this.local.set(device, value);
    this.write(device, { kind: 'set', value });
  }

  /** A device's connection to this node ended (the broker reports only a connection not superseded on this node). */
  disconnected(device: string, at: number): void {
    const expected = this.local.get(device);
    if (expected === undefined) return;
    this.local.delete(device);
    this.write(device, { kind: 'cas', expected, value: encodeRecord({ node: null, lastSeen: at }) });
  }

  /** Devices connected to this node now. */
  get localCount(): number {
    return this.local.size;
  }

  async info(device: string): Promise<ClusterPresenceInfo> {
    return (await this.infoMany([device])).get(device)!;
  }

  /** Presence of each device, from any node's records (two round trips whatever the number). */
  async infoMany(devices: string[]): Promise<Map<string, ClusterPresenceInfo>> {
    const out = new Map<string, ClusterPresenceInfo>();
    if (devices.length === 0) return out;
    const raw = await this.o.redis.hmget(this.devicesKey, ...devices);
    const records = raw.map((r) => decodeRecord(r));
    const nodes = [...new Set(records.flatMap((r) => (r && r.node !== null ? [r.node] : [])))];
    const liveness = await this.liveness(nodes);
    devices.forEach((d, i) => {
      const r = records[i] ?? null;
      out.set(d, resolvePresence(r, r && r.node !== null ? (liveness.get(r.node) ?? null) : null));
    });
    return out;
  }

  /** Forgets a device removed from the registry. */
  async forget(device: string): Promise<void> {
    this.local.delete(device);
    this.pending.delete(device);
    this.latest.delete(device);
    await this.o.redis.hdel(this.devicesKey, device);
  }

  /**
   * A clean stop: this node's devices are written offline now and its heartbeat removed (a node
   * that dies instead leaves them to expire). Does not close the connection.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.timer?.cancel();
    const at = this.o.clock.now();
    const offline = encodeRecord({ node: null, lastSeen: at });
    const pipe = this.o.redis.pipeline();
    for (const [device, expected] of this.local) pipe.eval(CAS_SCRIPT, 1, this.devicesKey, device, expected, offline);
    pipe.del(`${this.prefix}node:${this.o.nodeId}`);
    pipe.hset(`${this.prefix}beats`, this.o.nodeId, String(at));
    this.local.clear();
    await pipe.exec().catch((err: Error) => this.log.warn({ err: err.message }, 'presence: could not write this node offline (its devices expire)'));
  }

  /** Stops beating and writing without telling Redis, as a node that dies (its devices expire within the TTL). */
  abandon(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.local.clear();
    this.pending.clear();
  }

  // ---- internals ----------------------------------------------------------------------------

  private async liveness(nodes: string[]): Promise<Map<string, NodeLiveness>> {
    const m = new Map<string, NodeLiveness>();
    if (nodes.length === 0) return m;
    const [runs, beats] = await Promise.all([
      this.o.redis.mget(...nodes.map((n) => `${this.prefix}node:${n}`)),
      this.o.redis.hmget(`${this.prefix}beats`, ...nodes),
    ]);
    nodes.forEach((n, i) => m.set(n, { run: runs[i] ?? null, lastBeat: beats[i] ? Number(beats[i]) : null }));
    return m;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.o.clock.setTimer(refreshIntervalMs(this.ttlMs), () => {
      this.beat()
        .catch((err: Error) => this.log.warn({ err: err.message }, 'presence heartbeat failed'))
        .finally(() => this.schedule());
    });
  }

  private async beat(): Promise<void> {
    const now = this.o.clock.now();
    await this.o.redis
      .multi()
      .set(`${this.prefix}node:${this.o.nodeId}`, this.run, 'PX', this.ttlMs)
      .hset(`${this.prefix}beats`, this.o.nodeId, String(now))
      .exec();
    const retry = [...this.pending];
    this.pending.clear();
    for (const [device, w] of retry) this.write(device, w);
  }

  private write(device: string, w: Write): void {
    if (this.stopped) return;
    this.pending.delete(device);
    this.latest.set(device, w);
    const op =
      w.kind === 'set' ? this.o.redis.hset(this.devicesKey, device, w.value) : this.o.redis.eval(CAS_SCRIPT, 1, this.devicesKey, device, w.expected, w.value);
    op.then(
      () => {
        if (this.latest.get(device) === w) this.latest.delete(device);
      },
      (err: Error) => {
        if (this.stopped || this.latest.get(device) !== w) return; // a newer write was made since
        this.pending.set(device, w);
        this.log.debug({ device, err: err.message }, 'presence write failed; retried at the next beat');
      },
    );
  }
}
