/**
 * Aedes' session store on disk: persistent sessions (clean=false), their subscriptions, the QoS 1
 * messages queued for them, retained messages and wills survive a restart, SIGTERM or kill -9
 * (aedes-persistence-level 9.2 over LevelDB in `DATA/mqtt-sessions/`). A message for an absent
 * client is on disk before its publish completes; what a connected client is sent, the marks of
 * what it was sent and acknowledged, and retained messages are written just behind (in order, see
 * BoundedPersistence). Writes reach the OS, not the disk (LevelDB's log is not fsynced): a kill
 * loses nothing that was queued for an absent client, a power cut may lose the last writes — the
 * device's session then comes back without them, and when it subscribes the hub's catch-up sends it
 * every open alarm.
 *
 * Bounded: at most `maxQueuedPerClient` messages wait for one client that is not connected; when a
 * new one is queued the oldest are deleted and counted, so a device that never comes back cannot
 * fill the disk. The count per client is kept in memory (rebuilt from the keys at start).
 *
 * Retained messages are also kept in memory (loaded at start): aedes-persistence-level answers each
 * SUBSCRIBE by decoding every retained message on disk, which made 6,000 devices reconnecting
 * after a restart take minutes of CPU; here a filter without wildcards is one map lookup, and one
 * naming its household scans only that household's (retained-index.ts).
 *
 * The trimming uses aedes-persistence-level 9.2's key layout (`outgoing:<client>:<broker>:<counter>`
 * and `outgoing-id:<client>:<messageId>`, client ids URI-encoded, numbers padded to 16 digits); the
 * version is pinned in package.json.
 */
import { Readable } from 'node:stream';
import { Level } from 'level';
import AsyncLevelPersistence from 'aedes-persistence-level/asyncPersistence.js';
import type { StoredPacket } from 'aedes-persistence-level/asyncPersistence.js';
import { RetainedIndex, type RetainedPacket } from './retained-index.ts';

const OUTGOING = 'outgoing:';
const OUTGOING_ID = 'outgoing-id:';
const SUBSCRIPTIONS = 'subscriptions:';
const INCOMING = 'incoming:';
const WILL = 'will:';

/** The client ids that have keys under `prefix` (`<prefix><encoded id>:…`, or `<prefix><encoded id>` for wills). */
async function clientIdsUnder(db: Level<string, Buffer>, prefix: string, separated: boolean): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const key of db.keys({ gte: prefix, lt: `${prefix.slice(0, -1)};` })) {
    const end = separated ? key.indexOf(':', prefix.length) : key.length;
    ids.add(decodeURIComponent(key.slice(prefix.length, end < 0 ? key.length : end)));
  }
  return ids;
}

const pad = (n: number) => String(n).padStart(16, '0');
const outgoingPrefix = (clientId: string) => `${OUTGOING}${encodeURIComponent(clientId)}:`;

export interface SessionStoreOptions {
  /** LevelDB directory (created when missing). */
  dir: string;
  /** Messages kept for one client that is not connected (default 100). */
  maxQueuedPerClient?: number;
  /** `n` of the oldest messages queued for `clientId` were deleted. */
  onDropped?: (clientId: string, n: number) => void;
  /** A failure while trimming a queue or writing in the background (logged by the caller). */
  onError?: (err: Error) => void;
}

export const DEFAULT_MAX_QUEUED_PER_CLIENT = 100;

interface BrokerLike {
  clients: Record<string, { closed?: boolean } | undefined>;
}

interface ClientLike {
  id: string;
}

export class SessionStore {
  /** Queued messages per client id. */
  private readonly queued = new Map<string, number>();
  private readonly trimming = new Map<string, Promise<void>>();
  private readonly cap: number;
  private broker: BrokerLike | null = null;
  private closing = false;

  private constructor(
    private readonly db: Level<string, Buffer>,
    private readonly inner: AsyncLevelPersistence,
    private readonly o: SessionStoreOptions,
  ) {
    this.cap = o.maxQueuedPerClient ?? DEFAULT_MAX_QUEUED_PER_CLIENT;
    this.persistence = new BoundedPersistence(this, inner, db, (err) => o.onError?.(err));
  }

