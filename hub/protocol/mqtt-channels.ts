/**
 * The MQTT contract's channel table: for each topic channel of topics.ts, and each channel of the
 * household trees (a Zigbee2MQTT gateway's `smokehub/h/H/z2m/…`, Home Assistant's
 * `smokehub/h/H/homeassistant/…`), its address, who publishes it (devices and households, or the
 * hub), QoS, retained, payload schema and who may publish and subscribe (hub/core/acl.ts). Pure and browser-safe. asyncapi.ts turns it into
 * docs/asyncapi.yaml; test/unit/core/asyncapi.unit.test.ts checks it against topics.ts, acl.ts
 * and what the hub publishes.
 */
import type { MqttSchemaName } from './mqtt-schemas.ts';
import {
  DEVICE_CHANNELS,
  type DeviceChannel,
  HOUSEHOLD_CHANNELS,
  type HouseholdChannel,
  type HouseholdTree,
  parseTopic,
  STATION_CHANNELS,
  type StationChannel,
  topics,
} from './topics.ts';

/**
 * Who may publish or subscribe, besides the hub itself (which publishes everything `from-hub`):
 * - `device`: a device of household H other than a Zigbee2MQTT gateway. On a device's own channels
 *   it publishes only as itself (D).
 * - `gateway`: a Zigbee2MQTT gateway of H (a device of kind `zigbee2mqtt`): it publishes and
 *   subscribes only under `smokehub/h/H/z2m/`.
 * - `household`: a household user of H (a phone, the household's dashboard, its Home Assistant).
 * - `team-leader`: a team leader of H's team.
 * - `station`: a fire-station user.
 */
export const PARTIES = ['device', 'gateway', 'household', 'team-leader', 'station'] as const;
export type Party = (typeof PARTIES)[number];

/** `to-hub`: clients publish, the hub handles it (then forwards it to subscribers); `from-hub`: only the hub publishes. */
export type Direction = 'to-hub' | 'from-hub';

/** The channels of a Zigbee2MQTT gateway's tree (`smokehub/h/H/z2m/…`, its `base_topic`). */
export const Z2M_CHANNELS = ['bridge/state', 'bridge/devices', 'state', 'availability', 'set'] as const;
export type Z2mChannel = (typeof Z2M_CHANNELS)[number];
/** The channels of a household's Home Assistant discovery prefix (`smokehub/h/H/homeassistant/…`). */
export const HOMEASSISTANT_CHANNELS = ['config', 'availability', 'state', 'battery', 'status', 'respond'] as const;
export type HomeassistantChannel = (typeof HOMEASSISTANT_CHANNELS)[number];
export type TreeChannel = Z2mChannel | HomeassistantChannel;
export const TREE_CHANNELS: { readonly [T in HouseholdTree]: readonly TreeChannel[] } = { z2m: Z2M_CHANNELS, homeassistant: HOMEASSISTANT_CHANNELS };

/**
 * The channel of a concrete path below `smokehub/h/H/<tree>/` (parseTopic's `path`), or null when
 * it is none of the table's (Z2M's other bridge topics, `…/get`, …). Z2M friendly names may hold
 * `/`: a device's topics are told apart by their last level (`availability`, `set`), as the hub
 * itself does (it then looks the name up in the gateway's `bridge/devices`).
 */
export function treeChannelOf(tree: HouseholdTree, path: readonly string[]): TreeChannel | null {
  const last = path[path.length - 1];
  if (path.length === 0 || last === undefined) return null;
  if (tree === 'z2m') {
    if (path[0] === 'bridge') return path.length === 2 && (path[1] === 'state' || path[1] === 'devices') ? `bridge/${path[1]}` : null;
    if (path.length >= 2 && last === 'availability') return 'availability';
    if (path.length >= 2 && last === 'set') return 'set';
    // `<name>/get`, `<name>/set/<attribute>`: commands the hub does not send.
    if (path.slice(1).some((level) => level === 'set' || level === 'get')) return null;
    return 'state';
  }
  if (path.length === 1) return last === 'availability' || last === 'state' || last === 'status' || last === 'respond' ? last : null;
  if (path.length === 2 && path[0] === 'battery') return 'battery';
  if (path.length === 3 && last === 'config') return 'config';
  return null;
}

