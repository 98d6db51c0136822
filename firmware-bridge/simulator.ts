/**
 * Thousands of virtual households in one process, for the demo, load tests and benchmarks.
 * Each credential (`household,device,secret`, as printed by `smokehub import`) becomes one MQTT
 * connection that behaves like a bridge: `online`/`offline` status, realistic telemetry (smoke
 * sensor noise, temperature with a daily cycle, a slowly draining battery, rssi), `test` events
 * answering the hub's self-test, smoke/panic on demand or at random, and neighbours answering
 * alerts with responses (most are coming, some can't, a few false alarms are hushed by the
 * origin household).
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { hubConnectTarget } from './hub-urls.ts';
import { topics } from '../hub/protocol/topics.ts';
import { isValidId } from '../hub/protocol/topics.ts';
import { parseAlarmView, parseCommand, type AlarmView, type EventType, type ResponseKind } from '../hub/protocol/schema.ts';
import { ValidationError, ERROR_CODES } from '../hub/protocol/errors.ts';
import type { Logger } from '../hub/observability/logger.ts';

export interface Credential {
  household: string;
  device: string;
  secret: string;
}

/** Splits one CSV line (RFC 4180 quotes) into fields. */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out.map((f) => f.trim());
}

/** Parses the credentials CSV printed by `smokehub import` (header `household,device,secret`). */
export function parseCredentialsCsv(text: string): Credential[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = csvFields(lines[0] ?? '').map((h) => h.toLowerCase());
  const col = (name: string) => header.indexOf(name);
  const [ih, id, is] = [col('household'), col('device'), col('secret')];
  if (ih < 0 || id < 0 || is < 0) throw new ValidationError(ERROR_CODES.BAD_CSV, 'credentials CSV must start with the header household,device,secret');
  const creds: Credential[] = [];
  const problems: string[] = [];
  lines.slice(1).forEach((line, i) => {
    if (line.trim() === '') return;
    const f = csvFields(line);
    const c = { household: f[ih] ?? '', device: f[id] ?? '', secret: f[is] ?? '' };
    if (!isValidId(c.household) || !isValidId(c.device) || c.secret.length === 0)
      problems.push(`line ${i + 2}: needs a household id, a device id and a secret`);
    else creds.push(c);
  });
  if (problems.length > 0)
    throw new ValidationError(
      ERROR_CODES.BAD_CSV,
      `credentials CSV: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`,
    );
  return creds;
}

export function loadCredentials(file: string): Credential[] {
  return parseCredentialsCsv(readFileSync(file, 'utf8'));
}

/** Pure telemetry model of one virtual detector. `random` injected for reproducible runs. */
export class VirtualSensor {
  private smokeBase: number;
  private battery: number;
  private rssiBase: number;
  private tempOffset: number;
  constructor(private readonly random: () => number) {
    this.smokeBase = 80 + random() * 70;
    this.battery = 60 + random() * 40;
    this.rssiBase = -55 - random() * 30;
    this.tempOffset = (random() - 0.5) * 3;
  }

  /** A reading at wall-clock `now` (ms); `smoky` adds a fire's smoke. */
  reading(now: number, smoky: boolean): { smoke: number; temperature: number; humidity: number; battery: number; rssi: number } {
    const r = this.random;
    // Vietnam (UTC+7): coolest near 05:00, warmest near 14:00.
    const hour = (((now / 3_600_000 + 7) % 24) + 24) % 24;
    const daily = Math.sin(((hour - 8) / 24) * 2 * Math.PI);
    const temperature = 27 + 4 * daily + this.tempOffset + (r() - 0.5) * 0.6 + (smoky ? 15 + r() * 20 : 0);
    const noise = (r() + r() + r() - 1.5) * 12;
    const smoke = Math.max(0, this.smokeBase + noise + (smoky ? 500 + r() * 400 : 0));
    this.battery = Math.max(0, this.battery - 0.0005 - r() * 0.001);
    const humidity = Math.min(100, Math.max(30, 80 - 10 * daily + (r() - 0.5) * 4));
    const rssi = Math.min(0, Math.max(-120, this.rssiBase + (r() - 0.5) * 8));
    const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
    return { smoke: Math.round(smoke), temperature: round(temperature), humidity: Math.round(humidity), battery: round(this.battery), rssi: Math.round(rssi) };
  }
}

export interface SimulatorOptions {
  hub: string;
  /** PEM of the CA to check the hub's TLS certificate against (mqtts:// and wss:// hub URLs). */
  ca?: string;
  credentials: Credential[];
  logger: Logger;
  /** Telemetry messages per second across all devices (default: each device every 60 s). */
  rate?: number;
  /** A random alarm every this many seconds (0: only on demand). */
  alarmEveryS?: number;
  /** New connections per second (a province reconnecting is ramped, default 500). */
  connectRate?: number;
  /** Probability that an origin household hushes its own pre-alarm (cooking smoke). */
  falseAlarmRate?: number;
  /** How long a neighbour takes to answer an alert, min and max ms (default 3–28 s). */
  responseDelayMs?: [number, number];
  random?: () => number;
}

