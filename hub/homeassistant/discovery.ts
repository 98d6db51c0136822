/**
 * Home Assistant MQTT discovery for one household (docs/home-assistant.md). Pure: the configs the
 * hub publishes, retained, under the household's discovery prefix `smokehub/h/H/homeassistant`
 * (`<prefix>/<component>/<object_id>/config`), and the topics they point at. HA connects as the
 * household's user: every state topic is under `smokehub/h/H/` (the user may read it) and every
 * command topic is one of HOMEASSISTANT_PUBLISH_PATHS (the user may publish it).
 *
 * Keys as HA's MQTT integration reads them (2024.x–2026.x): `unique_id`, `default_entity_id`
 * (HA 2025.10 replaced `object_id` by it; older HA ignores it and names the entity itself),
 * `device`, `origin`, `availability`, `state_topic`, `value_template`, `json_attributes_topic`,
 * `command_topic`, `payload_press`, `device_class`.
 */
import type { DeviceKind } from '../protocol/schema.ts';
import { topics } from '../protocol/topics.ts';

export const HA_LANGUAGES = ['en', 'vi'] as const;
export type HaLanguage = (typeof HA_LANGUAGES)[number];

/** The levels below `smokehub/h/H/homeassistant/` the hub publishes (HA reads them). */
export const HA_PATHS = { availability: 'availability', state: 'state', battery: 'battery' } as const;
/** What each button publishes on `…/homeassistant/respond`. */
export const BUTTON_RESPONSES = ['coming', 'unable', 'need-help'] as const;
export type ButtonResponse = (typeof BUTTON_RESPONSES)[number];

/** The sensor's states: the most urgent open alarm's state, or `none`. */
export const HA_ALARM_STATES = ['none', 'pre-alarm', 'active', 'escalated', 'hushed'] as const;

export const PAYLOAD_ONLINE = 'online';
export const PAYLOAD_OFFLINE = 'offline';

interface Texts {
  fireAlarm: string;
  alarmState: string;
  battery: string;
  buttons: Record<ButtonResponse, string>;
  model: string;
  deviceKinds: Record<DeviceKind, string>;
}

const TEXTS: Record<HaLanguage, Texts> = {
  en: {
    fireAlarm: 'Fire alarm in my team',
    alarmState: 'Alarm state',
    battery: 'Battery',
    buttons: { coming: "I'm coming", unable: 'Cannot come', 'need-help': 'Need help' },
    model: 'Neighbourhood fire alarm',
    deviceKinds: {
      smoke: 'Smoke detector',
      heat: 'Heat detector',
      co: 'CO detector',
      gas: 'Gas detector',
      panic: 'Panic button',
      siren: 'Siren',
      bridge: 'Bridge',
      zigbee2mqtt: 'Zigbee2MQTT gateway',
    },
  },
  vi: {
    fireAlarm: 'Báo cháy trong tổ',
    alarmState: 'Trạng thái báo cháy',
    battery: 'Pin',
    buttons: { coming: 'Tôi đang đến', unable: 'Không đến được', 'need-help': 'Cần giúp đỡ' },
    model: 'Báo cháy liên gia',
    deviceKinds: {
      smoke: 'Đầu báo khói',
      heat: 'Đầu báo nhiệt',
      co: 'Đầu báo CO',
      gas: 'Đầu báo gas',
      panic: 'Nút khẩn cấp',
      siren: 'Còi báo động',
      bridge: 'Bộ chuyển tiếp',
      zigbee2mqtt: 'Cổng Zigbee2MQTT',
    },
  },
};

const BUTTON_ICONS: Record<ButtonResponse, string> = { coming: 'mdi:run-fast', unable: 'mdi:close-circle-outline', 'need-help': 'mdi:lifebuoy' };
const BUTTON_SLUGS: Record<ButtonResponse, string> = { coming: 'coming', unable: 'unable', 'need-help': 'need_help' };

export interface DiscoveryOptions {
  lang: HaLanguage;
  /** The hub's version (the `origin` block). */
  version: string;
}

/** What discovery needs of a household. */
export interface HaHousehold {
  id: string;
  name: string;
}

/** What discovery needs of one of its devices that reports a battery. */
export interface HaDevice {
  id: string;
  kind: DeviceKind;
}

/** One retained discovery message: its topic and its JSON payload. */
export interface DiscoveryMessage {
  component: 'binary_sensor' | 'sensor' | 'button';
  objectId: string;
  topic: string;
  config: Record<string, unknown>;
}

/**
 * An id as a discovery topic level (HA: `[a-zA-Z0-9_-]`). Ids may also hold `.` (Zigbee devices
 * are `<gateway>.<ieee>`): such an id gets a hash of itself appended, so no two ids meet.
 */
export function objectIdPart(id: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(id)) return id;
  return `${id.replace(/[^A-Za-z0-9_-]/g, '_')}_${fnv1a(id)}`;
}

