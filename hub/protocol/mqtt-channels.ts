/**
 * The MQTT contract's channel table: for each topic channel of topics.ts, its address, who
 * publishes it (devices and households, or the hub), QoS, retained, payload schema and who may
 * publish and subscribe (hub/core/acl.ts). Pure and browser-safe. asyncapi.ts turns it into
 * docs/asyncapi.yaml; test/unit/core/asyncapi.unit.test.ts checks it against topics.ts, acl.ts
 * and what the hub publishes.
 */
import type { MqttSchemaName } from './mqtt-schemas.ts';
import { DEVICE_CHANNELS, type DeviceChannel, HOUSEHOLD_CHANNELS, type HouseholdChannel, STATION_CHANNELS, type StationChannel, topics } from './topics.ts';

/**
 * Who may publish or subscribe, besides the hub itself (which publishes everything `from-hub`):
 * - `device`: a device of household H. On a device's own channels it publishes only as itself (D).
 * - `household`: a household user of H (a phone, the household's dashboard).
 * - `team-leader`: a team leader of H's team.
 * - `station`: a fire-station user.
 */
export const PARTIES = ['device', 'household', 'team-leader', 'station'] as const;
export type Party = (typeof PARTIES)[number];

/** `to-hub`: clients publish, the hub handles it (then forwards it to subscribers); `from-hub`: only the hub publishes. */
export type Direction = 'to-hub' | 'from-hub';

export interface ChannelSpec {
  /** AsyncAPI channel id, e.g. `deviceEvent`. */
  id: string;
  scope: 'device' | 'household' | 'station';
  channel: DeviceChannel | HouseholdChannel | StationChannel;
  /** With `{household}` and `{device}` parameters. */
  address: string;
  parameters: readonly ('household' | 'device')[];
  direction: Direction;
  /** The QoS the publisher uses (the hub accepts 0 and 1 on every `to-hub` channel). */
  qos: 0 | 1;
  retained: boolean;
  schema: MqttSchemaName;
  contentType: 'application/json' | 'text/plain';
  publishers: readonly Party[];
  subscribers: readonly Party[];
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

const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);

/** Every channel of the contract, in topics.ts order: device, household, station. */
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
];
