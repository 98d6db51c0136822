/**
 * The MQTT contract's channel table: for each topic channel of topics.ts, and each channel of the
 * household trees (a Zigbee2MQTT gateway's `smokehub/h/H/z2m/…`, Home Assistant's
 * `smokehub/h/H/homeassistant/…`), its address, who publishes it (devices and households, or the
 * hub), QoS, retained, payload schema and who may publish and subscribe (hub/core/acl.ts). Pure and browser-safe. asyncapi.ts turns it into
 * docs/asyncapi.yaml; test/unit/core/asyncapi.unit.test.ts checks it against topics.ts, acl.ts
 * and what the hub publishes.
 */
import { type ChannelParameter, type ChannelSpec, HOMEASSISTANT_CHANNELS, type Party, type Spec, treeChannelOf, Z2M_CHANNELS } from './mqtt-channel-types.ts';
import { HA, HA_PARAMS, HOUSEHOLD_READERS, Z2M } from './mqtt-tree-channels.ts';
import {
  DEVICE_CHANNELS,
  type DeviceChannel,
  HOUSEHOLD_CHANNELS,
  type HouseholdChannel,
  parseTopic,
  STATION_CHANNELS,
  type StationChannel,
  topics,
} from './topics.ts';

export * from './mqtt-channel-types.ts';

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
