/** Minimal types for untyped dependencies of the cluster modules. */
declare module 'aedes-persistence-redis' {
  import type { Redis } from 'ioredis';

  export interface RedisPersistenceOptions {
    /** An existing ioredis connection (otherwise one is made from the other options). */
    conn?: Redis;
    /** Queued messages sent to a client on CONNECT, at most (default 1000; lrange 0..n, so n + 1). */
    maxSessionDelivery?: number;
    /** Seconds a queued message is kept (0: for ever, the default). */
    packetTTL?: (packet: unknown) => number;
  }

  /** aedes-persistence-redis 11.2's async implementation. */
  export interface AsyncRedisPersistence {
    outgoingEnqueueCombi(subs: Array<{ clientId: string }> | null, packet: unknown): Promise<void>;
  }

  /**
   * What the package exports: aedes-persistence's CallBackPersistence over the async one — each
   * method returns a promise when called without a callback (as Aedes 1.x does), and the streams
   * Aedes pipes are Readables.
   */
  export interface RedisPersistence {
    readonly asyncPersistence: AsyncRedisPersistence;
    setup(broker: unknown): Promise<void>;
    /** Persistent QoS > 0 subscriptions matching a topic (an in-memory trie on each node, kept in step over the bus). */
    subscriptionsByTopic(topic: string): Promise<Array<{ clientId: string; topic: string; qos: number }>>;
    destroy(): Promise<void>;
  }

  export default function aedesPersistenceRedis(opts?: RedisPersistenceOptions): RedisPersistence;
}
