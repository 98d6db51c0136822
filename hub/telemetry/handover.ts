/**
 * Policy of the loss-free handover of telemetry batches from the main thread to the storage worker
 * (the mechanism — threads, restarts, timers — is supervised-worker.ts). Pure: no thread, no timer,
 * no I/O; times are passed in.
 *
 * - What waits on the main thread is bounded (`PendingQueue`, `maxQueued` points): the oldest
 *   telemetry goes first, then other device events, alarm events last.
 * - One message is in flight at a time (`Handover`) and stays in memory until the worker confirms
 *   its commit (same seq), or a (re)started worker's outbox mark shows it was committed already.
 * - The poison rule: only a worker that failed with an error of its own (uncaught exception, out of
 *   memory) while the message had been posted to it counts against that message; a worker ended
 *   from outside (terminate(), no error) is not the message's doing. At `POISON_CRASHES` such
 *   failures in a row the message is set aside (counted as dropped) so the batches after it flow.
 */
import { batchSize, dropEvents, withoutReadings, type PointBatch } from './point-batch.ts';
import type { Priority } from './point.ts';
import type { IngestMark } from './sqlite-store.ts';

/** Worker failures in a row with the same unconfirmed message before it is set aside (it may be what kills the worker). */
export const POISON_CRASHES = 3;
/** A failing commit is logged at most this often (every failure is still counted). */
export const COMMIT_ERROR_LOG_EVERY_MS = 10_000;

/** Points by priority: [telemetry, device events, alarm events]. */
export type DropCounts = [number, number, number];

/** How long after a failed commit the message in flight is posted again. */
export function commitRetryMs(flushMs: number): number {
  return Math.max(flushMs, 1000);
}

/** Sealed batches waiting on the main thread for the worker, bounded by `maxQueued` points. */
export class PendingQueue {
  private batches: PointBatch[] = [];
  private count = 0;
  constructor(private readonly maxQueued: number) {}

  get points(): number {
    return this.count;
  }
  get length(): number {
    return this.batches.length;
  }

  push(b: PointBatch): void {
    this.batches.push(b);
    this.count += batchSize(b);
  }

  /** The oldest batches for one message: the first one whatever its size, then those that fit in `maxPoints`. */
  take(maxPoints: number): { batches: PointBatch[]; points: number } | null {
    if (this.batches.length === 0) return null;
    const batches: PointBatch[] = [];
    let points = 0;
    while (this.batches.length > 0 && (batches.length === 0 || points + batchSize(this.batches[0]!) <= maxPoints)) {
      const b = this.batches.shift()!;
      batches.push(b);
      points += batchSize(b);
    }
    this.count -= points;
    return { batches, points };
  }

  /** Keeps within `maxQueued`: oldest telemetry first, then device events, alarm events last. Returns what was dropped, in order. */
  trim(): DropCounts[] {
    const dropped: DropCounts[] = [];
    let excess = this.count - this.maxQueued;
    if (excess <= 0) return dropped;
    for (let i = 0; i < this.batches.length && excess > 0; i++) {
      const b = this.batches[i]!;
      if (b.count === 0) continue;
      this.batches[i] = withoutReadings(b);
      this.count -= b.count;
      excess -= b.count;
      dropped.push([b.count, 0, 0]);
    }
    for (const priority of [1, 2] as Priority[]) {
      for (let i = 0; i < this.batches.length && excess > 0; i++) {
        const n = dropEvents(this.batches[i]!, priority, excess);
        this.count -= n;
        excess -= n;
        if (n > 0) dropped.push(priority === 1 ? [0, n, 0] : [0, 0, n]);
      }
    }
    this.batches = this.batches.filter((b) => batchSize(b) > 0);
    return dropped;
  }
}

export interface InFlight {
  seq: number;
  batches: PointBatch[];
  points: number;
  /** Failures of a worker this message had been posted to, while it was unconfirmed (see the poison rule). */
  crashes: number;
  /** The worker (its start's generation) it was last posted to. */
  postedTo: number | null;
}

/** The one message in flight, its sequence numbers (`run`, `seq`: the outbox mark) and the poison rule. */
export class Handover {
  private seq = 0;
  private current: InFlight | null = null;
  /** `run` tells this hub process's marks from an earlier one's. */
  constructor(readonly run: string) {}

  get inFlight(): InFlight | null {
    return this.current;
  }
  get points(): number {
    return this.current?.points ?? 0;
  }

  /** A new message in flight (the previous one must be settled). */
  open(batches: PointBatch[], points: number): InFlight {
    this.current = { seq: ++this.seq, batches, points, crashes: 0, postedTo: null };
    return this.current;
  }

  /** The message is being posted to worker `generation`. */
  posted(f: InFlight, generation: number): IngestMark {
    f.postedTo = generation;
    return { run: this.run, seq: f.seq };
  }

  /** The worker confirmed `seq`: true when it is the message in flight (now settled). */
  confirm(seq: number): boolean {
    if (this.current?.seq !== seq) return false;
    this.current = null;
    return true;
  }

  /** A (re)started worker's outbox mark: a message in flight that it covers was committed before the crash, never confirmed: not sent again. */
  settleByMark(mark: IngestMark | null): void {
    if (this.current && mark && mark.run === this.run && mark.seq >= this.current.seq) this.current = null;
  }

  /**
   * Worker `generation` died (`failed`: of an error of its own). Applies the poison rule; returns the
   * message set aside (the caller counts it as dropped), or null.
   */
  workerDied(generation: number, failed: boolean): InFlight | null {
    const f = this.current;
    if (!f) return null;
    if (failed && f.postedTo === generation) f.crashes++;
    if (f.crashes < POISON_CRASHES) return null;
    this.current = null;
    return f;
  }
}

/** True at most once per `everyMs` (a log that must not flood). */
export class RateGate {
  private last = 0;
  constructor(private readonly everyMs: number) {}
  allow(now: number): boolean {
    if (now - this.last <= this.everyMs) return false;
    this.last = now;
    return true;
  }
}

/** The hub clock's offset (hub clock − Date.now()) as the worker knows it: told again when it moved by more than 1 s. */
export class ClockOffsetSync {
  private last = 0;
  constructor(private readonly read: () => number) {}
  /** The offset for a worker that starts now. */
  atStart(): number {
    this.last = this.read();
    return this.last;
  }
  /** The offset to tell the worker before the next message, or null when it has not moved enough. */
  changed(): number | null {
    const offset = this.read();
    if (Math.abs(offset - this.last) <= 1000) return null;
    this.last = offset;
    return offset;
  }
}
