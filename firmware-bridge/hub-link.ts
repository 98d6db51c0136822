/**
 * The bridge's MQTT link to the hub (MQTT.js 5, MQTT 3.1.1): a persistent session (clean=false,
 * client id = device id), credentials = device id + secret, last will `offline` (retained) on
 * the status topic and `online` (retained) once up, subscriptions to the household's `alert`
 * topic, its retained open-alarm state (`alarms`) and the device's `cmd` topic. Reconnects itself with capped exponential backoff and
 * jitter; a refused CONNACK (wrong secret, not enrolled) is said clearly and retried slowly.
 * Incoming payloads are validated with the shared schema; invalid ones are logged and counted.
 */
import { EventEmitter } from 'node:events';
import { hubConnectTarget } from './hub-urls.ts';
import mqtt, { type MqttClient } from 'mqtt';
import { topics } from '../hub/protocol/topics.ts';
import { parseAlarmView, parseCommand, parseOpenAlarmsState, type AlarmView, type DeviceCommand, type OpenAlarmsState } from '../hub/protocol/schema.ts';
import type { Clock, TimerHandle } from '../hub/core/clock.ts';
import { liveClock } from './live-clock.ts';
import type { Logger } from '../hub/observability/logger.ts';
import { RateLimitedLog } from '../hub/observability/rate-limited-log.ts';

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** Fraction of the delay randomised (0..1): 0.5 → delay × [0.5, 1.0]. Spreads a province reconnecting after a power cut. */
  jitter: number;
}
export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1000, maxMs: 60_000, jitter: 0.5 };

/** Delay before reconnect attempt `attempt` (0-based). Pure: `random` is injected. */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(base * (1 - policy.jitter * random()));
}

/** Why the hub refused us, in words a person installing the bridge understands. */
export function describeConnackError(code: number, device: string): string {
  switch (code) {
    case 4:
      return `hub refused the connection: wrong secret for device ${device} (or the device is not enrolled)`;
    case 5:
      return `hub refused the connection: device ${device} is not authorized (is it enrolled in this household?)`;
    case 2:
      return `hub refused the client id ${device}`;
    case 3:
      return 'hub unavailable (CONNACK 3)';
    default:
      return `hub refused the connection (CONNACK ${code})`;
  }
}

export interface HubLinkOptions {
  url: string;
  household: string;
  device: string;
  secret: string;
  /** PEM of the CA to check the hub's certificate against (mqtts:// and wss://; default: the system's CAs). */
  ca?: string;
  logger: Logger;
  clock?: Clock;
  backoff?: BackoffPolicy;
  /** Retry delay after a refused CONNACK (default 60 s): slow, so a wrong secret does not hammer the hub. */
  authRetryMs?: number;
  keepaliveS?: number;
  connectTimeoutMs?: number;
  random?: () => number;
}

export interface HubLinkEvents {
  connected: [sessionPresent: boolean];
  disconnected: [];
  alert: [view: AlarmView];
  /** The hub's retained open-alarm state of the household (on every subscribe and every change). */
  'open-alarms': [state: OpenAlarmsState];
  command: [cmd: DeviceCommand];
  /** The hub refused our credentials (CONNACK 4/5). */
  refused: [code: number, message: string];
}

export class HubLink extends EventEmitter<HubLinkEvents> {
  private client: MqttClient | null = null;
  private readonly clock: Clock;
  private readonly backoff: BackoffPolicy;
  private readonly log: Logger;
  private readonly rateLog: RateLimitedLog;
  private attempt = 0;
  private refusedCode: number | null = null;
  private retryTimer: TimerHandle | null = null;
  private stopped = false;
  private up = false;
  readonly statusTopic: string;
  readonly alertTopic: string;
  readonly alarmsTopic: string;
  readonly cmdTopic: string;

  constructor(private readonly opts: HubLinkOptions) {
    super();
    this.clock = opts.clock ?? liveClock;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.log = opts.logger.child({ module: 'hub-link', device: opts.device });
    this.rateLog = new RateLimitedLog(this.log, this.clock, 60_000);
    this.statusTopic = topics.device(opts.household, opts.device, 'status');
    this.alertTopic = topics.household(opts.household, 'alert');
    this.alarmsTopic = topics.household(opts.household, 'alarms');
    this.cmdTopic = topics.device(opts.household, opts.device, 'cmd');
  }

  get connected(): boolean {
    return this.up;
  }