/** Address parameters: `{household}`, `{device}`, and the trees' own. */
export type ChannelParameter = 'household' | 'device' | 'friendlyName' | 'component' | 'objectId';

export interface ChannelSpec {
  /** AsyncAPI channel id, e.g. `deviceEvent`. */
  id: string;
  scope: 'device' | 'household' | 'station' | HouseholdTree;
  channel: DeviceChannel | HouseholdChannel | StationChannel | TreeChannel;
  /** With `{household}`, `{device}` and the trees' parameters. */
  address: string;
  parameters: readonly ChannelParameter[];
  direction: Direction;
  /** The QoS the publisher uses (the hub accepts 0 and 1 on every `to-hub` channel). */
  qos: 0 | 1;
  retained: boolean;
  schema: MqttSchemaName;
  contentType: 'application/json' | 'text/plain';
  publishers: readonly Party[];
  subscribers: readonly Party[];
  /**
   * Parties the ACL lets publish here although the channel is not theirs: the hub acknowledges
   * what they publish and drops it (never forwarded). A gateway may publish in its whole tree.
   */
  ignoredPublishers?: readonly Party[];
  title: string;
  description: string;
}

type Spec = Omit<ChannelSpec, 'id' | 'scope' | 'channel' | 'address' | 'parameters'>;

/** Everything under `smokehub/h/H/` may be read by H's devices and users, H's team leaders and the station. */
const HOUSEHOLD_READERS: readonly Party[] = ['device', 'household', 'team-leader', 'station'];
const JSON_TYPE = 'application/json';

const DEVICE: { [C in DeviceChannel]: Spec } = {
  event: {
    direction: 'to-hub',
    qos: 1,
    retained: false,
    schema: 'DeviceEvent',
    contentType: JSON_TYPE,
    publishers: ['device'],
    subscribers: HOUSEHOLD_READERS,
    title: 'Device event',
    description:
      "A device's alarm-relevant event (smoke, heat, co, panic, clear, test, hush, fault, tamper). Acknowledged (PUBACK) once its journal entry is committed and fsynced; a redelivered id is acknowledged and ignored. Forwarded to subscribers when fresh.",
  },
  telemetry: {
    direction: 'to-hub',
    qos: 1,
    retained: false,
    schema: 'TelemetryReading',
    contentType: JSON_TYPE,
    publishers: ['device'],
    subscribers: HOUSEHOLD_READERS,
    title: 'Device telemetry',
    description:
      'Sensor readings. QoS 1 (the bridge) or 0 (a reading may then be lost). Handled after events and responses; while telemetry storage is behind, readings are held unacknowledged.',
  },
  status: {
    direction: 'to-hub',
    qos: 1,
    retained: true,
    schema: 'DeviceStatus',
    contentType: 'text/plain',
    publishers: ['device'],
    subscribers: HOUSEHOLD_READERS,
    title: 'Device status',
    description: "`online` when the device connects; its last will (retained) is `offline`. Supervision uses it to tell a device's own word from a silence.",
  },
  error: {
    direction: 'from-hub',
    qos: 0,
    retained: false,
    schema: 'ErrorReport',
    contentType: JSON_TYPE,
    publishers: [],
    subscribers: HOUSEHOLD_READERS,
    title: 'Device error',
    description:
      "Why the device's last message was refused (or a warning about a field the hub dropped). A refused publish is still acknowledged, never answered by disconnecting.",
  },
  cmd: {
    direction: 'from-hub',
    qos: 1,
    retained: false,
    schema: 'DeviceCommand',
    contentType: JSON_TYPE,
    publishers: [],
    subscribers: HOUSEHOLD_READERS,
    title: 'Device command',
    description: "A command to a device: `silence` (the origin household's sounders, on a hush or false alarm), `test` (a self-test round), `sound`.",
  },
};

