/**
 * Ingress priority on the broker's main thread. Telemetry is nearly all of the MQTT traffic; alarm
 * events are rare and urgent. Aedes handles every packet the moment its connection's bytes are
 * parsed, so at 20,000 readings a second an event waits behind whatever telemetry the event loop
 * read in the same turn. This scheduler keeps Aedes' immediate handling for everything except
 * device telemetry, which waits in one FIFO and is handled in slices of at most `sliceMs` per
 * event-loop turn. Between slices the loop reads sockets again, so an event arriving on any
 * connection is handled within about one slice, however much telemetry is waiting.
 *
 * - **Events never wait for telemetry**, not even their own connection's: only telemetry PUBLISHes
 *   wait, in the order they came (per connection and overall). A PUBACK for an event can therefore
 *   go out before the PUBACKs of telemetry its device sent just before it (MQTT 3.1.1 §4.6 asks
 *   for PUBACK order; clients match PUBACKs by packet id, and a smoke alarm must not queue).
 * - **Bounded memory, back-pressure.** A connection with `perConnection` packets waiting, or any
 *   connection adding one while `total` wait overall, is no longer read until its waiting packets
 *   are handled: TCP then slows that sender instead of the hub buffering it. A device sending a
 *   reading a minute never reaches the bound, so its events are always read at once.
 * - **Storage back-pressure.** `holdWhile(check)` pauses telemetry while `check()` is true (the
 *   telemetry pipeline is full): waiting telemetry is not acknowledged, so nothing acknowledged is
 *   dropped for lack of room; connections fill to their bound and are no longer read.
 * - **Nothing is lost.** A waiting packet of a connection that closes is not acknowledged; the
 *   device sends it again (QoS 1), as for any packet in flight when a connection drops.
 *
 * The hook drives Aedes' read loop of each connection through `ReadLoop`, which
 * broker/aedes-internals.ts builds from Aedes' private fields; when they are not as expected there is
 * no read loop, or `attach()` returns false, and that connection is handled as plain Aedes does.
 */
import { isTelemetryTopic } from '../protocol/topics.ts';

/** What this scheduler needs of one connection's read loop in Aedes (broker/aedes-internals.ts `readLoopOf`). */
export interface ReadLoop {
  /** The connection's parser: its one 'packet' listener is Aedes' handler, taken over here. */
  parser: ParserLike;
  /** The connection's stream: its 'readable' listener is `nextBatch`. */
  stream: StreamLike;
  /** Aedes' read step: reads the next chunk once its batch count falls to 0. */
  nextBatch: (err?: Error | null) => void;
  /** Adds one to Aedes' batch count: the connection is not read until `nextBatch` gives it back. */
  holdBatch(): void;
  connackSent(): boolean;
  closed(): boolean;
}

type PacketListener = (packet: unknown) => void;

export interface ParserLike {
  listeners(event: 'packet'): Function[];
  removeListener(event: 'packet', fn: PacketListener): unknown;
  on(event: 'packet', fn: PacketListener): unknown;
}

export interface StreamLike {
  listeners(event: 'readable'): Function[];
  removeListener(event: 'readable', fn: () => void): unknown;
  on(event: 'readable', fn: () => void): unknown;
}

interface Connection {
  loop: ReadLoop;
  handle: PacketListener;
  waiting: number;
  /** Not read while true (one token in Aedes' batch count, and 'readable' events held back). */
  held: boolean;
}

interface Waiting {
  conn: Connection;
  packet: unknown;
}

export interface IngressSchedulerOptions {
  /** Longest run of queued packets handled in one event-loop turn (default 2 ms). */
  sliceMs?: number;
  /** Waiting packets of one connection before it is no longer read (default 16). */
  perConnection?: number;
  /** Waiting packets overall beyond which every connection adding one is no longer read (default 20,000). */
  total?: number;
  /** Which packets may wait (default: PUBLISH on a `.../telemetry` topic). */
  isBulk?: (packet: unknown) => boolean;
  /** Clock for the slice budget (default performance.now). */
  now?: () => number;
  /** Runs a function on a later event-loop turn, after pending I/O (default setImmediate). */
  defer?: (fn: () => void) => void;
  /** Runs a function after `ms` (default setTimeout): retries while telemetry is held. */
  later?: (fn: () => void, ms: number) => void;
  /** Called for each packet that waits (metrics). */
  onDeferred?: () => void;
}

/** Device telemetry: the bulk traffic that may wait for a slice. */
export function isTelemetryPublish(packet: unknown): boolean {
  const p = packet as { cmd?: string; topic?: unknown };
  return p.cmd === 'publish' && typeof p.topic === 'string' && isTelemetryTopic(p.topic);
}