  start(): void {
    if (this.client) return;
    const o = this.opts;
    const target = hubConnectTarget(o.url);
    const client = mqtt.connect(target.url, {
      ...target.options,
      protocolVersion: 4,
      clientId: o.device,
      username: o.device,
      password: o.secret,
      clean: false,
      keepalive: o.keepaliveS ?? 30,
      connectTimeout: o.connectTimeoutMs ?? 10_000,
      // Reconnects are ours (backoff with jitter), not MQTT.js's fixed period.
      reconnectPeriod: 0,
      queueQoSZero: false,
      resubscribe: false,
      will: { topic: this.statusTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
      ...(o.ca === undefined ? {} : { ca: o.ca }),
    });
    this.client = client;
    client.on('connect', (connack) => this.onConnect(connack.sessionPresent));
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('error', (err) => this.onError(err as Error & { code?: number | string }));
    client.on('close', () => this.onClose());
  }

  /** Publishes with QoS 1; resolves on PUBACK. MQTT.js keeps the packet across reconnects. */
  publish(topic: string, payload: string, opts: { qos?: 0 | 1; retain?: boolean } = {}): Promise<void> {
    const client = this.client;
    if (!client) return Promise.reject(new Error('hub link not started'));
    return new Promise((resolve, reject) => {
      client.publish(topic, payload, { qos: opts.qos ?? 1, retain: opts.retain ?? false }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Goes offline cleanly: publishes `offline` (retained) and disconnects. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.retryTimer?.cancel();
    this.retryTimer = null;
    const client = this.client;
    if (!client) return;
    if (this.up) {
      await Promise.race([this.publish(this.statusTopic, 'offline', { retain: true }).catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
    }
    // Force when the link is down: a graceful end would wait for a DISCONNECT that cannot be sent.
    const force = !this.up;
    await Promise.race([new Promise<void>((resolve) => client.end(force, {}, () => resolve())), new Promise<void>((resolve) => setTimeout(resolve, 2000))]);
    if (!client.disconnected) client.end(true);
    this.up = false;
  }

  /** Drops the connection abruptly (no DISCONNECT: the broker publishes the will). For tests and drills. */
  destroyConnection(): void {
    this.client?.stream?.destroy();
  }

  private onConnect(sessionPresent: boolean): void {
    const client = this.client!;
    this.attempt = 0;
    this.refusedCode = null;
    this.up = true;
    this.log.info({ url: this.opts.url, sessionPresent }, 'connected to hub');
    client.subscribe(
      [
        { topic: this.alertTopic, qos: 1 },
        { topic: this.alarmsTopic, qos: 1 },
        { topic: this.cmdTopic, qos: 1 },
      ].reduce<Record<string, { qos: 1 }>>((m, s) => ((m[s.topic] = { qos: 1 }), m), {}),
      (err, granted) => {
        if (err) {
          this.log.error({ err: err.message }, 'subscription failed');
          return;
        }
        const refused = (granted ?? []).filter((g) => g.qos === 128);
        if (refused.length > 0) this.log.error({ topics: refused.map((g) => g.topic) }, 'hub refused subscriptions: alerts for this household will not arrive');
      },
    );
    this.publish(this.statusTopic, 'online', { retain: true }).catch((err: Error) => this.log.warn({ err: err.message }, 'could not publish online status'));
    this.emit('connected', sessionPresent);
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic === this.alertTopic) {
      const r = parseAlarmView(payload);
      if (!r.ok) {
        this.rateLog.warn(`bad-alert`, { topic, issues: r.issues }, 'ignored an invalid alarm view from the hub');
        return;
      }
      this.emit('alert', r.value);
    } else if (topic === this.alarmsTopic) {
      const r = parseOpenAlarmsState(payload);
      if (!r.ok) {
        this.rateLog.warn(`bad-alarms`, { topic, issues: r.issues }, 'ignored an invalid open-alarm state from the hub');
        return;
      }
      this.emit('open-alarms', r.value);
    } else if (topic === this.cmdTopic) {
      const r = parseCommand(payload);
      if (!r.ok) {
        this.rateLog.warn(`bad-cmd`, { topic, issues: r.issues }, 'ignored an invalid command from the hub');
        return;
      }
      this.emit('command', r.value);
    }
  }

  private onError(err: Error & { code?: number | string }): void {
    if (err.code === 3) {
      // Server unavailable (a cluster node that lost Redis, or the hub's login checks are busy): not our
      // credentials. Retried with the normal backoff, on the next hub URL when there are several.
      this.rateLog.warn('connack-3', { url: this.opts.url, err: err.message }, 'hub unavailable; trying again');
      return;
    }
    if (typeof err.code === 'number' && err.code > 0 && err.code < 6) {
      this.refusedCode = err.code;
      const message = describeConnackError(err.code, this.opts.device);
      this.log.error({ url: this.opts.url, connack: err.code, retryMs: this.opts.authRetryMs ?? 60_000 }, `${message}; retrying slowly`);
      this.emit('refused', err.code, message);
      return;
    }
    this.rateLog.warn(`net-${String(err.code ?? err.message)}`, { url: this.opts.url, err: err.message }, `hub unreachable: ${err.message}`);
  }

  private onClose(): void {
    const wasUp = this.up;
    this.up = false;
    if (wasUp) {
      this.log.warn({ url: this.opts.url }, 'lost the connection to the hub');
      this.emit('disconnected');
    }
    if (this.stopped || this.retryTimer) return;
    const delay =
      this.refusedCode !== null
        ? Math.round((this.opts.authRetryMs ?? 60_000) * (1 - this.backoff.jitter * (this.opts.random ?? Math.random)()))
        : backoffDelay(this.attempt++, this.backoff, this.opts.random);
    this.log.debug({ delayMs: delay, attempt: this.attempt }, 'reconnecting');
    this.retryTimer = this.clock.setTimer(delay, () => {
      this.retryTimer = null;
      if (this.stopped || !this.client) return;
      // Keep MQTT.js's stores: unacknowledged QoS 1 publishes are resent in order on reconnect.
      this.client.reconnect({ incomingStore: this.client.incomingStore, outgoingStore: this.client.outgoingStore });
    });
  }
}