  /** Opens (or creates) the store; a store held by another process is a clear error. */
  static async open(o: SessionStoreOptions): Promise<SessionStore> {
    const db = new Level<string, Buffer>(o.dir, { valueEncoding: 'buffer' });
    try {
      await db.open();
    } catch (err) {
      const cause = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
      throw new Error(`cannot open the MQTT session store ${o.dir}: ${cause} (is another hub running on this data directory?)`, { cause: err });
    }
    const store = new SessionStore(db, new AsyncLevelPersistence(db), o);
    for await (const key of db.keys({ gte: OUTGOING, lt: 'outgoing;' })) {
      const end = key.indexOf(':', OUTGOING.length);
      const id = decodeURIComponent(key.slice(OUTGOING.length, end));
      store.queued.set(id, (store.queued.get(id) ?? 0) + 1);
    }
    return store;
  }

  /** The object Aedes takes as `persistence`. */
  readonly persistence: BoundedPersistence;

  /** Messages queued for a client now. */
  queuedFor(clientId: string): number {
    return this.queued.get(clientId) ?? 0;
  }

  /** Messages queued for all clients now. */
  get totalQueued(): number {
    let n = 0;
    for (const v of this.queued.values()) n += v;
    return n;
  }

  /** Waits for trims in progress and closes the database. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await Promise.allSettled([...this.trimming.values()]);
    await this.persistence.flush();
    await this.db.close();
  }

  // ---- called by BoundedPersistence ---------------------------------------------------------

  setBroker(broker: BrokerLike): void {
    this.broker = broker;
  }

  isConnected(clientId: string): boolean {
    const c = this.broker?.clients[clientId];
    return c !== undefined && !c.closed;
  }

  enqueued(clientId: string): void {
    const n = (this.queued.get(clientId) ?? 0) + 1;
    this.queued.set(clientId, n);
    if (n > this.cap) this.trimSoon(clientId);
  }

  cleared(clientId: string): void {
    const n = (this.queued.get(clientId) ?? 0) - 1;
    if (n > 0) this.queued.set(clientId, n);
    else this.queued.delete(clientId);
  }

  /** Trims one client's queue, one trim at a time per client; a connected client is left alone. */
  private trimSoon(clientId: string): void {
    if (this.closing || this.trimming.has(clientId)) return;
    if (this.isConnected(clientId)) return; // its queue is in flight; trimmed when it is gone and more arrives
    // In order with the client's other writes (session-store writes run one at a time per client).
    const job = this.persistence
      .serially(clientId, () => this.trim(clientId))
      .catch((err) => this.o.onError?.(err as Error))
      .finally(() => {
        this.trimming.delete(clientId);
        if ((this.queued.get(clientId) ?? 0) > this.cap) this.trimSoon(clientId);
      });
    this.trimming.set(clientId, job);
  }

  private async trim(clientId: string): Promise<void> {
    const excess = (this.queued.get(clientId) ?? 0) - this.cap;
    if (excess <= 0) return;
    const enc = encodeURIComponent(clientId);
    const ops: Array<{ type: 'del'; key: string }> = [];
    let taken = 0;
    // The oldest first: keys sort by broker id, then by the padded broker counter (mqtt-broker.ts
    // keeps one broker id and starts the counter from the clock at each start).
    for await (const p of this.inner.outgoingStream({ id: clientId }) as AsyncIterable<StoredPacket>) {
      ops.push({ type: 'del', key: `${outgoingPrefix(clientId)}${p.brokerId}:${pad(p.brokerCounter)}` });
      if (p.messageId) ops.push({ type: 'del', key: `${OUTGOING_ID}${enc}:${pad(p.messageId)}` });
      if (++taken >= excess) break;
    }
    if (taken === 0) {
      this.queued.delete(clientId); // the count was stale
      return;
    }
    await this.db.batch(ops);
    const n = (this.queued.get(clientId) ?? 0) - taken;
    if (n > 0) this.queued.set(clientId, n);
    else this.queued.delete(clientId);
    this.o.onDropped?.(clientId, taken);
  }
}

