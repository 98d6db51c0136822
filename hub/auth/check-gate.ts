/**
 * Bounds how many expensive checks run at once (scrypt: 32 MiB and ~100 ms of a core each) and
 * how many may wait for a turn. `enter()` resolves with a `leave` function when a slot is free, or
 * returns null at once when the queue is full: the caller refuses the attempt as busy instead of
 * letting a flood of logins queue without end (or take libuv's whole thread pool from file I/O).
 * Waiters are served first come, first served.
 */
export class CheckGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly maxRunning: number,
    readonly maxWaiting: number,
  ) {
    if (!(maxRunning >= 1)) throw new RangeError('maxRunning must be at least 1');
  }

  get active(): number {
    return this.running;
  }
  get queued(): number {
    return this.waiting.length;
  }

  /** A slot (resolve → call `leave` exactly once when done), or null when full. */
  enter(): Promise<() => void> | null {
    if (this.running < this.maxRunning) {
      this.running++;
      return Promise.resolve(this.leaver());
    }
    if (this.waiting.length >= this.maxWaiting) return null;
    return new Promise((resolve) => this.waiting.push(() => resolve(this.leaver())));
  }

  private leaver(): () => void {
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = this.waiting.shift();
      if (next)
        next(); // the slot passes on: `running` stays
      else this.running--;
    };
  }
}
