/**
 * The shapes of the MQTT channel table (mqtt-channels.ts): the parties, directions, the household
 * trees' channels and how a concrete path maps to one. Pure and browser-safe.
 */
import type { MqttSchemaName } from './mqtt-schemas.ts';
import type { DeviceChannel, HouseholdChannel, HouseholdTree, StationChannel } from './topics.ts';

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

export type Spec = Omit<ChannelSpec, 'id' | 'scope' | 'channel' | 'address' | 'parameters'>;