interface Virtual {
  cred: Credential;
  client: MqttClient;
  sensor: VirtualSensor;
  smoky: boolean;
  seq: number;
  listensAlerts: boolean;
}

export interface SimulatorStats {
  devices: number;
  connected: number;
  telemetry: number;
  events: number;
  responses: number;
  alertsSeen: number;
  refused: number;
}

export class Simulator extends EventEmitter<{ alert: [household: string, view: AlarmView] }> {
  private readonly devices: Virtual[] = [];
  private readonly byHousehold = new Map<string, Virtual[]>();
  private readonly random: () => number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly answered = new Set<string>();
  private readonly handled = new Set<string>();
  /** Households whose next alarm is a real fire (never hushed). */
  private readonly realFire = new Set<string>();
  private readonly counters: SimulatorStats = { devices: 0, connected: 0, telemetry: 0, events: 0, responses: 0, alertsSeen: 0, refused: 0 };
  private stopped = false;
  private readonly runId = Date.now().toString(36);

  constructor(private readonly o: SimulatorOptions) {
    super();
    this.random = o.random ?? Math.random;
  }

  stats(): SimulatorStats {
    return { ...this.counters, devices: this.devices.length, connected: this.devices.filter((d) => d.client.connected).length };
  }

  households(): string[] {
    return [...this.byHousehold.keys()];
  }

  /** Connects every virtual device (ramped) and starts telemetry and random alarms. */
  async start(): Promise<void> {
    const perSecond = this.o.connectRate ?? 500;
    const creds = this.o.credentials;
    const interval = creds.length / (this.o.rate ?? Math.max(creds.length / 60, 0.001));
    for (let i = 0; i < creds.length; i++) {
      if (this.stopped) return;
      this.add(creds[i]!, interval * 1000);
      if ((i + 1) % perSecond === 0) await new Promise((r) => setTimeout(r, 1000));
    }
    const every = this.o.alarmEveryS ?? 0;
    if (every > 0) {
      const t = setInterval(() => {
        const hh = this.households();
        if (hh.length === 0) return;
        const h = hh[Math.floor(this.random() * hh.length)]!;
        this.raise(h, this.random() < 0.15 ? 'panic' : 'smoke');
      }, every * 1000);
      this.timers.add(t);
    }
  }