const HELD_RETRY_MS = 20;

export class IngressScheduler {
  private readonly sliceMs: number;
  private readonly perConnection: number;
  private readonly total: number;
  private readonly isBulk: (packet: unknown) => boolean;
  private readonly now: () => number;
  private readonly defer: (fn: () => void) => void;
  private readonly later: (fn: () => void, ms: number) => void;
  private readonly onDeferred: () => void;
  private readonly holds: Array<() => boolean> = [];
  private queue: Array<Waiting | undefined> = [];
  private head = 0;
  private scheduled = false;
  private heldConnections = 0;

  constructor(opts: IngressSchedulerOptions = {}) {
    this.sliceMs = opts.sliceMs ?? 2;
    this.perConnection = opts.perConnection ?? 16;
    this.total = opts.total ?? 20_000;
    this.isBulk = opts.isBulk ?? isTelemetryPublish;
    this.now = opts.now ?? (() => performance.now());
    this.defer = opts.defer ?? ((fn) => void setImmediate(fn));
    this.later = opts.later ?? ((fn, ms) => void setTimeout(fn, ms).unref());
    this.onDeferred = opts.onDeferred ?? (() => {});
  }

  /** Packets waiting now. */
  get depth(): number {
    return this.queue.length - this.head;
  }

  /** Connections not read now because too much of theirs waits. */
  get held(): number {
    return this.heldConnections;
  }

  /** True while a registered check holds telemetry back. */
  get paused(): boolean {
    return this.holds.some((h) => h());
  }

  /** Telemetry is not handled (nor acknowledged) while `check()` returns true. */
  holdWhile(check: () => boolean): void {
    this.holds.push(check);
  }

  /** Puts one connection under the scheduler; false when Aedes' internals are not as expected. */
  attach(loop: ReadLoop): boolean {
    const { parser, stream } = loop;
    const listeners = parser.listeners('packet');
    if (listeners.length !== 1 || !stream.listeners('readable').includes(loop.nextBatch)) return false;
    const handle = listeners[0] as PacketListener;
    const conn: Connection = { loop, handle: (p) => handle.call(parser, p), waiting: 0, held: false };
    parser.removeListener('packet', handle);
    parser.on('packet', (packet: unknown) => {
      // Before CONNACK Aedes queues packets itself; after it, only telemetry waits.
      if (!loop.connackSent() || !this.isBulk(packet)) {
        conn.handle(packet);
        return;
      }
      conn.waiting++;
      this.queue.push({ conn, packet });
      this.onDeferred();
      if (!conn.held && (conn.waiting >= this.perConnection || this.depth >= this.total)) this.hold(conn);
      this.schedule();
    });
    // While a connection is held, 'readable' must not make Aedes read it.
    stream.removeListener('readable', loop.nextBatch);
    stream.on('readable', () => {
      if (!conn.held) loop.nextBatch();
    });
    return true;
  }

  /** Handles waiting packets for one slice; more slices follow on later turns. */
  drain(): void {
    this.scheduled = false;
    if (this.head < this.queue.length && this.paused) {
      this.dropClosed();
      if (this.head < this.queue.length) this.schedule(HELD_RETRY_MS);
      return;
    }
    const deadline = this.now() + this.sliceMs;
    let n = 0;
    try {
      while (this.head < this.queue.length) {
        const w = this.queue[this.head]!;
        this.queue[this.head++] = undefined;
        const c = w.conn;
        c.waiting--;
        try {
          if (!c.loop.closed()) c.handle(w.packet);
        } finally {
          if (c.held && c.waiting === 0) this.release(c);
        }
        if ((++n & 7) === 0 && (this.now() >= deadline || this.paused)) break;
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

  /** While held back, what waits for connections that closed is dropped (never acknowledged). */
  private dropClosed(): void {
    const kept: Array<Waiting | undefined> = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const w = this.queue[i]!;
      if (!w.conn.loop.closed()) {
        kept.push(w);
        continue;
      }
      w.conn.waiting--;
      if (w.conn.held && w.conn.waiting === 0) this.release(w.conn);
    }
    this.queue = kept;
    this.head = 0;
  }

  private hold(c: Connection): void {
    c.held = true;
    c.loop.holdBatch(); // Aedes reads the next chunk only when its batch count falls to 0
    this.heldConnections++;
  }

  private release(c: Connection): void {
    c.held = false;
    this.heldConnections--;
    if (!c.loop.closed()) c.loop.nextBatch(null); // gives the token back; reads what arrived meanwhile
  }

  private schedule(delayMs = 0): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (delayMs > 0) this.later(() => this.drain(), delayMs);
    else this.defer(() => this.drain());
  }
}
