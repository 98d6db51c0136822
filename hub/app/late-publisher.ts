/**
 * Breaks the one construction-order cycle of the composition root: the alarm service publishes
 * through the broker, and the broker is built with the alarm service as its inbound port. The alarm
 * service gets this publisher; the broker is bound to it right after it is built, before anything
 * can be published (the broker itself cannot publish before `init()`). A publish before that is a
 * wiring bug and throws at once rather than dropping an alert.
 */
import type { MqttPublisher, PublishOptions } from './context.ts';

export class LateBoundPublisher implements MqttPublisher {
  private target: MqttPublisher | null = null;

  /** Binds the real publisher, once. */
  bind(target: MqttPublisher): void {
    if (this.target) throw new Error('the publisher is already bound');
    this.target = target;
  }

  publish(topic: string, payload: string | Buffer, opts?: PublishOptions, done?: (err: Error | null) => void): void {
    if (!this.target) throw new Error(`published on ${topic} before the broker was bound`);
    this.target.publish(topic, payload, opts, done);
  }
}
