/**
 * How long a ready alarm could wait for the hub's main thread: the event-loop delay, sampled by
 * Node's `monitorEventLoopDelay` and reported for the last complete window (default one minute) as
 * the summary `smokehub_event_loop_delay_seconds{quantile="0.5"|"0.99"|"1"}` (1: the maximum), with
 * `_sum` and `_count` of that window's samples. A p99 of tens of milliseconds
 * means the hub (or the machine) is overloaded: every alarm can wait that long.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { MetricsRegistry } from './metrics.ts';

export class EventLoopDelayMonitor {
  private readonly histogram: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;
  private last = { p50: 0, p99: 0, max: 0, sum: 0, count: 0 };

  constructor(metrics: MetricsRegistry, windowMs = 60_000) {
    this.histogram = monitorEventLoopDelay({ resolution: 10 });
    this.histogram.enable();
    this.timer = setInterval(() => this.roll(), windowMs);
    this.timer.unref();
    metrics.summary('smokehub_event_loop_delay_seconds', 'Main-thread event-loop delay over the last complete minute (quantile 1 is the maximum)', () => ({
      quantiles: [
        [0.5, this.last.p50],
        [0.99, this.last.p99],
        [1, this.last.max],
      ],
      sum: this.last.sum,
      count: this.last.count,
    }));
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }

  /** Ends the current window (every `windowMs`; tests call it directly). */
  roll(): void {
    const h = this.histogram;
    // Values are nanoseconds; an empty window (no samples yet) reports zeros.
    const s = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
    this.last =
      h.count > 0
        ? { p50: s(h.percentile(50)), p99: s(h.percentile(99)), max: s(h.max), sum: s(h.mean) * h.count, count: h.count }
        : { p50: 0, p99: 0, max: 0, sum: 0, count: 0 };
    h.reset();
  }
}
