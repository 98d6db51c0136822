/**
 * The in-memory hand-off between bus listeners and storage: listeners only `push` (O(1), never
 * blocks the alarm path); the queue commits what it holds in one synchronous batch every
 * `flushMs` (or at once when `maxBatch` points are waiting) — to the outbox, or straight into the
 * embedded store. If a commit fails (disk full), the points stay queued, bounded by `maxQueued`:
 * beyond it the oldest of the lowest priority go first.
 */
import type { Priority, StoredPoint } from './point.ts';

export interface IngestQueueOptions {
  /** Commits a batch; throws to keep it queued. */
  commit: (points: StoredPoint[]) => void;
  flushMs?: number;
  maxBatch?: number;
  maxQueued?: number;
  onCommitError?: (err: Error, queued: number) => void;
  onDrop?: (count: number, priority: Priority) => void;
}

export class IngestQueue {
  private queue: StoredPoint[] = [];
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private closed = false;
  private readonly flushMs: number;
  private readonly maxBatch: number;
  private readonly maxQueued: number;

  constructor(private readonly opts: IngestQueueOptions) {
    this.flushMs = opts.flushMs ?? 100;
    this.maxBatch = opts.maxBatch ?? 2000;
    this.maxQueued = opts.maxQueued ?? 200_000;
  }

  get length(): number {
    return this.queue.length;
  }

  push(p: StoredPoint): void {
    if (this.closed) return;
    this.queue.push(p);
    if (this.queue.length >= this.maxBatch) {
      if (!this.immediate) this.immediate = setImmediate(() => {
        this.immediate = null;
        this.flush();
      });
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush();
      }, this.flushMs);
    }
  }

  /** Commits everything queued now, in batches of at most `maxBatch`. Returns false when a commit failed. */
  flush(): boolean {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.queue.length > 0) {
      const batch = this.queue.length <= this.maxBatch ? this.queue : this.queue.slice(0, this.maxBatch);
      try {
        this.opts.commit(batch);
      } catch (err) {
        this.opts.onCommitError?.(err as Error, this.queue.length);
        this.trim();
        if (!this.closed && !this.timer) {
          this.timer = setTimeout(() => {
            this.timer = null;
            this.flush();
          }, Math.max(this.flushMs, 1000));
        }
        return false;
      }
      this.queue = batch === this.queue ? [] : this.queue.slice(batch.length);
    }
    return true;
  }

  private trim(): void {
    let excess = this.queue.length - this.maxQueued;
    if (excess <= 0) return;
    for (const priority of [0, 1, 2] as Priority[]) {
      if (excess <= 0) break;
      let dropped = 0;
      this.queue = this.queue.filter((p) => {
        if (excess > 0 && p.priority === priority) {
          excess--;
          dropped++;
          return false;
        }
        return true;
      });
      if (dropped > 0) this.opts.onDrop?.(dropped, priority);
    }
  }

  /** Commits what is queued and refuses further points. */
  close(): boolean {
    const ok = this.flush();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    return ok;
  }
}
