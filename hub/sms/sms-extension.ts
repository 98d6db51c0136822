/**
 * Reaching people, not only devices: SMS and calls through GSM modems (`--modem PATH[,PATH2]`).
 *
 * On every alarm change (bus `alarm-changed`) the pure planner (hub/core/sms-plan.ts) says who gets
 * which text or call; the texts are rendered (sms-texts.ts) and put in the durable outgoing queue
 * (outbound-queue.ts: survives kill -9, de-duplicated, in priority order); one sender per modem
 * (sms-sender.ts) sends them. Replies (`0` false alarm, `1` coming, `2` cannot come, `3` need help)
 * from a known number are that household's response. The modems are supervised like devices.
 * Everything sent is in the alarm's timeline and in `GET /api/alarms/:id` (`contacts`).
 */
import type { HubContext, HubExtension } from '../app/context.ts';
import type { HubConfig } from '../config/config.ts';
import type { AlarmView, Notice } from '../protocol/schema.ts';
import { topics } from '../protocol/topics.ts';
import { ConfigError, SmokehubError } from '../protocol/errors.ts';
import { isStationCall, nextStationCall, parseReplyCode, planFor, PRIORITY, type PlannedAction } from '../core/sms-plan.ts';
import { RateLimitedLog } from '../observability/rate-limited-log.ts';
import { OutboundQueue, type OutboundItem } from './outbound-queue.ts';
import { GsmModem, type IncomingSms, type ModemStatus } from './gsm-modem.ts';
import { normalisePhone, parsePhoneList } from './phone-number.ts';
import { renderSms } from './sms-render.ts';
import { smsText, type SmsLanguage } from './sms-texts.ts';
import { SmsSender, type ModemPort } from './sms-sender.ts';
import { migrateSmsRelay, SmsRelay } from './sms-relay.ts';
import type { Logger } from '../observability/logger.ts';

/** A modem as the extension uses it (GsmModem; tests may hand in their own). */
export interface ManagedModem extends ModemPort {
  start(): Promise<void>;
  stop(): Promise<void>;
  on(event: 'sms', listener: (m: IncomingSms) => void): unknown;
  on(event: 'status', listener: (s: ModemStatus) => void): unknown;
  on(event: 'delivered', listener: (r: { ref: number; ok: boolean; recipient: string }) => void): unknown;
}

export interface SmsExtensionOptions {
  /** Instead of opening `config.modem` (tests, benchmarks). */
  modems?: Array<{ name: string; modem: ManagedModem }>;
  lang?: SmsLanguage;
  ringMs?: number;
}

/** At most one help text per number per hour. */
const HELP_EVERY_MS = 3600_000;
const HELP_MEMORY = 10_000;

/**
 * What runs once per hub (`ctx.singleton`; in a cluster, a lease in PostgreSQL: docs/cluster.md):
 * the modems (their ports are opened only on the holder) and the sending of the outgoing queue.
 * In a cluster every node hands its alarm changes to the holder (sms-relay.ts), which queues them.
 */
export const LEASE_SMS = 'sms';

export class SmsExtension implements HubExtension {
  readonly name = 'sms';
  private senders: SmsSender[] = [];
  private modems: Array<{ name: string; modem: ManagedModem }> = [];
  private readonly helpSent = new Map<string, number>();
  private phoneIndex: { built: number; byPhone: Map<string, string[]> } | null = null;
  /** Senders and modems run (this node holds `sms`). */
  private active = false;
  private stopping = false;
  /** Starting and stopping the senders and modems, one after the other, as the lease comes and goes. */
  private transitions: Promise<void> = Promise.resolve();
  private unwatch: () => void = () => {};
  private activate: () => Promise<void> = async () => {};
  private relay: SmsRelay | null = null;

  constructor(
    private readonly config: HubConfig,
    private readonly opts: SmsExtensionOptions = {},
  ) {}

