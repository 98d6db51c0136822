/**
 * The hub's typed event bus, safe by design (in the spirit of zigbee2mqtt's eventBus.ts): every
 * listener belongs to an owner (an extension, the broker, a test), is wrapped so that a throwing
 * listener never reaches the emitter — the alarm path emits here — and is removed with its owner
 * when that stops. Failures are logged (rate-limited) and counted in
 * `smokehub_bus_listener_errors_total{owner,event}`.
 */
import type { Logger } from '../observability/logger.ts';
import type { MetricsRegistry, Counter } from '../observability/metrics.ts';
import type { Clock } from '../core/clock.ts';
import { RateLimitedLog } from '../observability/rate-limited-log.ts';
import type { HubBus, HubEvents } from './context.ts';

type AnyListener = (...args: unknown[]) => void;

export class EventBus implements HubBus {
  private readonly listeners = new Map<keyof HubEvents, Array<{ owner: string; fn: AnyListener }>>();
  private readonly errors: Counter;
  private readonly errorLog: RateLimitedLog;

  constructor(metrics: MetricsRegistry, logger: Logger, clock: Clock) {
    this.errors = metrics.counter('smokehub_bus_listener_errors_total', 'Bus listeners that threw (the emitter carried on), by owner and event');
    this.errorLog = new RateLimitedLog(logger.child({ module: 'bus' }), clock, 60_000);
  }

  /** Adds `owner`'s listener; returns a function that removes it. */
  on<K extends keyof HubEvents>(owner: string, event: K, listener: (...args: HubEvents[K]) => void): () => void {
    const entry = { owner, fn: listener as unknown as AnyListener };
    const list = this.listeners.get(event) ?? [];
    // Copy on write: an emit in progress keeps the list it started with.
    this.listeners.set(event, [...list, entry]);
    return () => {
      const cur = this.listeners.get(event) ?? [];
      this.listeners.set(
        event,
        cur.filter((e) => e !== entry),
      );
    };
  }

  /** Removes every listener of `owner` (on its stop). */
  removeOwner(owner: string): void {
    for (const [event, list] of this.listeners)
      this.listeners.set(
        event,
        list.filter((e) => e.owner !== owner),
      );
  }

  /** Calls every listener; one that throws is counted and logged, and the others still run. */
  emit<K extends keyof HubEvents>(event: K, ...args: HubEvents[K]): void {
    const list = this.listeners.get(event);
    if (!list) return;
    for (const { owner, fn } of list) {
      try {
        fn(...(args as unknown[]));
      } catch (err) {
        this.errors.inc({ owner, event });
        this.errorLog.error(`${owner}|${event}`, { err, owner, event }, 'bus listener failed');
      }
    }
  }

  listenerCount(event: keyof HubEvents): number {
    return this.listeners.get(event)?.length ?? 0;
  }
}
