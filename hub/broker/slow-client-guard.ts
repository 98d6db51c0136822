/**
 * One stuck connection must not delay anyone else. Aedes calls a delivery back only once the
 * subscriber's socket took the bytes — after 'drain' when its buffer is full — and mqemitter holds
 * one of its `concurrency` slots per message until every subscriber's delivery called back. A
 * station tab that stops reading while telemetry flows therefore fills those slots within a
 * fraction of a second, and every later publish (a neighbour's alert too) waits until Aedes'
 * drain timeout cuts it.
 *
 * This guard wraps each connection's two delivery functions (`deliver0`, `deliverQoS`, which Aedes
 * registers with mqemitter when the client subscribes):
 *  - **No waiting for a socket.** A delivery is handed to Aedes as before (it writes at once) but
 *    is called back on the next event-loop turn, whether or not the socket drained.
 *  - **Bounded.** A connection may hold `maxBufferedBytes` (1 MiB): what its socket has not yet
 *    handed to the OS (`writableLength`, plus ws' `bufferedAmount` for MQTT over WebSocket), the
 *    bookkeeping of each delivery waiting there (PER_DELIVERY_OVERHEAD_BYTES), and deliveries handed
 *    to Aedes and not yet written. Over the bound a QoS 0 delivery is dropped and counted; a QoS 1
 *    delivery closes the connection at once (below).
 *  - **Cut when stuck.** A connection holding more than its stream's high-water mark (16 KiB) that
 *    has not drained for `timeoutMs` is closed; any 'drain' restarts the clock.
 *
 * Why a QoS 1 delivery over the bound closes the connection instead of being dropped: Aedes does
 * not retransmit while a client stays connected (aedes #271), so a QoS 1 message dropped on a live
 * connection would be lost without anybody knowing. Closed, a persistent session (clean=false)
 * keeps the message — Aedes queued it in the session store before delivering — and gets it on
 * reconnect; a clean session resubscribes and the hub's catch-up sends it every open alarm. A
 * connection 1 MiB behind is minutes behind at a household's rates: it is past saving.
 *
 * The hook relies on Aedes 1.2 internals (the client's `deliver0`/`deliverQoS` and `clean`), read
 * and replaced in broker/aedes-internals.ts only; when they are not as expected there are no hooks
 * and the connection is handled as plain Aedes does.
 */
import type { Clock, TimerHandle } from '../core/clock.ts';

/** What Aedes hands a delivery function (an aedes-packet). */
export interface DeliveryPacket {
  topic: string;
  payload: Buffer | string;
  qos: number;
  retain?: boolean;
}

type Deliver = (packet: DeliveryPacket, cb: () => void) => void;

/** What the guard needs of one Aedes connection (broker/aedes-internals.ts `deliveryHooksOf`). */
export interface DeliveryHooks {
  /** Aedes' delivery functions of this connection (QoS 0, and QoS 1 to a session). */
  deliver0: Deliver;
  deliverQoS: Deliver;
  /** Puts the guarded functions in their place. */
  install(deliver0: Deliver, deliverQoS: Deliver): void;
  clean(): boolean;
  closed(): boolean;
}

/** A stream that says 'drain' when its write buffer emptied (and 'close' at the end). */
interface DrainSource {
  on(event: 'drain' | 'close', fn: () => void): unknown;
  writableHighWaterMark?: number;
}

export interface GuardedConnection {
  /** Bytes written and not yet handed to the OS (socket.writableLength; + ws.bufferedAmount). */
  buffered(): number;
  /** Streams whose 'drain' means the connection made progress (the one Aedes writes to first). */
  drains: DrainSource[];
  /** Closes the connection at once. */
  cut(): void;
  /** Who this is, for the log: client id, user or device, address. */
  describe(): Record<string, unknown>;
}

export type CutReason = 'drain_timeout' | 'qos1_over_bound';

export interface CutInfo {
  reason: CutReason;
  bufferedBytes: number;
  /** Deliveries dropped for this connection before it was cut. */
  dropped: number;
  /** How long it had not drained (ms). */
  stuckMs: number;
  who: Record<string, unknown>;
}

