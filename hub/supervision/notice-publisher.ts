/**
 * Stamps, stores and publishes notices: to the household concerned (`smokehub/h/H/notice`, which
 * its team leader may subscribe to) and, when asked, to the station (`smokehub/station/notice`).
 * Never to other households (neighbours), never at alarm severity. Emits bus `notice` for each.
 */
import type { HubBus, MqttPublisher } from '../app/context.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';
import type { MetricsRegistry, Counter } from '../observability/metrics.ts';
import { NOTICE_SEVERITIES, type Notice } from '../protocol/schema.ts';
import { topics } from '../protocol/topics.ts';
import type { NoticeDraft } from './reminders.ts';
import type { NoticeStore, StoredNotice } from './notice-store.ts';
import { CHUNK_SIZE, throwIfAborted, yieldNow } from './cooperative.ts';

export interface PublishNoticeOptions {
  /** Also publish each notice on the station topic (notices without a household always are). */
  station: boolean;
  signal?: AbortSignal;
}

/** The MQTT payload: exactly the shared `Notice` shape. */
export function noticePayload(n: Notice): string {
  const payload: Notice = {
    notice: n.notice,
    severity: n.severity,
    household: n.household,
    device: n.device,
    text: n.text,
    ...(n.params ? { params: n.params } : {}),
    at: n.at,
  };
  return JSON.stringify(payload);
}

export class NoticePublisher {
  private readonly total: Counter;
  constructor(private readonly deps: { store: NoticeStore; mqtt: MqttPublisher; bus: HubBus; clock: Clock; logger: Logger; metrics: MetricsRegistry }) {
    this.total = deps.metrics.counter('smokehub_notices_total', 'Notices sent to people, by notice and severity');
  }

  /** Stores and publishes a small batch at once (supervision transitions of one sweep). */
  publishNow(drafts: readonly NoticeDraft[], opts: { station: boolean }): StoredNotice[] {
    if (drafts.length === 0) return [];
    const at = this.deps.clock.now();
    const stamped = drafts.map((d) => this.stamp(d, at));
    const stored = this.deps.store.insertMany(stamped);
    for (const n of stored) this.send(n, opts.station);
    return stored;
  }

  /** Stores and publishes many notices in chunks, yielding between chunks (daily jobs). */
  async publishAll(drafts: readonly NoticeDraft[], opts: PublishNoticeOptions): Promise<number> {
    let sent = 0;
    for (let i = 0; i < drafts.length; i += CHUNK_SIZE) {
      throwIfAborted(opts.signal);
      sent += this.publishNow(drafts.slice(i, i + CHUNK_SIZE), opts).length;
      if (i + CHUNK_SIZE < drafts.length) await yieldNow();
    }
    return sent;
  }

  private stamp(d: NoticeDraft, at: number): Notice & { team: string | null } {
    // Alarm severity does not exist for notices; anything unexpected becomes `trouble`.
    const severity = (NOTICE_SEVERITIES as readonly string[]).includes(d.severity) ? d.severity : 'trouble';
    return { notice: d.notice, severity, household: d.household, device: d.device, text: d.text, ...(d.params ? { params: d.params } : {}), at, team: d.team };
  }

  private send(n: StoredNotice, station: boolean): void {
    const payload = noticePayload(n);
    try {
      if (n.household !== null) this.deps.mqtt.publish(topics.household(n.household, 'notice'), payload, { qos: 1 });
      if (station || n.household === null) this.deps.mqtt.publish(topics.station('notice'), payload, { qos: 1 });
    } catch (err) {
      this.deps.logger.error({ err, notice: n.notice, household: n.household }, 'could not publish a notice (it is stored)');
    }
    this.total.inc({ notice: n.notice, severity: n.severity });
    try {
      this.deps.bus.emit('notice', n);
    } catch (err) {
      this.deps.logger.error({ err }, 'a notice listener threw');
    }
  }
}
