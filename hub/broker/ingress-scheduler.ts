/**
 * Ingress priority on the broker's main thread. Telemetry is nearly all of the MQTT traffic; alarm
 * events are rare and urgent. Aedes handles every packet the moment its connection's bytes are
 * parsed, so at 20,000 readings a second an event waits behind whatever telemetry the event loop
 * read in the same turn. This scheduler keeps Aedes' immediate handling for everything except
 * device telemetry, which waits in one FIFO and is handled in slices of at most `sliceMs` per
 * event-loop turn. Between slices the loop reads sockets again, so an event arriving on any
 * connection is handled within about one slice, however much telemetry is waiting.
 *
 * - **Order per connection is kept.** Once a connection has a packet waiting, its later packets
 *   (whatever they are) wait behind it: PUBACKs still go out in the order the PUBLISHes came
 *   (MQTT 3.1.1 §4.6) and a device's `clear` never overtakes its own earlier reading.
 * - **Back-pressure, bounded memory.** A waiting packet holds its connection: Aedes reads a
 *   connection's next chunk only when the packets of the current one are handled, so the queue
 *   holds at most one read chunk per connection and TCP slows the senders when the hub is busy.
 * - **Nothing is lost.** A waiting packet of a connection that closes is not acknowledged; the
 *   device sends it again (QoS 1), as for any packet in flight when a connection drops.
 *
 * The hook uses Aedes internals (the client's `_parser`, `_parsingBatch`, `_nextBatch`); when they
 * are not as expected `attach()` returns false and that connection is handled as plain Aedes does.
 */

/** The parts of an Aedes client this scheduler relies on. */
export interface SchedulableClient {
  _parser: ParserLike;
  _parsingBatch: number;
  _nextBatch: (err?: Error | null) => void;
  connackSent: boolean;
  closed: boolean;
}

type PacketListener = (packet: unknown) => void;

interface ParserLike {
  listeners(event: 'packet'): Function[];
  removeListener(event: 'packet', fn: PacketListener): unknown;
  on(event: 'packet', fn: PacketListener): unknown;
}

interface Waiting {
  client: SchedulableClient;
  handle: (packet: unknown) => void;
  packet: unknown;
  conn: ConnectionState;
}

interface ConnectionState {
  waiting: number;
}

export interface IngressSchedulerOptions {
  /** Longest run of queued packets handled in one event-loop turn (default 2 ms). */
  sliceMs?: number;
  /** Which packets may wait (default: PUBLISH on a `.../telemetry` topic). */
  isBulk?: (packet: unknown) => boolean;
  /** Clock for the slice budget (default performance.now). */
  now?: () => number;
  /** Runs a function on a later event-loop turn, after pending I/O (default setImmediate). */
  defer?: (fn: () => void) => void;
  /** Called for each packet that waits (metrics). */
  onDeferred?: () => void;
}

/** Device telemetry: the bulk traffic that may wait for a slice. */
export function isTelemetryPublish(packet: unknown): boolean {
  const p = packet as { cmd?: string; topic?: unknown };
  return p.cmd === 'publish' && typeof p.topic === 'string' && p.topic.endsWith('/telemetry');
}

export class IngressScheduler {
  private readonly sliceMs: number;
  private readonly isBulk: (packet: unknown) => boolean;
  private readonly now: () => number;
  private readonly defer: (fn: () => void) => void;
  private queue: Array<Waiting | undefined> = [];
  private head = 0;
  private scheduled = false;
  private readonly onDeferred: () => void;

  constructor(opts: IngressSchedulerOptions = {}) {
    this.sliceMs = opts.sliceMs ?? 2;
    this.isBulk = opts.isBulk ?? isTelemetryPublish;
    this.now = opts.now ?? (() => performance.now());
    this.defer = opts.defer ?? ((fn) => void setImmediate(fn));
    this.onDeferred = opts.onDeferred ?? (() => {});
  }

  /** Packets waiting now. */
  get depth(): number {
    return this.queue.length - this.head;
  }

  /** Puts one connection under the scheduler; false when Aedes' internals are not as expected. */
  attach(client: SchedulableClient): boolean {
    const parser = client._parser;
    if (!parser || typeof parser.listeners !== 'function' || typeof client._nextBatch !== 'function' || typeof client._parsingBatch !== 'number') return false;
    const listeners = parser.listeners('packet');
    if (listeners.length !== 1) return false;
    const handle = listeners[0] as PacketListener;
    const conn: ConnectionState = { waiting: 0 };
    parser.removeListener('packet', handle);
    parser.on('packet', (packet: unknown) => {
      // Before CONNACK Aedes queues packets itself; after it, only bulk packets (and whatever
      // follows them on the same connection) wait.
      if (!client.connackSent || (conn.waiting === 0 && !this.isBulk(packet))) {
        handle.call(parser, packet);
        return;
      }
      conn.waiting++;
      client._parsingBatch++; // hold the connection: its next chunk is read once this is handled
      this.queue.push({ client, handle: (p) => handle.call(parser, p), packet, conn });
      this.onDeferred();
      this.schedule();
    });
    return true;
  }

  /** Handles waiting packets for one slice; more slices follow on later turns. */
  drain(): void {
    this.scheduled = false;
    const deadline = this.now() + this.sliceMs;
    let n = 0;
    try {
      while (this.head < this.queue.length) {
        const w = this.queue[this.head]!;
        this.queue[this.head++] = undefined;
        w.conn.waiting--;
        if (!w.client.closed) {
          try {
            w.handle(w.packet);
          } finally {
            w.client._nextBatch(null); // release the hold taken when it was queued
          }
        }
        if ((++n & 7) === 0 && this.now() >= deadline) break;
      }
    } finally {
      if (this.head >= this.queue.length) {
        this.queue = [];
        this.head = 0;
      } else {
        if (this.head > 4096 && this.head * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        this.schedule();
      }
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.defer(() => this.drain());
  }
}