export interface SlowClientGuardOptions {
  /** A connection that has not drained for this long is closed. */
  timeoutMs: number;
  /** What one connection may hold (default 1 MiB). */
  maxBufferedBytes?: number;
  clock: Clock;
  /** A delivery not made: `qos` 0 over the bound, or 1 to a clean session cut for it. */
  onDropped?: (qos: 0 | 1) => void;
  /** A connection starts dropping QoS 0 deliveries (once, until it drains again). */
  onDropping?: (who: Record<string, unknown>, bufferedBytes: number) => void;
  /** A connection closed by the guard. */
  onCut?: (info: CutInfo) => void;
  /** Runs a function on the next event-loop turn (default setImmediate). */
  defer?: (fn: () => void) => void;
}

interface State {
  conn: GuardedConnection;
  client: DeliveryHooks;
  /** Bytes handed to Aedes and not yet written to the socket (overhead included). */
  pending: number;
  /** Deliveries written since the socket last drained that found its buffer not empty. */
  inBuffer: number;
  blockedSince: number | null;
  timer: TimerHandle | null;
  cut: boolean;
  /** The connection closed. */
  gone: boolean;
  dropped: number;
  /** Dropping since the last drain (onDropping said so). */
  dropping: boolean;
  highWater: number;
}

export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;

/**
 * Memory a PUBLISH waiting in a socket's write buffer costs beyond its own bytes: mqtt-packet writes
 * it in about six chunks, each a Buffer and a buffer entry, and Aedes keeps a drain callback per
 * write — measured on Node 20: ~680 bytes of heap per 143-byte telemetry frame. Counted in the bound,
 * so that 1 MiB means about 1 MiB of the hub's memory, not 1 MiB of payload (≈ 6 MiB of heap).
 */
export const PER_DELIVERY_OVERHEAD_BYTES = 800;

/** Bytes of an MQTT 3.1.1 PUBLISH frame carrying `packet` at `qos`. */
export function publishFrameBytes(packet: DeliveryPacket, qos: number): number {
  const payload = typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : (packet.payload?.length ?? 0);
  const remaining = 2 + Buffer.byteLength(packet.topic) + (qos > 0 ? 2 : 0) + payload;
  const lengthBytes = remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
  return 1 + lengthBytes + remaining;
}

export class SlowClientGuard {
  private readonly maxBytes: number;
  private readonly defer: (fn: () => void) => void;
  private readonly blockedStates = new Set<State>();

  constructor(private readonly o: SlowClientGuardOptions) {
    this.maxBytes = o.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.defer = o.defer ?? ((fn) => void setImmediate(fn));
  }

  /** Connections holding more than their high-water mark now. */
  get blocked(): number {
    return this.blockedStates.size;
  }

  /** Bytes the blocked connections hold now (socket buffers and queued deliveries). */
  get blockedBytes(): number {
    let n = 0;
    for (const s of this.blockedStates) n += this.held(s);
    return n;
  }

  /** Bytes held by the most backed-up connection now. */
  get maxHeldBytes(): number {
    let n = 0;
    for (const s of this.blockedStates) n = Math.max(n, this.held(s));
    return n;
  }

