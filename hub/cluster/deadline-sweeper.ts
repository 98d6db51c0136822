/**
 * Every node's deadline sweeper: every `intervalMs` (250 ms), in one transaction, it claims the
 * open alarms whose next deadline is due (`FOR UPDATE SKIP LOCKED`: rows another node's sweep holds
 * are left to it, so the nodes share the work), then ticks each of their teams under the team's
 * lock (team-stepper.ts, `tryLock`), commits, and hands what fired to be carried out.
 *
 * Exactly once: a deadline is consumed by the commit that fires it (the record's deadline is
 * cleared, its row's `next_deadline` moves on), and every tick re-reads the team's alarms under the
 * team's lock, so a later tick on any node finds nothing due. A team whose lock is held is skipped,
 * never waited for (no lock-order deadlock with a step that holds the team and waits for a row):
 * the step fires the team's due deadlines itself, or the next sweep does. A node that dies mid-sweep
 * has its transaction rolled back by the server (its connection closed; a frozen one is ended by
 * `idle_in_transaction_session_timeout`), so its rows and locks go to the next node's sweep.
 */
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { PgAlarmJournal } from './pg-journal.ts';
import type { PgPool } from './pg-pool.ts';
import type { StepResult, TeamStepper } from './team-stepper.ts';

export interface DeadlineSweeperDeps {
  pool: PgPool;
  journal: PgAlarmJournal;
  stepper: TeamStepper;
  clock: Clock;
  /** Carries out what a tick fired (after its commit). */
  onFired(team: string, result: StepResult & { kind: 'done' }): void;
  /** A sweep failed (PostgreSQL unreachable…): the next one retries. */
  onError?(err: unknown): void;
  /** ms between sweeps (default 250). */
  intervalMs?: number;
  /** Due alarms claimed per sweep (default 100). */
  batch?: number;
}

export class DeadlineSweeper {
  private timer: TimerHandle | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = true;

  constructor(private readonly d: DeadlineSweeperDeps) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  /** Stops sweeping; resolves once a sweep in progress has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /**
   * One sweep at `now`: returns the teams whose deadlines fired. A full batch sweeps again at once
   * (a backlog after an outage drains without waiting for the interval).
   */
  async sweepOnce(now = this.d.clock.now()): Promise<string[]> {
    const batch = this.d.batch ?? 100;
    const teams: string[] = [];
    for (;;) {
      const { fired, full } = await this.d.pool.withTransaction(
        async (tx) => {
          const due = await this.d.journal.lockDue(tx, now, batch);
          const fired: Array<[string, StepResult & { kind: 'done' }]> = [];
          for (const team of new Set(due.map((a) => a.team))) {
            const r = await this.d.stepper.stepIn(tx, team, () => [], { now, tryLock: true });
            if (r.kind === 'done') fired.push([team, r]);
          }
          return { fired, full: due.length === batch };
        },
        { attempts: 1 },
      );
      for (const [team, r] of fired) {
        teams.push(team);
        this.d.onFired(team, r);
      }
      if (!full || fired.length === 0 || this.stopped) return teams;
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.d.clock.setTimer(this.d.intervalMs ?? 250, () => {
      this.timer = null;
      const run = this.sweepOnce().catch((err) => this.d.onError?.(err));
      this.running = run;
      void run.finally(() => {
        if (this.running === run) this.running = null;
        this.schedule();
      });
    });
  }
}