/** An HA object id (`[a-z0-9_]`, no `__`, no leading or trailing `_`), for `default_entity_id`. */
export function entitySlug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '') || 'smokehub'
  );
}

function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

export const haTopics = {
  availability: (household: string) => topics.homeassistant(household, HA_PATHS.availability),
  state: (household: string) => topics.homeassistant(household, HA_PATHS.state),
  battery: (household: string, device: string) => topics.homeassistant(household, HA_PATHS.battery, device),
  respond: (household: string) => topics.homeassistant(household, 'respond'),
  status: (household: string) => topics.homeassistant(household, 'status'),
  config: (household: string, component: string, objectId: string) => topics.homeassistant(household, component, objectId, 'config'),
};

/** The HA device every household entity belongs to. */
function householdDevice(h: HaHousehold, o: DiscoveryOptions): Record<string, unknown> {
  return {
    identifiers: [`smokehub_${h.id}`],
    name: `smokehub ${h.name || h.id}`,
    manufacturer: 'smokehub',
    model: TEXTS[o.lang].model,
    sw_version: o.version,
  };
}

function common(h: HaHousehold, o: DiscoveryOptions, objectId: string, domain: string): Record<string, unknown> {
  return {
    unique_id: objectId,
    default_entity_id: `${domain}.${entitySlug(objectId)}`,
    origin: { name: 'smokehub', sw_version: o.version },
    availability: [{ topic: haTopics.availability(h.id), payload_available: PAYLOAD_ONLINE, payload_not_available: PAYLOAD_OFFLINE }],
    qos: 1,
  };
}

function message(h: HaHousehold, component: DiscoveryMessage['component'], objectId: string, config: Record<string, unknown>): DiscoveryMessage {
  return { component, objectId, topic: haTopics.config(h.id, component, objectId), config };
}

/** The household's own entities: the fire alarm, the alarm's state, the three answer buttons. */
export function householdConfigs(h: HaHousehold, o: DiscoveryOptions): DiscoveryMessage[] {
  const t = TEXTS[o.lang];
  const base = `smokehub_${objectIdPart(h.id)}`;
  const device = householdDevice(h, o);
  const state = haTopics.state(h.id);
  const fire = `${base}_fire_alarm`;
  const alarm = `${base}_alarm_state`;
  const out: DiscoveryMessage[] = [
    message(h, 'binary_sensor', fire, {
      name: t.fireAlarm,
      ...common(h, o, fire, 'binary_sensor'),
      device,
      device_class: 'smoke',
      state_topic: state,
      value_template: '{{ value_json.alarm }}',
      payload_on: 'ON',
      payload_off: 'OFF',
      json_attributes_topic: state,
    }),
    message(h, 'sensor', alarm, {
      name: t.alarmState,
      ...common(h, o, alarm, 'sensor'),
      device,
      device_class: 'enum',
      options: [...HA_ALARM_STATES],
      icon: 'mdi:fire-alert',
      state_topic: state,
      value_template: '{{ value_json.state }}',
      json_attributes_topic: state,
    }),
  ];
  for (const r of BUTTON_RESPONSES) {
    const id = `${base}_${BUTTON_SLUGS[r]}`;
    out.push(
      message(h, 'button', id, {
        name: t.buttons[r],
        ...common(h, o, id, 'button'),
        device,
        icon: BUTTON_ICONS[r],
        command_topic: haTopics.respond(h.id),
        payload_press: r,
        retain: false,
      }),
    );
  }
  return out;
}

/** A battery sensor for one of the household's devices (an HA device of its own, under the household's). */
export function batteryConfig(h: HaHousehold, d: HaDevice, o: DiscoveryOptions): DiscoveryMessage {
  const t = TEXTS[o.lang];
  const id = batteryObjectId(d.id);
  const topic = haTopics.battery(h.id, d.id);
  return message(h, 'sensor', id, {
    name: t.battery,
    ...common(h, o, id, 'sensor'),
    device: {
      identifiers: [`smokehub_${d.id}`],
      name: `${t.deviceKinds[d.kind]} ${d.id}`,
      manufacturer: 'smokehub',
      model: d.kind,
      via_device: `smokehub_${h.id}`,
    },
    device_class: 'battery',
    state_class: 'measurement',
    unit_of_measurement: '%',
    entity_category: 'diagnostic',
    state_topic: topic,
    value_template: '{{ value_json.battery }}',
    json_attributes_topic: topic,
  });
}

export function batteryObjectId(device: string): string {
  return `smokehub_${objectIdPart(device)}_battery`;
}

/** A battery state (retained on `…/homeassistant/battery/<device>`). */
export function batteryState(percent: number, at: number): string {
  return JSON.stringify({ battery: Math.round(percent), at: new Date(at).toISOString() });
}