  async start(ctx: HubContext): Promise<void> {
    const log = ctx.logger.child({ module: 'sms' });
    // In a cluster every node's alarm changes go to the holder of `sms`, which plans them (sms-relay.ts);
    // a node without a modem only forwards them (it never asks for the lease).
    const relay = ctx.cluster ? new SmsRelay({ pool: ctx.cluster.pool, node: ctx.cluster.nodeId, clock: ctx.clock, logger: log }) : null;
    if (relay && ctx.cluster) await migrateSmsRelay(ctx.cluster.pool);
    this.relay = relay;
    if (!this.config.modem && !this.opts.modems) {
      if (relay) ctx.bus.on('sms', 'alarm-changed', (view, transition) => relay.forward(view, transition));
      return;
    }
    const stationPhones = this.stationPhones();
    const queue = new OutboundQueue(ctx.db);
    const sent = ctx.metrics.counter('smokehub_sms_sent_total', 'SMS and calls handed to a modem, by kind and result');
    const rejectLog = new RateLimitedLog(log, ctx.clock, 60_000);
    const rejects = ctx.metrics.counter('smokehub_rejects_total', 'Rejected inputs by reason (error code) and channel');
    ctx.metrics.gauge('smokehub_sms_queue', 'Outgoing SMS and calls by state', () => Object.entries(queue.counts()).map(([state, n]) => [{ state }, n]));
    const lang = this.opts.lang ?? 'vi';
    // The dispatch card always goes without diacritics: two GSM-7 parts hold 306 characters, two UCS-2 parts
    // only 134 — the whole card (who needs help to get out, gas cylinders, access, water) matters more.
    const render = (id: Parameters<typeof renderSms>[0], view: AlarmView) =>
      renderSms(id, view, {
        lang,
        unaccented: this.config.smsUnaccented || id === 'dispatch-card',
        timeZone: this.config.timezone,
        card: ctx.registry.getHousehold(view.origin.household)?.card ?? { access: '', hazards: '', vulnerable: '', water: '' },
      });
    const hub = { by: { kind: 'hub' as const, reason: 'sms' }, via: 'sms' as const };
    const kickAll = () => this.senders.forEach((s) => s.kick());

    const enqueue = (a: PlannedAction, view: AlarmView) => {
      const text = a.kind === 'sms' ? render(a.message, view) : null;
      const r = queue.enqueue(
        {
          kind: a.kind,
          to: a.to,
          text,
          priority: a.priority,
          alarm: view.alarm,
          household: a.household,
          dedupeKey: a.dedupeKey,
          notBefore: a.kind === 'call' ? a.notBefore : undefined,
        },
        ctx.clock.now(),
      );
      return r.created;
    };

    // ---- alarm changes → texts and calls -------------------------------------------------------
    const plan = (view: AlarmView, transition: string) => {
      if (transition === 'response') {
        // A household that answered is not called any more.
        const last = view.responders.reduce((a, r) => (a && a.at > r.at ? a : r), view.responders[0]);
        if (last) queue.cancel({ alarm: view.alarm, kind: 'call', household: last.household }, ctx.clock.now(), 'answered');
        return;
      }
      const texted = queue
        .listForAlarm(view.alarm)
        .filter((i) => i.kind === 'sms' && i.state !== 'cancelled')
        .map((i) => i.to);
      const plan = planFor(view, transition, {
        phonesOf: (h) => ctx.registry.getHousehold(h)?.phones ?? [],
        teamHouseholds: ctx.registry.householdsOfTeam(view.team).map((h) => h.id),
        stationPhones,
        texted,
        now: ctx.clock.now(),
        callAfterMs: this.config.callAfterS * 1000,
      });
      if (plan.cancelCalls) queue.cancel({ alarm: view.alarm, kind: 'call' }, ctx.clock.now(), view.state);
      let queued = 0;
      for (const a of plan.actions) if (enqueue(a, view)) queued++;
      if (queued > 0) {
        log.info({ alarm: view.alarm, transition, queued }, 'texts and calls queued');
        kickAll();
      }
    };
    ctx.bus.on('sms', 'alarm-changed', (view, transition) => (relay ? relay.forward(view, transition) : plan(view, transition)));

    // ---- senders, one per modem ----------------------------------------------------------------
    const hooks = {
      shouldCall: (item: OutboundItem) => {
        if (!item.alarm) return true;
        const view = ctx.alarms.viewOf(item.alarm);
        if (!view || view.state === 'cancelled' || view.state === 'resolved' || view.state === 'hushed') return false;
        return !item.household || !view.responders.some((r) => r.household === item.household);
      },
      sent: (item: OutboundItem, info: Record<string, unknown>) => {
        if (item.alarm) ctx.alarms.note(item.alarm, 'sms-sent', { to: item.to, household: item.household, parts: info.parts }, hub);
      },
      failed: (item: OutboundItem, error: string, final: boolean) => {
        if (item.alarm)
          ctx.alarms.note(item.alarm, item.kind === 'sms' ? 'sms-failed' : 'call-failed', { to: item.to, household: item.household, error, final }, hub);
      },
      called: (item: OutboundItem, outcome: string) => {
        if (!item.alarm) return;
        ctx.alarms.note(item.alarm, 'called', { to: item.to, household: item.household, outcome }, hub);
        // The station numbers are called in order until one answers.
        if (isStationCall(item.dedupeKey) && outcome !== 'answered') {
          const next = nextStationCall(item, stationPhones, ctx.clock.now());
          if (next && enqueue(next, ctx.alarms.viewOf(item.alarm)!)) kickAll();
        }
      },
    };
    const makeModems = () =>
      this.opts.modems ??
      (this.config.modem ?? '')
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
        .map((path) => ({
          name: path,
          modem: new GsmModem({
            path,
            baudRate: this.config.modemBaud,
            ...(this.config.modemPin ? { pin: this.config.modemPin } : {}),
            clock: ctx.clock,
            logger: ctx.logger,
          }),
        }));
    const up = new Map<string, number>();
    ctx.metrics.gauge('smokehub_modem_up', '1 while a modem can send (port open, SIM ready, registered)', () =>
      this.modems.map((m) => [{ modem: m.name }, up.get(m.name) ?? 0]),
    );
    const senderOf = new Map<string, SmsSender>();
    const wired = new WeakSet<ManagedModem>();
    const wire = (name: string, modem: ManagedModem) => {
      if (wired.has(modem)) return; // a modem handed in (opts.modems) is started again on the next acquisition
      wired.add(modem);
      modem.on('status', (st) => {
        if (!this.active) return void up.set(name, 0); // stopped here: not a modem trouble
        const ok = st.up && st.registered ? 1 : 0;
        if (up.get(name) !== ok) this.modemNotice(ctx, name, st, ok === 1, up.has(name));
        up.set(name, ok);
        senderOf.get(name)?.kick();
      });
      modem.on('sms', (m) => this.active && this.onReply(ctx, m, queue, log, rejectLog, rejects, kickAll));
      modem.on('delivered', (r) => log.info({ modem: name, ref: r.ref, ok: r.ok, to: r.recipient }, 'SMS delivery report'));
    };
    // This node holds `sms` (from the start on a single box): what was being sent when it last stopped
    // is queued again, the ports are opened and one sender per modem sends the queue.
    this.activate = async () => {
      if (this.active || this.stopping) return;
      this.active = true;
      const recovered = queue.recover(ctx.clock.now());
      if (recovered.requeued > 0) log.warn(recovered, 'outgoing messages that were being sent when the hub stopped are queued again');
      up.clear();
      senderOf.clear();
      this.modems = makeModems();
      for (const { name, modem } of this.modems) {
        const sender = new SmsSender({
          name,
          modem,
          queue,
          clock: ctx.clock,
          logger: log.child({ modem: name }),
          hooks,
          unaccented: this.config.smsUnaccented,
          ringMs: this.opts.ringMs ?? this.config.callRingS * 1000,
          sent,
        });
        this.senders.push(sender);
        senderOf.set(name, sender);
        wire(name, modem);
        sender.start();
        await modem.start();
        up.set(name, modem.status.up && modem.status.registered ? 1 : 0);
        if (up.get(name) === 0) this.modemNotice(ctx, name, modem.status, false, false);
      }
      relay?.startDraining(plan);
    };
    // On a single box the watcher is called at once, so the modems are started before start() returns, as
    // they always were (and a failure to start them is start()'s); in a cluster, when the lease comes.
    let first: Promise<void> | null = null;
    this.unwatch = ctx.singleton.watch(LEASE_SMS, (held) => {
      const step = this.transitions.then(() => (held ? this.activate() : this.deactivate()));
      this.transitions = step.catch((err) => log.error({ err, held }, held ? 'SMS could not start on taking the lease' : 'SMS could not stop'));
      first ??= step;
    });
    await first;

    ctx.alarmDetails.set('contacts', (alarmId) =>
      queue.listForAlarm(alarmId).map((i) => ({
        kind: i.kind,
        to: i.to,
        household: i.household,
        state: i.state,
        queuedAt: i.createdAt,
        sentAt: i.sentAt,
        attempts: i.attempts,
        error: i.error,
        ...(i.info?.outcome ? { outcome: i.info.outcome } : {}),
        ...(i.info?.parts ? { parts: i.info.parts } : {}),
      })),
    );
    log.info({ modems: this.modems.map((m) => m.name), stationPhones: stationPhones.length }, 'SMS and calls through GSM modems');
  }