const HOUSEHOLD: { [C in HouseholdChannel]: Spec } = {
  alert: {
    direction: 'from-hub',
    qos: 1,
    retained: false,
    schema: 'AlarmView',
    contentType: JSON_TYPE,
    publishers: [],
    subscribers: HOUSEHOLD_READERS,
    title: 'Household alert',
    description:
      'The alarm view, for every change of an alarm that concerns H (its own, its team’s once alerted, a nearby one marked `nearby`). Subscribing to it also sends every open alarm that concerns H.',
  },
  alarms: {
    direction: 'from-hub',
    qos: 1,
    retained: true,
    schema: 'OpenAlarmsState',
    contentType: JSON_TYPE,
    publishers: [],
    subscribers: HOUSEHOLD_READERS,
    title: 'Household open alarms',
    description: 'Retained: every open alarm that concerns H (`"open":[]` when none), updated on every change and rebuilt from the journal at start.',
  },
  response: {
    direction: 'to-hub',
    qos: 1,
    retained: false,
    schema: 'HouseholdResponse',
    contentType: JSON_TYPE,
    publishers: ['device', 'household', 'station'],
    subscribers: HOUSEHOLD_READERS,
    title: 'Household response',
    description:
      "A household's answer to an alarm: from its device (a bridge's hush button), its user, or the station on its behalf. Acknowledged once journalled; a refused one (bad_field, not_found, conflict) is explained on the sending device's error topic (a person's is logged and counted).",
  },
  notice: {
    direction: 'from-hub',
    qos: 1,
    retained: false,
    schema: 'Notice',
    contentType: JSON_TYPE,
    publishers: [],
    subscribers: HOUSEHOLD_READERS,
    title: 'Household notice',
    description: 'Supervision, self-test and reminder notices about H and its devices (docs/supervision.md). Never alarm severity.',
  },
};

const STATION_ONLY: readonly Party[] = ['station'];
const STATION: { [C in StationChannel]: Spec } = {
  alarm: {
    direction: 'from-hub',
    qos: 1,
    retained: false,
    schema: 'AlarmView',
    contentType: JSON_TYPE,
    publishers: [],
    subscribers: STATION_ONLY,
    title: 'Station alarm',
    description: 'The alarm view, for every alarm state change of every team. Subscribing to it also sends every open alarm.',
  },
  alarms: {
    direction: 'from-hub',
    qos: 1,
    retained: true,
    schema: 'OpenAlarmsState',
    contentType: JSON_TYPE,
    publishers: [],
    subscribers: STATION_ONLY,
    title: 'Station open alarms',
    description: 'Retained: every open alarm of every team, updated on every change and rebuilt from the journal at start.',
  },
  notice: {
    direction: 'from-hub',
    qos: 1,
    retained: false,
    schema: 'Notice',
    contentType: JSON_TYPE,
    publishers: [],
    subscribers: STATION_ONLY,
    title: 'Station notice',
    description: "Notices for the station: supervision, self-test failures, the hub's own trouble (journal, GSM modem).",
  },
};

/** The gateway's tree is read by everyone who reads H, and by H's gateways themselves (Z2M subscribes to its whole base topic). */
const Z2M_READERS: readonly Party[] = ['device', 'gateway', 'household', 'team-leader', 'station'];
const GATEWAY: readonly Party[] = ['gateway'];
const FRIENDLY_NAME =
  '`{friendlyName}` is the Zigbee device’s `friendly_name`, which may contain `/` (then it spans several topic levels), spaces and any Unicode: the hub matches it against the names of `bridge/devices`, never by splitting on `/`.';

