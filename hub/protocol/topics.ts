/**
 * MQTT topic contract v1 (see docs/mqtt-api.md). Pure, browser-safe.
 *
 *   smokehub/h/H/d/D/{event,telemetry,status,error,cmd}
 *   smokehub/h/H/{alert,alarms,response,notice}   (alarms: retained open-alarm state)
 *   smokehub/station/{alarm,alarms,notice}
 *   smokehub/h/H/z2m/…            (the household's Zigbee2MQTT gateway: its base_topic)
 *   smokehub/h/H/homeassistant/…  (Home Assistant discovery for the household)
 */
export const TOPIC_ROOT = 'smokehub';

/** Ids of teams, households, devices and users: safe inside a topic level and a URL path. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

export const DEVICE_CHANNELS = ['event', 'telemetry', 'status', 'error', 'cmd'] as const;
export type DeviceChannel = (typeof DEVICE_CHANNELS)[number];
export const HOUSEHOLD_CHANNELS = ['alert', 'alarms', 'response', 'notice'] as const;
export type HouseholdChannel = (typeof HOUSEHOLD_CHANNELS)[number];
export const STATION_CHANNELS = ['alarm', 'alarms', 'notice'] as const;
export type StationChannel = (typeof STATION_CHANNELS)[number];

/**
 * Household subtrees that belong to another program's own topic layout: a Zigbee2MQTT gateway's
 * `base_topic` (`z2m`) and Home Assistant's discovery prefix (`homeassistant`).
 */
export const HOUSEHOLD_TREES = ['z2m', 'homeassistant'] as const;
export type HouseholdTree = (typeof HOUSEHOLD_TREES)[number];

export type ParsedTopic =
  | { scope: 'device'; household: string; device: string; channel: DeviceChannel }
  | { scope: 'household'; household: string; channel: HouseholdChannel }
  | { scope: 'station'; channel: StationChannel }
  /** `path`: the levels below `smokehub/h/H/<tree>/` (at least one, none empty). */
  | { scope: HouseholdTree; household: string; path: string[] };

/** Parses a concrete (wildcard-free) topic; null when it is not part of the contract. */
export function parseTopic(topic: string): ParsedTopic | null {
  const p = topic.split('/');
  if (p[0] !== TOPIC_ROOT) return null;
  if (p[1] === 'station' && p.length === 3) {
    const channel = p[2] as StationChannel;
    return (STATION_CHANNELS as readonly string[]).includes(channel) ? { scope: 'station', channel } : null;
  }
  if (p[1] !== 'h' || !isValidId(p[2])) return null;
  const tree = p[3] as HouseholdTree;
  if (p.length >= 5 && (HOUSEHOLD_TREES as readonly string[]).includes(tree)) {
    const path = p.slice(4);
    return path.every((level) => level !== '' && !level.includes('+') && !level.includes('#')) ? { scope: tree, household: p[2]!, path } : null;
  }
  if (p.length === 4) {
    const channel = p[3] as HouseholdChannel;
    return (HOUSEHOLD_CHANNELS as readonly string[]).includes(channel) ? { scope: 'household', household: p[2]!, channel } : null;
  }
  if (p.length === 6 && p[3] === 'd' && isValidId(p[4])) {
    const channel = p[5] as DeviceChannel;
    return (DEVICE_CHANNELS as readonly string[]).includes(channel) ? { scope: 'device', household: p[2]!, device: p[4]!, channel } : null;
  }
  return null;
}

export const topics = {
  device: (household: string, device: string, channel: DeviceChannel) => `${TOPIC_ROOT}/h/${household}/d/${device}/${channel}`,
  household: (household: string, channel: HouseholdChannel) => `${TOPIC_ROOT}/h/${household}/${channel}`,
  station: (channel: StationChannel) => `${TOPIC_ROOT}/station/${channel}`,
  /** A topic under a household's Zigbee2MQTT base topic (`smokehub/h/H/z2m/<path>`). */
  z2m: (household: string, ...path: string[]) => [TOPIC_ROOT, 'h', household, 'z2m', ...path].join('/'),
  /** A topic under a household's Home Assistant discovery prefix. */
  homeassistant: (household: string, ...path: string[]) => [TOPIC_ROOT, 'h', household, 'homeassistant', ...path].join('/'),
  /** Everything under one household (devices included). */
  householdTree: (household: string) => `${TOPIC_ROOT}/h/${household}/#`,
  all: () => `${TOPIC_ROOT}/#`,
};

/** Device telemetry (`…/d/D/telemetry`): the bulk traffic the ingress scheduler lets wait. Cheap: per packet. */
export function isTelemetryTopic(topic: string): boolean {
  return topic.endsWith('/telemetry') && topic.startsWith(`${TOPIC_ROOT}/h/`);
}

/** Publishes whose handling may write the alarm journal: device events, household responses, Zigbee states, HA's responses. */
export function isJournalledTopic(topic: string): boolean {
  if (!topic.startsWith(`${TOPIC_ROOT}/h/`)) return false;
  if (topic.endsWith('/event') || topic.endsWith('/response')) return true;
  // A Zigbee device's state (smoke: true) and Home Assistant's response buttons journal an event.
  const tree = topic.split('/', 4)[3];
  return tree === 'z2m' || (tree === 'homeassistant' && topic.endsWith('/respond'));
}

/** Is a subscription filter inside the contract's root (`smokehub/#` or `smokehub/...`)? */
export function isUnderRoot(filter: string): boolean {
  return filter === `${TOPIC_ROOT}/#` || filter.startsWith(`${TOPIC_ROOT}/`);
}

/**
 * The household a subscription filter is confined to (`smokehub/h/H/…`), if any; `valid` is false
 * outside the contract's root.
 */
export function householdOfFilter(filter: string): { household: string | null; valid: boolean } {
  const p = filter.split('/');
  if (p[0] !== TOPIC_ROOT || p.length < 2) return { household: null, valid: false };
  if (p[1] === 'h' && p.length >= 3 && isValidId(p[2])) return { household: p[2]!, valid: true };
  return { household: null, valid: true };
}

/** Are the wildcards of a filter's levels from `fromLevel` on well placed (`#` only last and alone, `+` alone)? */
export function wildcardsWellPlaced(filter: string, fromLevel = 0): boolean {
  const rest = filter.split('/').slice(fromLevel);
  if (rest.some((level, i) => level.includes('#') && (level !== '#' || i !== rest.length - 1))) return false;
  return !rest.some((level) => level.includes('+') && level !== '+');
}

/** The household whose alert topic a filter names (`smokehub/h/H/alert`, `…/H/#`, `…/H/+`), or null. */
export function alertHouseholdOfFilter(filter: string): string | null {
  const p = filter.split('/');
  if (p[0] !== TOPIC_ROOT || p[1] !== 'h' || !p[2] || p[2] === '+' || p[2] === '#') return null;
  return filterMatches(filter, topics.household(p[2], 'alert')) ? p[2] : null;
}

/** Does an MQTT filter match a concrete topic? (`#` also matches the parent level; wildcards never match `$` topics.) */
export function filterMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
