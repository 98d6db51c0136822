/**
 * Delivers the durable outbox to the hub, in order, while the link is up: a small window of
 * QoS 1 publishes in flight, each entry deleted from disk only once the hub acknowledged it.
 * MQTT.js resends the unacknowledged ones first after a reconnect (same session stores), so
 * order holds across outages; after a bridge restart the entries left on disk are resent with
 * their original event ids (the hub dedupes).
 */
import type { EventOutbox, OutboxEntry } from './event-outbox.ts';
import type { HubLink } from './hub-link.ts';
import type { Logger } from '../hub/observability/logger.ts';
import { topics } from '../hub/protocol/topics.ts';

export class OutboxDelivery {
  private readonly inFlight = new Set<number>();
  private lastQueued = 0;
  private pumping = false;
  private closed = false;
  private readonly eventTopic: string;
  private readonly telemetryTopic: string;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly outbox: EventOutbox,
    private readonly link: HubLink,
    household: string,
    device: string,
    private readonly logger: Logger,
    private readonly window = 16,
  ) {
    this.eventTopic = topics.device(household, device, 'event');
    this.telemetryTopic = topics.device(household, device, 'telemetry');
    link.on('connected', () => this.wake());
  }

  /** Something was added, or the link came up. */
  wake(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    try {
      while (this.link.connected && this.inFlight.size < this.window) {
        const batch = this.outbox.after(this.lastQueued, this.window - this.inFlight.size);
        if (batch.length === 0) break;
        for (const entry of batch) this.send(entry);
      }
    } finally {
      this.pumping = false;
    }
    this.checkIdle();
  }

  /** Resolves once nothing is waiting or in flight (tests, graceful shutdown). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  pending(): number {
    return this.outbox.size();
  }

  close(): void {
    this.closed = true;
  }

  private isIdle(): boolean {
    return this.inFlight.size === 0 && this.outbox.size() === 0;
  }

  private checkIdle(): void {
    if (this.idleWaiters.length > 0 && this.isIdle()) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private send(entry: OutboxEntry): void {
    this.inFlight.add(entry.seq);
    this.lastQueued = Math.max(this.lastQueued, entry.seq);
    const topic = entry.channel === 'event' ? this.eventTopic : this.telemetryTopic;
    this.link.publish(topic, entry.payload, { qos: 1 }).then(
      () => {
        this.inFlight.delete(entry.seq);
        if (!this.closed) this.outbox.ack(entry.seq);
        this.wake();
      },
      (err: Error) => {
        // The client was ended (shutdown): the entry stays on disk and is resent on next start.
        this.inFlight.delete(entry.seq);
        if (this.closed) return;
        this.logger.warn({ seq: entry.seq, err: err.message }, 'publish failed; will resend');
        this.lastQueued = Math.min(this.lastQueued, entry.seq - 1);
      },
    );
  }
}