/** Runs async jobs one after the other per key (LevelDB runs concurrent operations in any order). */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, job: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const result = prev.then(job);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Resolves once the jobs queued so far for `key` have finished. */
  settled(key: string): Promise<void> {
    return this.tails.get(key) ?? Promise.resolve();
  }

  /** Resolves once every job queued so far has finished. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}

/**
 * Aedes' persistence interface: the LevelDB one, with queued messages counted per client, retained
 * messages indexed in memory, and the disk work that no delivery needs to wait for done behind it:
 *  - a message for an absent client is on disk before its publish completes;
 *  - for a connected client it is written just behind, in order with the rest of that client's
 *    writes; which packet id it was sent with is kept in memory (`outgoingUpdate`), and its PUBACK
 *    deletes it just behind: a delivery to a persistent session waits for no disk operation (a
 *    kill in between only means it is delivered once more after the restart);
 *  - a retained message is served from memory at once and written in the background, in order per
 *    topic.
 */
class BoundedPersistence {
  private readonly retained = new RetainedIndex();
  /**
   * Which clients have anything of these kinds on disk (built at setup, kept up to date). A device
   * connecting with a clean session makes Aedes clean its subscriptions, its QoS 2 dedup entries
   * and its will, and read its queue: four LevelDB iterators or reads per CONNECT (and two more at
   * its disconnect) that find nothing for nearly every device — most of the hub's work when 18,000
   * reconnect at once after a power cut (bench/reconnect-storm.ts). With these sets that is a lookup.
   */
  private subscribers = new Set<string>();
  private withIncoming = new Set<string>();
  private withWill = new Set<string>();
  /** Per connection: packet id → the queued message sent with it, until its PUBACK. */
  private readonly sent = new WeakMap<ClientLike, Map<number, StoredPacket>>();
  private readonly perClient = new KeyedQueue();
  private readonly perTopic = new KeyedQueue();

  constructor(
    private readonly store: SessionStore,
    private readonly inner: AsyncLevelPersistence,
    private readonly db: Level<string, Buffer>,
    private readonly onError: (err: Error) => void,
  ) {}

  /** Runs a job in order with the other writes of one client. */
  serially<T>(clientId: string, job: () => Promise<T>): Promise<T> {
    return this.perClient.run(clientId, job);
  }

  /** Waits for the background writes (before the database closes). */
  async flush(): Promise<void> {
    await Promise.all([this.perClient.idle(), this.perTopic.idle()]);
  }

  async setup(broker: BrokerLike): Promise<void> {
    this.store.setBroker(broker);
    await this.inner.setup(broker);
    for await (const p of this.inner.createRetainedStream('#') as AsyncIterable<RetainedPacket>) this.retained.set(p);
    this.subscribers = await clientIdsUnder(this.db, SUBSCRIPTIONS, true);
    this.withIncoming = await clientIdsUnder(this.db, INCOMING, true);
    this.withWill = await clientIdsUnder(this.db, WILL, false);
  }

  async storeRetained(packet: RetainedPacket): Promise<void> {
    if (packet.payload.length === 0) this.retained.delete(packet.topic);
    else this.retained.set({ ...packet });
    void this.perTopic.run(packet.topic, () => this.inner.storeRetained(packet)).catch(this.onError);
  }

  createRetainedStream(pattern: string): Readable {
    return Readable.from(this.retained.matching([pattern]));
  }

  createRetainedStreamCombi(patterns: string[]): Readable {
    return Readable.from(this.retained.matching(patterns));
  }

  async outgoingEnqueue(sub: { clientId: string }, packet: object): Promise<void> {
    const copy = { ...packet };
    const write = this.perClient.run(sub.clientId, () => this.inner.outgoingEnqueue(sub, copy));
    this.store.enqueued(sub.clientId);
    // For a connected client the message goes out now: it is written in the background (in order
    // with its update and its PUBACK's clear). For an absent one the publish waits for the disk.
    if (this.store.isConnected(sub.clientId)) void write.catch(this.onError);
    else await write;
  }

  async outgoingEnqueueCombi(subs: Array<{ clientId: string }> | null, packet: object): Promise<void> {
    if (!subs || subs.length === 0) return;
    await Promise.all(subs.map((s) => this.outgoingEnqueue(s, packet)));
  }