  /**
   * Stops the senders and the modems without waiting for a text or a ring in progress (that item is
   * `sending` in the queue and is sent again after the next start: at least once).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.unwatch();
    await this.transitions;
    await this.halt();
    this.active = false;
    await this.relay?.close();
  }

  /** This node lost `sms`: it stops sending and closes the modems' ports (what it queues meanwhile waits). */
  private async deactivate(): Promise<void> {
    if (!this.active) return;
    this.active = false; // before the modems stop: their going down is not a modem trouble here
    await this.halt();
  }

  /** Stops the senders and the modems (on `stop()` as it always did: the modems' last status is told). */
  private async halt(): Promise<void> {
    await this.relay?.stopDraining();
    const senders = Promise.all(this.senders.map((s) => s.stop()));
    await Promise.all(this.modems.map((m) => m.modem.stop().catch(() => {})));
    await Promise.race([senders, new Promise((r) => setTimeout(r, 3000).unref())]);
    this.senders = [];
  }

  private stationPhones(): string[] {
    if (!this.config.stationPhones) return [];
    const r = parsePhoneList(this.config.stationPhones.replaceAll(',', ';'), this.config.countryCode);
    if (!r.ok) throw new ConfigError(`--station-phones: ${r.reasons.join('; ')}`);
    return r.phones;
  }

