/**
 * One household device: wires a board profile to the hub link through the durable outbox and
 * the alert tracker. Events from the board are written to disk first, then delivered; alerts
 * and commands from the hub become sound, stand-down and silence on the board.
 */
import type { AlertAction } from '../hub/core/alert-tracker.ts';
import { AlertTracker } from '../hub/core/alert-tracker.ts';
import type { BoardProfile } from './board-profile.ts';
import type { EventOutbox } from './event-outbox.ts';
import type { HubLink } from './hub-link.ts';
import { OutboxDelivery } from './outbox-delivery.ts';
import type { Clock, TimerHandle } from '../hub/core/clock.ts';
import type { Logger } from '../hub/observability/logger.ts';
import type { MetricsRegistry } from '../hub/observability/metrics.ts';
import type { DeviceEvent, EventType, TelemetryField } from '../hub/protocol/schema.ts';

export interface DeviceBridgeOptions {
  household: string;
  device: string;
  link: HubLink;
  outbox: EventOutbox;
  profile: BoardProfile;
  logger: Logger;
  clock: Clock;
  metrics: MetricsRegistry;
  /**
   * After a reconnect, alarms the hub has not re-sent within this window are stood down (default 15 s).
   * A hub that publishes the retained open-alarm state ends the wait as soon as that state arrives.
   */
  resyncMs?: number;
}

export class DeviceBridge {
  readonly tracker: AlertTracker;
  readonly delivery: OutboxDelivery;
  private readonly log: Logger;
  private resyncTimer: TimerHandle | null = null;
  private boardDown = false;
  private pressWasPanic = false;
  private readonly eventsTotal;
  private readonly droppedTotal;

  constructor(private readonly o: DeviceBridgeOptions) {
    this.log = o.logger.child({ module: 'device-bridge', household: o.household, device: o.device });
    this.tracker = new AlertTracker(o.household);
    this.delivery = new OutboxDelivery(o.outbox, o.link, o.household, o.device, this.log);
    this.eventsTotal = o.metrics.counter('smokehub_bridge_events_total', 'Events raised by the board, by type');
    this.droppedTotal = o.metrics.counter('smokehub_bridge_outbox_dropped_total', 'Outbox entries dropped because it was full, by channel');
    o.metrics.gauge('smokehub_bridge_outbox_entries', 'Entries waiting in the durable outbox', () => o.outbox.size());

    o.profile.on('event', (type, level) => this.onBoardEvent(type, level));
    o.profile.on('telemetry', (values) => this.recordTelemetry(values));
    o.profile.on('press', () => this.onPress());
    // A long press is always a panic — unless the same press already raised one.
    o.profile.on('hold', () => {
      if (!this.pressWasPanic) this.raise('panic');
    });
    o.profile.on('up', (info) => {
      this.log.info({ info }, 'board up');
      this.boardDown = false;
    });
    o.profile.on('down', (reason) => {
      if (this.boardDown) return;
      this.boardDown = true;
      this.log.error({ reason }, 'board down');
      this.raise('fault');
    });
    o.link.on('alert', (view) => this.apply(this.tracker.onView(view)));
    // The retained open-alarm state: what is not in it is over (e.g. closed while the link was down).
    o.link.on('open-alarms', (state) => this.apply(this.tracker.onOpenState(state)));
    o.link.on('command', (cmd) => {
      this.log.info({ cmd: cmd.cmd, alarm: cmd.alarm }, 'command from hub');
      this.apply(this.tracker.onCommand(cmd));
    });
    o.link.on('connected', () => {
      this.tracker.beginResync();
      this.resyncTimer?.cancel();
      this.resyncTimer = o.clock.setTimer(o.resyncMs ?? 15_000, () => {
        this.resyncTimer = null;
        this.apply(this.tracker.endResync());
      });
    });
  }

  async start(): Promise<void> {
    this.o.link.start();
    await this.o.profile.start();
    this.delivery.wake();
  }

  async stop(): Promise<void> {
    this.resyncTimer?.cancel();
    await this.o.profile.stop();
    this.delivery.close();
    await this.o.link.stop();
    this.o.outbox.close();
  }

  /** Records an event durably and queues it for the hub. */
  raise(type: EventType, level?: number): DeviceEvent {
    const { event, dropped } = this.o.outbox.addEvent(type, this.o.clock.now(), level);
    this.eventsTotal.inc({ type });
    if (dropped > 0) this.droppedTotal.inc({ channel: 'any' }, dropped);
    this.log.info({ event }, 'event raised');
    this.delivery.wake();
    return event;
  }

  recordTelemetry(values: Partial<Record<TelemetryField, number>>): void {
    const { dropped } = this.o.outbox.addTelemetry(values, this.o.clock.now());
    if (dropped > 0) this.droppedTotal.inc({ channel: 'any' }, dropped);
    this.delivery.wake();
  }

  private onBoardEvent(type: EventType, level: number | undefined): void {
    if (type === 'hush') {
      // The board's own hush/silence button. Send `hush` unless only neighbours' alarms were
      // ringing (a neighbour cannot hush another home's alarm; silencing is local). During the
      // household's own pre-alarm the hub hushes it; during its active/escalated alarm it only
      // silences the household's own sounders.
      const neighboursOnly = this.tracker.tracked().some((a) => !a.silenced) && !this.tracker.tracked().some((a) => a.own && !a.silenced);
      const actions = this.tracker.onSilencePress();
      this.apply(actions.filter((a) => a.do !== 'hush'));
      if (!neighboursOnly) this.raise('hush', level);
      return;
    }
    this.raise(type, level);
    this.apply(this.tracker.onLocalEvent(type));
  }

  private onPress(): void {
    const actions = this.tracker.onSilencePress();
    this.pressWasPanic = actions.length === 0;
    if (actions.length === 0) {
      // Nothing sounding: the button is the panic button.
      this.raise('panic');
      return;
    }
    this.apply(actions);
  }

  private apply(actions: AlertAction[]): void {
    let hushed = false;
    for (const a of actions) {
      switch (a.do) {
        case 'sound':
          this.log.warn({ alarm: a.alarm, kind: a.kind, origin: a.origin, own: a.own }, 'sounding');
          this.o.profile.sound(a);
          break;
        case 'stand-down':
          this.log.info({ alarm: a.alarm }, 'stand-down');
          this.o.profile.standDown(a.alarm);
          break;
        case 'silence':
          this.o.profile.silence();
          break;
        case 'hush':
          if (!hushed) this.raise('hush');
          hushed = true;
          break;
        case 'test':
          this.o.profile.test();
          break;
      }
    }
  }
}
