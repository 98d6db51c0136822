/** Minimal types for untyped dependencies of the broker. */
declare module 'aedes-persistence-level/asyncPersistence.js' {
  import type { Readable } from 'node:stream';
  import type { Level } from 'level';

  export interface StoredPacket {
    cmd: string;
    topic: string;
    payload: Buffer;
    qos: number;
    retain: boolean;
    brokerId: string;
    brokerCounter: number;
    messageId?: number;
  }

  /** Aedes' async persistence interface, backed by a LevelDB (aedes-persistence-level 9.2). */
  export default class AsyncLevelPersistence {
    constructor(db: Level<string, Buffer>);
    setup(broker: unknown): Promise<void>;
    storeRetained(packet: unknown): Promise<void>;
    createRetainedStream(pattern: string): Readable;
    createRetainedStreamCombi(patterns: string[]): Readable;
    addSubscriptions(client: unknown, subs: unknown[]): Promise<void>;
    removeSubscriptions(client: unknown, topics: string[]): Promise<void>;
    subscriptionsByClient(client: unknown): Promise<unknown[]>;
    countOffline(): Promise<{ subsCount: number; clientsCount: number }>;
    subscriptionsByTopic(pattern: string): Promise<Array<{ clientId: string; topic: string; qos: number }>>;
    cleanSubscriptions(client: unknown): Promise<void>;
    outgoingEnqueue(sub: { clientId: string }, packet: unknown): Promise<void>;
    outgoingEnqueueCombi(subs: Array<{ clientId: string }>, packet: unknown): Promise<unknown>;
    outgoingUpdate(client: unknown, packet: unknown): Promise<void>;
    outgoingClearMessageId(client: unknown, packet: unknown): Promise<StoredPacket | undefined>;
    outgoingStream(client: { id: string }): Readable;
    incomingStorePacket(client: unknown, packet: unknown): Promise<void>;
    incomingGetPacket(client: unknown, packet: unknown): Promise<unknown>;
    incomingDelPacket(client: unknown, packet: unknown): Promise<void>;
    cleanIncoming(client: unknown): Promise<void>;
    putWill(client: unknown, packet: unknown): Promise<void>;
    getWill(client: unknown): Promise<unknown>;
    delWill(client: unknown): Promise<unknown>;
    streamWill(brokers?: unknown): Readable;
    getClientList(topic: string): Readable;
    destroy(): Promise<void>;
  }
}
