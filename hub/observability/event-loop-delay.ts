/**
 * How long a ready alarm could wait for the hub's main thread: the event-loop delay, sampled every
 * `resolutionMs` (how late a timer fires) into the prom-client summary
 * `smokehub_event_loop_delay_seconds{quantile="0.5"|"0.99"|"1"}` (1: the maximum), whose quantiles
 * cover the last complete window (default one minute) and whose `_sum` and `_count` count every
 * sample since the start. A p99 of tens of milliseconds means the hub (or the machine) is
 * overloaded: every alarm can wait that long. (prom-client's `nodejs_eventloop_lag_*` gauges show
 * Node's own monitor between two scrapes.)
 */
import type { MetricsRegistry, Summary } from './metrics.ts';

export class EventLoopDelayMonitor {
  private readonly summary: Summary;
  private readonly sampler: NodeJS.Timeout;
  private readonly roller: NodeJS.Timeout;
  private last = performance.now();

  constructor(metrics: MetricsRegistry, windowMs = 60_000, resolutionMs = 10) {
    this.summary = metrics.summary(
      'smokehub_event_loop_delay_seconds',
      'Main-thread event-loop delay: quantiles over the last complete minute (quantile 1 is the maximum), _sum and _count since the start',
      [0.5, 0.99, 1],
    );
    this.sampler = setInterval(() => {
      const now = performance.now();
      this.summary.observe(Math.max(0, now - this.last - resolutionMs) / 1000);
      this.last = now;
    }, resolutionMs);
    this.sampler.unref();
    this.roller = setInterval(() => this.roll(), windowMs);
    this.roller.unref();
  }

  stop(): void {
    clearInterval(this.sampler);
    clearInterval(this.roller);
  }

  /** Ends the current window (every `windowMs`; tests call it directly). */
  roll(): void {
    this.summary.roll();
  }
}
