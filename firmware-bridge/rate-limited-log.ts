/**
 * Logs a kind of complaint once, then at most once per window with the count of repeats that
 * were held back: a board spewing garbage at 115200 baud must not flood the log or the SD card.
 */
import type { Logger } from '../hub/observability/logger.ts';
import type { Clock } from '../hub/core/clock.ts';

export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
    readonly windowMs = 60_000,
  ) {}

  warn(kind: string, obj: Record<string, unknown>, msg: string): boolean {
    return this.write('warn', kind, obj, msg);
  }

  error(kind: string, obj: Record<string, unknown>, msg: string): boolean {
    return this.write('error', kind, obj, msg);
  }

  /** Returns whether the line was written (false: held back). */
  private write(level: 'warn' | 'error', kind: string, obj: Record<string, unknown>, msg: string): boolean {
    const now = this.clock.now();
    const seen = this.last.get(kind);
    if (seen && now - seen.at < this.windowMs) {
      seen.suppressed++;
      return false;
    }
    const suppressed = seen?.suppressed ?? 0;
    this.last.set(kind, { at: now, suppressed: 0 });
    this.logger[level](suppressed > 0 ? { ...obj, kind, repeatsHeldBack: suppressed } : { ...obj, kind }, msg);
    return true;
  }
}