const Z2M: { [C in Z2mChannel]: Spec & { path: readonly string[] } } = {
  'bridge/state': {
    path: ['bridge', 'state'],
    direction: 'to-hub',
    qos: 1,
    retained: true,
    schema: 'Z2mOnlineState',
    contentType: JSON_TYPE,
    publishers: GATEWAY,
    subscribers: Z2M_READERS,
    title: 'Zigbee2MQTT bridge state',
    description:
      "Z2M's online state, retained; its last will is `offline` (QoS 1). Z2M 2.x publishes `online` with QoS 1, 1.x with QoS 0. `offline` (or the gateway disconnecting) makes every Zigbee device of the gateway disconnected; `online` restores each device's last availability and re-sends the sirens' command. Z2M's other bridge topics (`bridge/info`, `bridge/definitions`, `bridge/logging`, `bridge/event`, `bridge/response/…`) are acknowledged and dropped: not part of the contract.",
  },
  'bridge/devices': {
    path: ['bridge', 'devices'],
    direction: 'to-hub',
    qos: 0,
    retained: true,
    schema: 'Z2mDeviceList',
    contentType: JSON_TYPE,
    publishers: GATEWAY,
    subscribers: Z2M_READERS,
    title: 'Zigbee2MQTT device list',
    description:
      "Every device of the gateway's Zigbee network (Z2M 1.x and 2.x), retained, QoS 0. The hub enrols, updates and removes H's Zigbee detectors and sirens from it (docs/zigbee2mqtt.md). About 4 kB a device: a gateway's payloads may be up to 1 MiB, its packets up to 2 MiB.",
  },
  state: {
    path: ['{friendlyName}'],
    direction: 'to-hub',
    qos: 0,
    retained: false,
    schema: 'Z2mDeviceState',
    contentType: JSON_TYPE,
    publishers: GATEWAY,
    subscribers: Z2M_READERS,
    title: 'Zigbee device state',
    description: `A Zigbee device's whole state, on every change: its transitions become events (smoke, heat, co, gas, clear, tamper, test, fault) and telemetry, as a device's own \`event\` and \`telemetry\` would. QoS 0, not retained, unless the device's Z2M options say otherwise (QoS 1: the PUBACK waits until an alarm is journalled). At most 16 KiB. ${FRIENDLY_NAME}`,
  },
  availability: {
    path: ['{friendlyName}', 'availability'],
    direction: 'to-hub',
    qos: 1,
    retained: true,
    schema: 'Z2mOnlineState',
    contentType: JSON_TYPE,
    publishers: GATEWAY,
    subscribers: Z2M_READERS,
    title: 'Zigbee device availability',
    description: `A Zigbee device's presence, retained, QoS 1, only when Z2M's availability is enabled (off by default): the device is connected while it is \`online\` and its gateway is connected with Z2M online. Kept across hub restarts. ${FRIENDLY_NAME}`,
  },
  set: {
    path: ['{friendlyName}', 'set'],
    direction: 'from-hub',
    qos: 1,
    retained: false,
    schema: 'Z2mSirenCommand',
    contentType: JSON_TYPE,
    publishers: [],
    subscribers: Z2M_READERS,
    ignoredPublishers: GATEWAY,
    title: 'Zigbee siren command',
    description: `The hub starts or stops a Zigbee siren of H: on every change of what H's sirens must do (the bridge sounder's rules), when the gateway comes back, when a siren is enrolled during an alarm, and every 5 minutes while it rings. ${FRIENDLY_NAME}`,
  },
};

const HA_ONLY_HUB =
  'Published by the hub only for households whose Home Assistant announced itself (its birth on `status`), remembered across restarts; emptied (an empty retained payload) when the household loses its last household user.';