  /** A reply from a phone: the household's response to the open alarm it concerns, or one help text an hour. */
  private onReply(
    ctx: HubContext,
    m: IncomingSms,
    queue: OutboundQueue,
    log: Logger,
    rejectLog: RateLimitedLog,
    rejects: { inc(l?: Record<string, string>): void },
    kick: () => void,
  ): void {
    const n = normalisePhone(m.from, this.config.countryCode);
    const phone = n.ok ? n.e164 : m.from;
    const households = n.ok ? this.householdsOf(ctx, phone) : [];
    const response = parseReplyCode(m.text);
    const help = (id: 'help-unknown-code' | 'help-unknown-number', why: string) => {
      rejects.inc({ reason: id === 'help-unknown-number' ? 'unknown_number' : 'unknown_code', channel: 'sms' });
      rejectLog.warn(`${phone}|${id}`, { from: phone, text: m.text.slice(0, 40), why }, 'SMS reply not understood');
      const last = this.helpSent.get(phone);
      const now = ctx.clock.now();
      if (!n.ok || (last !== undefined && now - last < HELP_EVERY_MS)) return;
      this.helpSent.set(phone, now);
      if (this.helpSent.size > HELP_MEMORY) this.helpSent.delete(this.helpSent.keys().next().value as string);
      queue.enqueue(
        {
          kind: 'sms',
          to: phone,
          text: smsText({ id }, { lang: this.opts.lang ?? 'vi', unaccented: this.config.smsUnaccented }),
          priority: PRIORITY.help,
          dedupeKey: `help:${phone}:${now}`,
        },
        now,
      );
      kick();
    };
    if (households.length === 0) return help('help-unknown-number', 'number not in the registry');
    if (response === null) return help('help-unknown-code', 'not a reply code');
    // The open alarm that concerns one of the number's households, latest first.
    const candidates = households.flatMap((h) => ctx.alarms.concerning(h).map((v) => ({ h, v }))).sort((a, b) => b.v.updatedAt - a.v.updatedAt);
    const chosen = response === 'false-alarm' ? (candidates.find((c) => c.v.origin.household === c.h) ?? candidates[0]) : candidates[0];
    if (!chosen) {
      log.info({ from: phone, text: m.text.slice(0, 40) }, 'SMS reply for no open alarm');
      return;
    }
    try {
      ctx.alarms.respond(chosen.h, chosen.v.alarm, response, { by: { kind: 'sms', phone }, via: 'sms' });
      log.info({ from: phone, household: chosen.h, alarm: chosen.v.alarm, response }, 'SMS reply recorded');
    } catch (err) {
      if (!(err instanceof SmokehubError)) throw err;
      rejects.inc({ reason: err.code, channel: 'sms' });
      rejectLog.warn(`${phone}|${err.code}`, { from: phone, household: chosen.h, alarm: chosen.v.alarm, response, err: err.message }, 'SMS reply refused');
    }
  }

