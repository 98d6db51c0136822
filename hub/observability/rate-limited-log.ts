/**
 * Logs a kind of complaint once, then at most once per window with the count of repeats that
 * were held back: a board spewing garbage at 115200 baud, or a device in a reconnect loop, must not
 * flood the log or the SD card. At most `maxKinds` kinds are remembered (oldest forgotten first).
 */
import type { Logger } from './logger.ts';
import type { Clock } from '../core/clock.ts';

export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
    readonly windowMs = 60_000,
    readonly maxKinds = 10_000,
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
    this.last.delete(kind);
    this.last.set(kind, { at: now, suppressed: 0 });
    if (this.last.size > this.maxKinds) this.last.delete(this.last.keys().next().value as string);
    this.logger[level](suppressed > 0 ? { ...obj, kind, repeatsHeldBack: suppressed } : { ...obj, kind }, msg);
    return true;
  }
}
