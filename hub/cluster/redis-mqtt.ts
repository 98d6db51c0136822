/**
 * Aedes' shared message bus and persistence over Redis, for hub nodes that serve the same devices
 * (the broker's `shared` backend, broker/mqtt-broker.ts `SharedMqttBackend`):
 *  - `mq`: mqemitter-redis 7.2 — every publish goes through Redis pub/sub (PUBLISH on one
 *    connection, (P)SUBSCRIBE per distinct filter on another) and each node delivers it to its own
 *    subscribers, once;
 *  - `persistence`: aedes-persistence-redis 11.2 (promises, and Readables where Aedes pipes) — retained messages,
 *    subscriptions of persistent sessions, their queued QoS 1 messages, wills; on a third
 *    connection. A message queued for a client by any node is sent by whichever node it reconnects to.
 *
 * Health: healthy while all three connections are ready (the subscriber's resubscriptions
 * confirmed by a PING behind them). A lost connection makes the node unhealthy at once; ioredis
 * reconnects by itself (every 0.2–2 s) and the node is healthy again without a restart.
 *
 * Bounded: at most `maxQueuedPerClient` messages wait for one client (the oldest are trimmed, as the
 * single box's session store does), and a queued message expires after `queuedMessageTtlS`
 * (aedes-persistence-redis' `packetTTL`) — which also frees the messages trimmed from a list.
 * The trim uses aedes-persistence-redis 11.2's key layout (`outgoing:<URI-encoded client id>`, a list
 * of `packet:<broker id>:<counter>` keys); the version is pinned in package.json.
 */
import type { Redis } from 'ioredis';
import MQEmitterRedis from 'mqemitter-redis';
import aedesPersistenceRedis, { type RedisPersistence } from 'aedes-persistence-redis';
import type { SharedMqttBackend } from '../broker/mqtt-broker.ts';
import { redactUrl } from '../observability/redact-url.ts';
import type { Logger } from '../observability/logger.ts';

export const DEFAULT_MAX_QUEUED_PER_CLIENT = 100;
export const DEFAULT_QUEUED_MESSAGE_TTL_S = 7 * 24 * 3600;

export interface RedisMqttOptions {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS). */
  url: string;
  /** This node's Aedes broker id: unique in the cluster, the same across its restarts. */
  nodeId: string;
  logger: Logger;
  /** Messages kept for one client (default 100). */
  maxQueuedPerClient?: number;
  /** Seconds a queued message is kept for an absent client (default 7 days). */
  queuedMessageTtlS?: number;
  /** Aedes' mqemitter concurrency: deliveries in flight per node (default 200, as the single box). */
  concurrency?: number;
  /** How long `open()` waits for Redis before it fails (default 10 s). */
  openTimeoutMs?: number;
  /** Reconnections a command waits through before it fails (default 10, ~15 s). */
  maxRetriesPerRequest?: number;
  /** `n` of the oldest messages queued for `clientId` were trimmed. */
  onDropped?: (clientId: string, n: number) => void;
}

