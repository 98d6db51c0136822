/**
 * The job runner's timing mechanism: node-cron 4.6 tasks in the hub timezone (node-cron's own
 * `noOverlap`, unref'd, a firing up to 60 s late still runs) and one-shot timers on the injected
 * clock (catch-up runs). Which runs happen is the runner's policy (job-policy.ts).
 */
import { schedule, type ScheduledTask } from 'node-cron';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';

export interface CronHandlers {
  /** The scheduled time `at` came. */
  fire(at: number): void | Promise<void>;
  /** node-cron did not start a firing because the previous one still runs. */
  overlap(at: number | null): void;
}

export class JobTimers {
  private readonly tasks = new Map<string, ScheduledTask>();
  private readonly timers: TimerHandle[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly timezone: string,
    private readonly log: Logger,
  ) {}

  /** Schedules `job` on `cron` (validated before: CronSchedule). */
  cron(job: string, cron: string, h: CronHandlers): void {
    const task = schedule(cron, (ctx) => h.fire(ctx.date.getTime()), {
      name: `smokehub:${job}`,
      timezone: this.timezone,
      noOverlap: true,
      unref: true,
      // The event loop may be busy for a moment under load: still run rather than miss a week.
      missedExecutionTolerance: 60_000,
      logger: this.cronLogger(job),
    });
    task.on('execution:overlap', (ctx) => h.overlap(ctx.date?.getTime() ?? null));
    this.tasks.set(job, task);
  }

  /** Calls `fn` once after `ms` on the injected clock (until `cancelTimers`). */
  after(ms: number, fn: () => void): void {
    this.timers.push(this.clock.setTimer(ms, fn));
  }

  cancelTimers(): void {
    for (const t of this.timers) t.cancel();
    this.timers.length = 0;
  }

  /** Ends `job`'s cron task, if any. */
  async unschedule(job: string): Promise<void> {
    const task = this.tasks.get(job);
    if (!task) return;
    this.tasks.delete(job);
    await task.destroy();
  }

  /** Ends every cron task (taken off at once: a `cron()` called meanwhile is kept). */
  async unscheduleAll(): Promise<void> {
    const tasks = [...this.tasks.values()];
    this.tasks.clear();
    await Promise.all(tasks.map((t) => t.destroy()));
  }

  private cronLogger(job: string) {
    const log = this.log.child({ job });
    return {
      info: (m: string) => log.info(m),
      warn: (m: string) => log.warn(m),
      error: (m: string | Error, err?: Error) => log.error({ err: err ?? (m instanceof Error ? m : undefined) }, m instanceof Error ? m.message : m),
      debug: (m: string | Error) => log.debug(m instanceof Error ? m.message : m),
    };
  }
}