  /**
   * Aedes marks a queued message with the packet id it was sent with, so that the PUBACK can clear
   * it. aedes-persistence-level writes that mark to disk (three or four operations one after the
   * other); it is only needed while this connection lasts — after a reconnect or a restart the
   * message is sent again with a new id — so it is kept in memory, per connection.
   */
  async outgoingUpdate(client: ClientLike, packet: StoredPacket): Promise<void> {
    if (!packet.brokerId || !packet.messageId) {
      await this.perClient.run(client.id, () => this.inner.outgoingUpdate(client, packet));
      return;
    }
    let sent = this.sent.get(client);
    if (!sent) this.sent.set(client, (sent = new Map()));
    sent.set(packet.messageId, packet);
  }

  async outgoingClearMessageId(client: ClientLike, packet: { messageId: number }): Promise<StoredPacket | undefined> {
    const sent = this.sent.get(client)?.get(packet.messageId);
    if (sent) {
      this.sent.get(client)!.delete(packet.messageId);
      this.store.cleared(client.id);
      const key = `${outgoingPrefix(client.id)}${sent.brokerId}:${pad(sent.brokerCounter)}`;
      // Written just behind (a kill before it means one more delivery after the restart).
      void this.perClient.run(client.id, () => this.db.del(key)).catch(this.onError);
      return sent;
    }
    // Nothing is queued for a clean session; otherwise a mark aedes-persistence-level wrote itself.
    if ((client as ClientLike & { clean?: boolean }).clean) return undefined;
    const cleared = await this.perClient.run(client.id, () => this.inner.outgoingClearMessageId(client, packet));
    if (cleared) this.store.cleared(client.id);
    return cleared;
  }

  addSubscriptions = (client: ClientLike, subs: unknown[]) => {
    this.subscribers.add(client.id);
    return this.inner.addSubscriptions(client, subs);
  };
  removeSubscriptions = (client: ClientLike, topics: string[]) => this.inner.removeSubscriptions(client, topics);
  subscriptionsByClient = async (client: ClientLike) => (this.subscribers.has(client.id) ? this.inner.subscriptionsByClient(client) : []);
  countOffline = () => this.inner.countOffline();
  subscriptionsByTopic = (pattern: string) => this.inner.subscriptionsByTopic(pattern);
  cleanSubscriptions = async (client: ClientLike) => {
    // Forgotten before the await: a subscription added meanwhile marks the client again.
    if (!this.subscribers.delete(client.id)) return;
    await this.inner.cleanSubscriptions(client);
  };
  /** A client's queue as stored once its background writes are done. */
  outgoingStream(client: ClientLike): Readable {
    const { perClient, inner } = this;
    // Nothing queued and nothing being written for it (the count covers every `outgoing:` key).
    if (this.store.queuedFor(client.id) === 0) return Readable.from([]);
    return Readable.from(
      (async function* () {
        await perClient.settled(client.id);
        yield* inner.outgoingStream(client) as AsyncIterable<StoredPacket>;
      })(),
    );
  }
  incomingStorePacket = (client: ClientLike, packet: unknown) => {
    this.withIncoming.add(client.id);
    return this.inner.incomingStorePacket(client, packet);
  };
  incomingGetPacket = (client: unknown, packet: unknown) => this.inner.incomingGetPacket(client, packet);
  incomingDelPacket = (client: unknown, packet: unknown) => this.inner.incomingDelPacket(client, packet);
  cleanIncoming = async (client: ClientLike) => {
    if (!this.withIncoming.delete(client.id)) return;
    await this.inner.cleanIncoming(client);
  };
  putWill = (client: ClientLike, packet: unknown) => {
    this.withWill.add(client.id);
    return this.inner.putWill(client, packet);
  };
  getWill = async (client: ClientLike) => (this.withWill.has(client.id) ? this.inner.getWill(client) : undefined);
  delWill = async (client: ClientLike) => {
    if (!this.withWill.delete(client.id)) return undefined;
    return this.inner.delWill(client);
  };
  streamWill = (brokers?: unknown) => this.inner.streamWill(brokers);
  getClientList = (topic: string) => this.inner.getClientList(topic);
}
