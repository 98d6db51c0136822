/**
 * The node's queue of team steps: one FIFO per team (a team's inputs are stepped in the order they
 * arrived here; teams run side by side), each step retried until it commits — PostgreSQL
 * unreachable delays inputs, never drops them. `whenDurable(cb)` calls back once every step
 * enqueued before the call has committed (or was found a duplicate): the PUBACK of a device event
 * waits for it, so an event whose step has not committed is not acknowledged and its device resends
 * it. While a step keeps failing, `onHealth` hears the problem (and null once steps commit again).
 */
import type { StepInput, StepOptions, StepResult, TeamStepper } from './team-stepper.ts';

export interface StepQueueDeps {
  stepper: Pick<TeamStepper, 'step'>;
  /** A step failed and will be retried. */
  onRetry?(team: string, err: unknown, attempt: number): void;
  /** Degraded (a message) while any step is failing; null once none is. */
  onHealth?(problem: string | null): void;
  /** Longest wait between retries (default 1000 ms; the first is 50 ms). */
  retryMaxMs?: number;
}

interface Job {
  seq: number;
  team: string;
  input: StepInput;
  opts: StepOptions;
  resolve(r: StepResult): void;
  reject(err: unknown): void;
}

/** The queue was stopped before the step committed (its input is not acknowledged). */
export class StepQueueStopped extends Error {}

export class StepQueue {
  private readonly teams = new Map<string, Job[]>();
  /** Steps enqueued and not yet committed, by sequence (ascending: a Set keeps insertion order). */
  private readonly pending = new Set<number>();
  private waiters: Array<{ upTo: number; cb: () => void }> = [];
  private readonly failing = new Set<string>();
  private seq = 0;
  private stopped = false;

  constructor(private readonly d: StepQueueDeps) {}

  /** Steps enqueued and not yet committed. */
  get backlog(): number {
    return this.pending.size;
  }

  /** Queues a step of `team`; resolves once it has committed (never rejects but on stop). */
  enqueue(team: string, input: StepInput, opts: StepOptions): Promise<StepResult> {
    if (this.stopped) return Promise.reject(new StepQueueStopped('the alarm service is stopped'));
    return new Promise((resolve, reject) => {
      const job: Job = { seq: ++this.seq, team, input, opts, resolve, reject };
      this.pending.add(job.seq);
      const q = this.teams.get(team);
      if (q) q.push(job);
      else {
        this.teams.set(team, [job]);
        void this.run(team);
      }
    });
  }

  /** Calls back once every step enqueued before this call has committed (at once when none waits). */
  whenDurable(cb: () => void): void {
    if (this.pending.size === 0) {
      cb();
      return;
    }
    this.waiters.push({ upTo: this.seq, cb });
  }

  /** Resolves once nothing is pending. */
  idle(): Promise<void> {
    return new Promise((resolve) => this.whenDurable(resolve));
  }

  /** Stops: the steps not yet committed are rejected (their inputs were not acknowledged). */
  stop(): void {
    this.stopped = true;
    this.waiters = [];
  }

  private async run(team: string): Promise<void> {
    const q = this.teams.get(team)!;
    while (q.length > 0) {
      const job = q[0]!;
      let wait = 50;
      for (let attempt = 1; ; attempt++) {
        if (this.stopped) {
          for (const j of q.splice(0)) {
            this.pending.delete(j.seq);
            j.reject(new StepQueueStopped('the alarm service stopped before this step committed'));
          }
          this.teams.delete(team);
          return; // no flush: a waiter behind a rejected step is never called (its PUBACK withheld)
        }
        try {
          const r = await this.d.stepper.step(team, job.input, { ...job.opts, attempts: 1 });
          this.healthy(team);
          q.shift();
          this.pending.delete(job.seq);
          job.resolve(r);
          this.flush();
          break;
        } catch (err) {
          this.failed(team);
          this.d.onRetry?.(team, err, attempt);
          await new Promise((res) => setTimeout(res, wait));
          wait = Math.min(wait * 2, this.d.retryMaxMs ?? 1000);
        }
      }
    }
    this.teams.delete(team);
  }

  private flush(): void {
    const first = this.pending.values().next();
    const lowest = first.done ? Infinity : first.value;
    const ready = this.waiters.filter((w) => w.upTo < lowest);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.upTo >= lowest);
    for (const w of ready) w.cb();
  }

  private failed(team: string): void {
    if (this.failing.has(team)) return;
    this.failing.add(team);
    if (this.failing.size === 1) this.d.onHealth?.('the alarm journal (PostgreSQL) cannot be written: inputs wait unacknowledged and are retried');
  }

  private healthy(team: string): void {
    if (!this.failing.delete(team)) return;
    if (this.failing.size === 0) this.d.onHealth?.(null);
  }
}
