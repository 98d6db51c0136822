/**
 * The household trees' rows of the MQTT channel table: a Zigbee2MQTT gateway's tree
 * (`smokehub/h/H/z2m/…`, its `base_topic`) and a household's Home Assistant discovery prefix
 * (`smokehub/h/H/homeassistant/…`). mqtt-channels.ts puts them in MQTT_CHANNELS. Pure.
 */
import type { HomeassistantChannel, Party, Spec, Z2mChannel } from './mqtt-channel-types.ts';

const JSON_TYPE = 'application/json';
/** Everything under `smokehub/h/H/` may be read by H's devices and users, H's team leaders and the station. */
export const HOUSEHOLD_READERS: readonly Party[] = ['device', 'household', 'team-leader', 'station'];

const Z2M_READERS: readonly Party[] = ['device', 'gateway', 'household', 'team-leader', 'station'];
const GATEWAY: readonly Party[] = ['gateway'];
const FRIENDLY_NAME =
  '`{friendlyName}` is the Zigbee device’s `friendly_name`, which may contain `/` (then it spans several topic levels), spaces and any Unicode: the hub matches it against the names of `bridge/devices`, never by splitting on `/`.';

export const Z2M: { [C in Z2mChannel]: Spec & { path: readonly string[] } } = {
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
export const HA_PARAMS: Record<HomeassistantChannel, readonly string[]> = {
  config: ['{component}', '{objectId}', 'config'],
  availability: ['availability'],
  state: ['state'],
  battery: ['battery', '{device}'],
  status: ['status'],
  respond: ['respond'],
};
export const HA: { [C in HomeassistantChannel]: Spec } = {
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