  /** Households whose numbers include `phone` (index rebuilt at most every 30 s when a number is not found). */
  private householdsOf(ctx: HubContext, phone: string): string[] {
    const now = ctx.clock.now();
    const age = this.phoneIndex ? now - this.phoneIndex.built : Infinity;
    if (age > 30_000 || (age > 5_000 && !this.phoneIndex!.byPhone.has(phone))) {
      const byPhone = new Map<string, string[]>();
      for (const h of ctx.registry.listHouseholds()) for (const p of h.phones) byPhone.set(p, [...(byPhone.get(p) ?? []), h.id]);
      this.phoneIndex = { built: now, byPhone };
    }
    return this.phoneIndex!.byPhone.get(phone) ?? [];
  }

  /** The modem is supervised like a device: down or back, the station is told. */
  private modemNotice(ctx: HubContext, name: string, st: ModemStatus, ok: boolean, known: boolean): void {
    if (ok && !known) return;
    const n: Notice = {
      notice: ok ? 'modem-up' : 'modem-trouble',
      severity: ok ? 'info' : 'trouble',
      household: null,
      device: null,
      text: ok
        ? `GSM modem ${name} is back: SMS and calls are sent again.`
        : `GSM modem ${name} cannot send (${st.reason ?? (st.up ? 'not registered on the network' : 'not connected')}): SMS and calls wait in the queue.`,
      params: ok
        ? { modem: name }
        : { modem: name, ...(st.reason ? { detail: st.reason } : {}), reason: st.reason ? 'other' : st.up ? 'not-registered' : 'not-connected' },
      at: ctx.clock.now(),
    };
    ctx.mqtt.publish(topics.station('notice'), JSON.stringify(n), { qos: 1 });
    ctx.bus.emit('notice', n);
    ctx.logger.warn({ modem: name, status: st }, ok ? 'modem back' : 'modem trouble');
  }
}

export function smsExtension(config: HubConfig, opts?: SmsExtensionOptions): SmsExtension {
  return new SmsExtension(config, opts);
}