  /** Raises smoke (cleared ~90 s later) or panic at a household (a random one when omitted). */
  raise(household?: string, type: 'smoke' | 'panic' | 'clear' = 'smoke', opts: { real?: boolean } = {}): { household: string; device: string } | null {
    const hh = household ?? this.households()[Math.floor(this.random() * this.households().length)];
    if (hh && opts.real) this.realFire.add(hh);
    const devices = hh ? this.byHousehold.get(hh) : undefined;
    if (!devices || devices.length === 0) return null;
    const v = devices.find((d) => d.cred.device.includes(type === 'panic' ? 'panic' : 'smoke')) ?? devices[0]!;
    if (type === 'clear') {
      for (const d of devices) if (d.smoky) this.clear(d);
      return { household: v.cred.household, device: v.cred.device };
    }
    if (type === 'smoke') {
      v.smoky = true;
      this.later(80_000 + this.random() * 40_000, () => this.clear(v));
    }
    this.publishEvent(v, type, type === 'smoke' ? 600 + Math.round(this.random() * 300) : undefined);
    this.o.logger.info({ household: v.cred.household, device: v.cred.device, type }, 'simulated alarm raised');
    return { household: v.cred.household, device: v.cred.device };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) {
      clearTimeout(t);
      clearInterval(t);
    }
    this.timers.clear();
    await Promise.all(
      this.devices.map(async (d) => {
        if (d.client.connected) {
          await new Promise<void>((r) =>
            d.client.publish(topics.device(d.cred.household, d.cred.device, 'status'), 'offline', { qos: 0, retain: true }, () => r()),
          );
        }
        await d.client.endAsync(true).catch(() => undefined);
      }),
    );
  }

  private add(cred: Credential, telemetryEveryMs: number): void {
    const target = hubConnectTarget(this.o.hub);
    const client = mqtt.connect(target.url, {
      ...target.options,
      protocolVersion: 4,
      clientId: cred.device,
      username: cred.device,
      password: cred.secret,
      clean: true,
      keepalive: 60,
      reconnectPeriod: 2000 + Math.round(this.random() * 3000),
      // A cluster node that lost Redis answers CONNACK 3: try again (the next --hub URL), as after a drop.
      reconnectOnConnackError: true,
      connectTimeout: 15_000,
      queueQoSZero: false,
      will: { topic: topics.device(cred.household, cred.device, 'status'), payload: Buffer.from('offline'), qos: 1, retain: true },
      ...(this.o.ca === undefined ? {} : { ca: this.o.ca }),
    });
    const siblings = this.byHousehold.get(cred.household) ?? [];
    const v: Virtual = { cred, client, sensor: new VirtualSensor(this.random), smoky: false, seq: 0, listensAlerts: siblings.length === 0 };
    siblings.push(v);
    this.byHousehold.set(cred.household, siblings);
    this.devices.push(v);
    client.on('connect', () => {
      client.publish(topics.device(cred.household, cred.device, 'status'), 'online', { qos: 1, retain: true });
      const subs: Record<string, { qos: 1 }> = { [topics.device(cred.household, cred.device, 'cmd')]: { qos: 1 } };
      if (v.listensAlerts) subs[topics.household(cred.household, 'alert')] = { qos: 1 };
      client.subscribe(subs);
    });
    client.on('error', (err: Error & { code?: number }) => {
      if (err.code === 4 || err.code === 5) {
        this.counters.refused++;
        this.o.logger.error({ device: cred.device, connack: err.code }, `hub refused virtual device ${cred.device} (wrong secret or not enrolled)`);
        client.end(true);
      }
    });
    client.on('message', (topic, payload) => this.onMessage(v, topic, payload));
    // Random phase, so a thousand devices do not report in the same millisecond.
    this.later(this.random() * telemetryEveryMs, () => {
      this.sendTelemetry(v);
      const t = setInterval(() => this.sendTelemetry(v), telemetryEveryMs);
      this.timers.add(t);
    });
  }

  private onMessage(v: Virtual, topic: string, payload: Buffer): void {
    if (topic.endsWith('/cmd')) {
      const cmd = parseCommand(payload);
      if (cmd.ok && cmd.value.cmd === 'test')
        this.later(500 + this.random() * 2000, () => this.publishEvent(v, 'test', v.sensor.reading(Date.now(), v.smoky).smoke));
      return;
    }
    const parsed = parseAlarmView(payload);
    if (!parsed.ok) return;
    const view = parsed.value;
    this.counters.alertsSeen++;
    this.emit('alert', v.cred.household, view);
    const h = v.cred.household;
    if (view.origin.household === h) {
      // The origin household: sometimes it was the rice cooker — hush during pre-alarm, then clear.
      const key = `${view.alarm}|hush`;
      if (view.state === 'pre-alarm' && !this.handled.has(key)) {
        this.handled.add(key);
        const real = this.realFire.delete(h);
        if (!real && this.random() < (this.o.falseAlarmRate ?? 0.3)) {
          this.later(3000 + this.random() * 6000, () => {
            const origin = this.byHousehold.get(h)?.find((d) => d.cred.device === view.origin.device) ?? v;
            origin.smoky = false;
            this.publishEvent(origin, 'hush');
            // The smoke clears soon after: the hub then cancels the hushed alarm (confirmed false);
            // a detector still alarming when the hush period ends would re-raise it.
            this.later(5000 + this.random() * 10_000, () => this.publishEvent(origin, 'clear'));
          });
        }
      }
      return;
    }
    if ((view.state === 'active' || view.state === 'escalated') && !this.answered.has(`${view.alarm}|${h}`)) {
      this.answered.add(`${view.alarm}|${h}`);
      const x = this.random();
      const response: ResponseKind = x < 0.7 ? 'coming' : x < 0.95 ? 'unable' : 'need-help';
      const [lo, hi] = this.o.responseDelayMs ?? [3000, 28_000];
      this.later(lo + this.random() * (hi - lo), () => {
        if (!v.client.connected) return;
        v.client.publish(topics.household(h, 'response'), JSON.stringify({ alarm: view.alarm, response }), { qos: 1 });
        this.counters.responses++;
      });
    }
  }

  private clear(v: Virtual): void {
    if (!v.smoky) return;
    v.smoky = false;
    this.publishEvent(v, 'clear');
  }

  private publishEvent(v: Virtual, type: EventType, level?: number): void {
    if (this.stopped) return;
    const event = { id: `sim-${this.runId}-${v.cred.device}-${++v.seq}`.slice(0, 64), type, ts: Date.now(), ...(level === undefined ? {} : { level }) };
    v.client.publish(topics.device(v.cred.household, v.cred.device, 'event'), JSON.stringify(event), { qos: 1 });
    this.counters.events++;
  }

  private sendTelemetry(v: Virtual): void {
    if (this.stopped || !v.client.connected) return;
    const values = v.sensor.reading(Date.now(), v.smoky);
    v.client.publish(topics.device(v.cred.household, v.cred.device, 'telemetry'), JSON.stringify({ ts: Date.now(), ...values }), { qos: 0 });
    this.counters.telemetry++;
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
  }
}