  /** Guards one connection; false when Aedes' internals are not as expected. */
  attach(client: DeliveryHooks, conn: GuardedConnection): boolean {
    const { deliver0, deliverQoS } = client;
    if (typeof deliver0 !== 'function' || typeof deliverQoS !== 'function') return false;
    const st: State = {
      conn,
      client,
      pending: 0,
      inBuffer: 0,
      blockedSince: null,
      timer: null,
      cut: false,
      gone: false,
      dropped: 0,
      dropping: false,
      highWater: conn.drains[0]?.writableHighWaterMark ?? 16 * 1024,
    };
    conn.drains.forEach((d, i) => d.on('drain', () => this.drained(st, i === 0)));
    conn.drains[0]?.on('close', () => this.closed(st));

    const guarded0: Deliver = (packet, cb) => {
      if (st.cut || st.gone || client.closed()) return this.defer(cb); // going away: nothing more is written to it
      const size = publishFrameBytes(packet, 0) + PER_DELIVERY_OVERHEAD_BYTES;
      if (this.held(st) + size > this.maxBytes) {
        st.dropped++;
        this.o.onDropped?.(0);
        if (!st.dropping) {
          st.dropping = true;
          this.o.onDropping?.(conn.describe(), this.held(st));
        }
        this.check(st);
        return this.defer(cb);
      }
      st.pending += size;
      deliver0(packet, noop); // Aedes writes on the next turn, before the callback below
      this.defer(() => {
        st.pending -= size;
        this.written(st);
        cb();
      });
    };

    const guardedQoS: Deliver = (packet, cb) => {
      if (packet.qos === 0) return guarded0(packet, cb); // downgraded by the publisher
      if (st.cut || st.gone || client.closed()) {
        if (st.cut && client.clean()) this.o.onDropped?.(1); // a persistent session keeps it queued
        return this.defer(cb);
      }
      const size = publishFrameBytes(packet, 1) + PER_DELIVERY_OVERHEAD_BYTES;
      if (this.held(st) + size > this.maxBytes) {
        if (client.clean()) this.o.onDropped?.(1);
        this.cut(st, 'qos1_over_bound');
        return this.defer(cb);
      }
      st.pending += size;
      let written = false;
      const release = () => {
        if (written) return;
        written = true;
        st.pending -= size;
      };
      // A persistent session's delivery is written once its session-store update resolved (at
      // once with session-store.ts; a disk operation with other stores): its bytes count as pending
      // until Aedes calls back — after the write, or after 'drain' while the socket is full
      // (counted twice then: the bound errs on the safe side).
      const writesNextTurn = client.clean() || packet.retain === true;
      deliverQoS(packet, release);
      this.defer(() => {
        if (writesNextTurn) release();
        this.written(st);
        cb();
      });
    };

    client.install(guarded0, guardedQoS);
    return true;
  }

  /** What the connection holds in the hub: buffered bytes, their per-delivery overhead, deliveries not yet written. */
  private held(st: State): number {
    return st.conn.buffered() + st.inBuffer * PER_DELIVERY_OVERHEAD_BYTES + st.pending;
  }

  /** After a delivery was written: it waits in the buffer unless the socket took everything. */
  private written(st: State): void {
    if (st.conn.buffered() > 0) st.inBuffer++;
    this.check(st);
  }

  /** Starts the stuck clock when the connection holds more than its high-water mark. */
  private check(st: State): void {
    if (st.cut || st.gone || st.timer !== null) return;
    if (st.conn.buffered() <= st.highWater) return;
    st.blockedSince = this.o.clock.now();
    this.blockedStates.add(st);
    st.timer = this.o.clock.setTimer(this.o.timeoutMs, () => {
      st.timer = null;
      if (st.cut || st.client.closed()) return this.unblock(st);
      if (st.conn.buffered() > st.highWater) this.cut(st, 'drain_timeout');
      else this.unblock(st);
    });
  }

  /** Progress: the clock starts again if the connection is still over its high-water mark. */
  private drained(st: State, writeBufferEmpty: boolean): void {
    if (st.cut) return;
    st.dropping = false;
    if (writeBufferEmpty) st.inBuffer = 0;
    st.timer?.cancel();
    st.timer = null;
    this.unblock(st);
    this.check(st);
  }

  private closed(st: State): void {
    st.gone = true;
    st.timer?.cancel();
    st.timer = null;
    this.unblock(st);
  }

  private unblock(st: State): void {
    st.blockedSince = null;
    this.blockedStates.delete(st);
  }

  private cut(st: State, reason: CutReason): void {
    if (st.cut) return;
    st.cut = true;
    st.timer?.cancel();
    st.timer = null;
    const info: CutInfo = {
      reason,
      bufferedBytes: this.held(st),
      dropped: st.dropped,
      stuckMs: st.blockedSince === null ? 0 : this.o.clock.now() - st.blockedSince,
      who: st.conn.describe(),
    };
    this.unblock(st);
    try {
      st.conn.cut();
    } finally {
      this.o.onCut?.(info);
    }
  }
}

function noop(): void {}