/** ioredis options from a redis:// URL (ioredis itself takes a URL only as a first argument). */
export function redisOptionsFromUrl(url: string): { host: string; port: number; username?: string; password?: string; db: number; tls?: object } {
  const u = new URL(url);
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`not a redis:// URL: ${u.protocol}`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new Error(`bad Redis database number in ${u.pathname}`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    db,
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** The URL without its password, for logs. */

// Keeps the newest ARGV[1] entries of each list; returns how many were trimmed from each.
const TRIM_SCRIPT = `local out = {}
for i, k in ipairs(KEYS) do
  local n = redis.call('LLEN', k)
  local cap = tonumber(ARGV[1])
  if n > cap then redis.call('LTRIM', k, n - cap, -1); out[i] = n - cap else out[i] = 0 end
end
return out`;

type ConnName = 'pub' | 'sub' | 'store';

export class RedisMqtt implements SharedMqttBackend {
  readonly brokerId: string;
  readonly mq: MQEmitterRedis.MQEmitterRedis;
  readonly persistence: RedisPersistence;
  private readonly conns: Record<ConnName, Redis>;
  private readonly extra: Redis[] = [];
  private readonly ready: Record<ConnName, boolean> = { pub: false, sub: false, store: false };
  private readonly listeners = new Set<(healthy: boolean) => void>();
  private wasHealthy = false;
  private closed = false;
  /** The bus is being closed (by aedes.close()): its connections' ends are no loss. */
  private closing = false;
  private lastError: string | null = null;
  private readonly log: Logger;

  private constructor(private readonly o: RedisMqttOptions) {
    this.brokerId = o.nodeId;
    this.log = o.logger.child({ module: 'redis-mqtt' });
    const redisOpts = {
      ...redisOptionsFromUrl(o.url),
      connectionName: `smokehub:${o.nodeId}`,
      connectTimeout: 5000,
      maxRetriesPerRequest: o.maxRetriesPerRequest ?? 10,
      retryStrategy: (times: number) => Math.min(times * 200, 2000),
      // Connections are made at once; `open()` waits for them.
      lazyConnect: false,
    };
    this.mq = MQEmitterRedis({ ...redisOpts, concurrency: o.concurrency ?? 200, matchEmptyLevels: true });
    const mqConns = this.mq as unknown as { pubConn: Redis; subConn: Redis; state: NodeJS.EventEmitter };
    // mqemitter-redis re-emits its connections' errors on `state`: unheard, an 'error' would throw.
    mqConns.state.on('error', (err: Error) => this.noteError('bus', err));
    // mqemitter-redis' close (called by aedes.close()) waits for QUIT on both connections, which
    // waits for Redis: bounded here, so that a node stops while Redis is down.
    const closeMq = this.mq.close.bind(this.mq);
    this.mq.close = (cb: () => void) => {
      this.closing = true;
      const timer = setTimeout(() => {
        mqConns.pubConn.disconnect();
        mqConns.subConn.disconnect();
      }, 2000);
      closeMq(() => {
        clearTimeout(timer);
        cb();
      });
    };
    const store = mqConns.pubConn.duplicate();
    this.conns = { pub: mqConns.pubConn, sub: mqConns.subConn, store };
    const cap = o.maxQueuedPerClient ?? DEFAULT_MAX_QUEUED_PER_CLIENT;
    const ttl = o.queuedMessageTtlS ?? DEFAULT_QUEUED_MESSAGE_TTL_S;
    this.persistence = aedesPersistenceRedis({ conn: store, maxSessionDelivery: cap, packetTTL: () => ttl });
    this.boundQueues(cap);
    for (const name of ['pub', 'sub', 'store'] as const) this.watch(name, this.conns[name]);
  }

  /** Connects (bounded by `openTimeoutMs`); rejects when Redis cannot be reached, having closed what it opened. */
  static async open(o: RedisMqttOptions): Promise<RedisMqtt> {
    const r = new RedisMqtt(o);
    const timeout = o.openTimeoutMs ?? 10_000;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`Redis ${redactUrl(o.url)} not reachable in ${timeout} ms${r.lastError ? `: ${r.lastError}` : ''}`)),
          timeout,
        );
        const off = r.onHealthChange((ok) => {
          if (!ok) return;
          clearTimeout(timer);
          off();
          resolve();
        });
        if (r.healthy()) {
          clearTimeout(timer);
          off();
          resolve();
        }
      });
    } catch (err) {
      await r.close();
      throw err;
    }
    r.log.info({ redis: redactUrl(o.url), nodeId: o.nodeId }, 'MQTT bus and sessions shared through Redis');
    return r;
  }

  healthy(): boolean {
    return !this.closed && this.ready.pub && this.ready.sub && this.ready.store;
  }

  onHealthChange(listener: (healthy: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Why it is unhealthy (for /health), or null. */
  problem(): string | null {
    if (this.healthy()) return null;
    const down = (Object.keys(this.ready) as ConnName[]).filter((n) => !this.ready[n]);
    return `Redis unreachable (${down.join(', ')})${this.lastError ? `: ${this.lastError}` : ''}`;
  }

  /** Another connection to the same Redis with the same options (e.g. for presence.ts); closed by `close()`. */
  connection(): Redis {
    const c = this.conns.pub.duplicate();
    c.on('error', (err: Error) => this.noteError('extra', err));
    this.extra.push(c);
    return c;
  }

  /**
   * Closes what is still open: call after `broker.close()` (which closes `mq`). A connection that
   * cannot say QUIT (Redis down) is dropped after 2 s.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.emitHealth();
    await new Promise<void>((resolve) => this.mq.close(() => resolve()));
    await this.persistence.destroy().catch(() => {});
    await Promise.all([...Object.values(this.conns), ...this.extra].map((c) => quitOrDrop(c, 2000)));
  }

  // ---- internals ----------------------------------------------------------------------------

  private watch(name: ConnName, c: Redis): void {
    if (name === 'store') c.on('error', (err: Error) => this.noteError(name, err));
    c.on('ready', () => {
      if (name !== 'sub') return this.setReady(name, true);
      // ioredis resubscribes right after 'ready': a PING behind those commands confirms them.
      c.ping().then(
        () => this.setReady(name, c.status === 'ready'),
        (err: Error) => this.noteError(name, err),
      );
    });
    for (const ev of ['close', 'reconnecting', 'end'] as const) c.on(ev, () => this.setReady(name, false));
    if (c.status === 'ready') this.setReady(name, true);
  }

  private setReady(name: ConnName, ok: boolean): void {
    if (this.ready[name] === ok) return;
    this.ready[name] = ok;
    if (!ok && !this.closed && !this.closing) this.log.warn({ connection: name, err: this.lastError }, 'Redis connection lost');
    this.emitHealth();
  }

  private emitHealth(): void {
    const now = this.healthy();
    if (now === this.wasHealthy) return;
    this.wasHealthy = now;
    if (now) this.lastError = null;
    for (const l of [...this.listeners]) {
      try {
        l(now);
      } catch (err) {
        this.log.error({ err }, 'Redis health listener failed');
      }
    }
  }

  private noteError(name: string, err: Error): void {
    this.lastError = err.message;
    this.log.debug({ connection: name, err: err.message }, 'Redis error');
  }

  /** After each enqueue, trims the queues of its subscribers to the newest `cap` messages. */
  private boundQueues(cap: number): void {
    // The callback layer calls the async one's method, which outgoingEnqueue also goes through.
    const p = this.persistence.asyncPersistence;
    const enqueue = p.outgoingEnqueueCombi.bind(p);
    const store = this.conns.store;
    p.outgoingEnqueueCombi = async (subs, packet) => {
      await enqueue(subs, packet);
      if (!subs || subs.length === 0) return;
      const ids = subs.map((s) => s.clientId);
      const keys = ids.map((id) => `outgoing:${encodeURIComponent(id)}`);
      const trimmed = (await store.eval(TRIM_SCRIPT, keys.length, ...keys, String(cap))) as number[];
      trimmed.forEach((n, i) => {
        if (n > 0) this.o.onDropped?.(ids[i]!, n);
      });
    };
  }
}

async function quitOrDrop(c: Redis, ms: number): Promise<void> {
  if (c.status === 'end') return;
  const ended = new Promise<void>((resolve) => c.once('end', () => resolve()));
  const timer = setTimeout(() => c.disconnect(), ms);
  c.quit().catch(() => c.disconnect());
  await ended;
  clearTimeout(timer);
}