const HA_PARAMS: Record<HomeassistantChannel, readonly string[]> = {
  config: ['{component}', '{objectId}', 'config'],
  availability: ['availability'],
  state: ['state'],
  battery: ['battery', '{device}'],
  status: ['status'],
  respond: ['respond'],
};
const HA: { [C in HomeassistantChannel]: Spec } = {
  config: {
    direction: 'from-hub',
    qos: 1,
    retained: true,
    schema: 'HaDiscoveryConfig',
    contentType: JSON_TYPE,
    publishers: [],
    subscribers: HOUSEHOLD_READERS,
    title: 'Home Assistant discovery config',
    description: `One entity of H for Home Assistant's MQTT discovery (its prefix set to \`smokehub/h/H/homeassistant\`): the fire alarm, the alarm state, the three answer buttons, a battery sensor per device with a battery level. \`{component}\` is binary_sensor, sensor or button; \`{objectId}\` \`smokehub_H_…\` (an id with a \`.\` gets \`_\` and a hash of itself). ${HA_ONLY_HUB}`,
  },
  availability: {
    direction: 'from-hub',
    qos: 1,
    retained: true,
    schema: 'HaAvailability',
    contentType: 'text/plain',
    publishers: [],
    subscribers: HOUSEHOLD_READERS,
    title: 'Home Assistant availability',
    description: `Every entity's availability. ${HA_ONLY_HUB}`,
  },
  state: {
    direction: 'from-hub',
    qos: 1,
    retained: true,
    schema: 'HaState',
    contentType: JSON_TYPE,
    publishers: [],
    subscribers: HOUSEHOLD_READERS,
    title: 'Home Assistant alarm state',
    description: `The fire alarm's and the alarm state's source (and their attributes), on every change that concerns H. ${HA_ONLY_HUB}`,
  },
  battery: {
    direction: 'from-hub',
    qos: 1,
    retained: true,
    schema: 'HaBatteryState',
    contentType: JSON_TYPE,
    publishers: [],
    subscribers: HOUSEHOLD_READERS,
    title: 'Home Assistant battery level',
    description: `Device D's battery level (Zigbee devices too: \`{device}\` is then \`<gateway>.<ieee>\`), when its rounded level changes. ${HA_ONLY_HUB}`,
  },
  status: {
    direction: 'to-hub',
    qos: 1,
    retained: false,
    schema: 'HaStatus',
    contentType: 'text/plain',
    publishers: ['household'],
    subscribers: HOUSEHOLD_READERS,
    title: 'Home Assistant status',
    description:
      "HA's birth and will, published by H's household user that HA connects as (HA's own default `homeassistant/status` is outside what it may publish). The birth makes the hub serve H and publish its entities again. Handled by the hub, not forwarded to subscribers.",
  },
  respond: {
    direction: 'to-hub',
    qos: 1,
    retained: false,
    schema: 'HaRespond',
    contentType: 'text/plain',
    publishers: ['household'],
    subscribers: HOUSEHOLD_READERS,
    title: 'Home Assistant answer',
    description:
      "An answer button pressed in HA (H's household user): H's response to the alarm of the state's `respond_to`, acknowledged once journalled. Handled by the hub, not forwarded to subscribers.",
  },
};

const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);

const camel = (s: string) => s.split('/').map(cap).join('');
const paramsOf = (address: string) => [...address.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1] as ChannelParameter);

/** Every channel of the contract, in topics.ts order: device, household, station, then the trees (z2m, homeassistant). */
export const MQTT_CHANNELS: readonly ChannelSpec[] = [
  ...DEVICE_CHANNELS.map(
    (channel): ChannelSpec => ({
      id: `device${cap(channel)}`,
      scope: 'device',
      channel,
      address: topics.device('{household}', '{device}', channel),
      parameters: ['household', 'device'],
      ...DEVICE[channel],
    }),
  ),
  ...HOUSEHOLD_CHANNELS.map(
    (channel): ChannelSpec => ({
      id: `household${cap(channel)}`,
      scope: 'household',
      channel,
      address: topics.household('{household}', channel),
      parameters: ['household'],
      ...HOUSEHOLD[channel],
    }),
  ),
  ...STATION_CHANNELS.map(
    (channel): ChannelSpec => ({
      id: `station${cap(channel)}`,
      scope: 'station',
      channel,
      address: topics.station(channel),
      parameters: [],
      ...STATION[channel],
    }),
  ),
  ...Z2M_CHANNELS.map((channel): ChannelSpec => {
    const { path, ...spec } = Z2M[channel];
    const address = topics.z2m('{household}', ...path);
    return {
      id: `z2m${channel === 'state' || channel === 'availability' || channel === 'set' ? 'Device' : ''}${camel(channel)}`,
      scope: 'z2m',
      channel,
      address,
      parameters: paramsOf(address),
      ...spec,
    };
  }),
  ...HOMEASSISTANT_CHANNELS.map((channel): ChannelSpec => {
    const address = topics.homeassistant('{household}', ...HA_PARAMS[channel]);
    return { id: `homeassistant${cap(channel)}`, scope: 'homeassistant', channel, address, parameters: paramsOf(address), ...HA[channel] };
  }),
];

/** The table's channel of a concrete topic, or null when the topic is none of the contract's. */
export function channelOfTopic(topic: string): ChannelSpec | null {
  const t = parseTopic(topic);
  if (!t) return null;
  const channel = 'channel' in t ? t.channel : treeChannelOf(t.scope, t.path);
  return MQTT_CHANNELS.find((c) => c.scope === t.scope && c.channel === channel) ?? null;
}
