/**
 * Builds the AsyncAPI 3.0 document of the MQTT contract (docs/asyncapi.yaml, written by
 * `npm run docs:asyncapi`) from the channel table (mqtt-channels.ts) and the payload schemas
 * (mqtt-schemas.ts). Pure and browser-safe: a plain JSON-compatible object, the same every run.
 *
 * Operations are the hub's: `receive` on the channels clients publish (events, telemetry, status,
 * responses), `send` on the channels only the hub publishes.
 */
import { type ChannelParameter, type ChannelSpec, MQTT_CHANNELS, type Party } from './mqtt-channels.ts';
import { HA_COMPONENTS, MQTT_CONTRACT_VERSION, MQTT_SCHEMAS, type MqttSchemaName } from './mqtt-schemas.ts';
import { MAX_PAYLOAD_BYTES } from './schema.ts';
import { ID_PATTERN } from './topics.ts';

export const ASYNCAPI_VERSION = '3.0.0';
const MQTT_BINDING_VERSION = '0.2.0';

/** Default ports (hub/config: mqttPort, mqttsPort, httpPort, httpsPort); the test checks them against the config's defaults. */
export const DEFAULT_PORTS = { mqtt: 1883, mqtts: 8883, http: 8080, https: 8443 } as const;

/**
 * Size limits under the household trees (hub/broker: MAX_TREE_PAYLOAD_BYTES, MAX_GATEWAY_PACKET_BYTES;
 * hub/zigbee: MAX_STATE_BYTES); the test checks them against those constants.
 */
export const TREE_LIMITS = { payloadBytes: 1024 * 1024, gatewayPacketBytes: 2 * 1024 * 1024, zigbeeStateBytes: 16 * 1024 } as const;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type AsyncApiDocument = { [key: string]: Json };

const PARTY_NAMES: Record<Party, string> = {
  device: "H's devices (not its Zigbee2MQTT gateways)",
  gateway: "H's Zigbee2MQTT gateways (devices of kind `zigbee2mqtt`)",
  household: "H's household users",
  'team-leader': "the team leaders of H's team",
  station: 'station users',
};

const ref = (path: string): Json => ({ $ref: path });
const schemaRef = (name: MqttSchemaName): Json => ref(`#/components/schemas/${name}`);
const upper = (s: string) => s[0]!.toUpperCase() + s.slice(1);

/** A TypeBox schema as plain JSON; sub-schemas equal to another named schema become `$ref`s. */
function toJsonSchema(node: unknown, named: Map<string, MqttSchemaName>, self: string): Json {
  if (Array.isArray(node)) return node.map((n) => toJsonSchema(n, named, self));
  if (node !== null && typeof node === 'object') {
    const key = JSON.stringify(node);
    const name = named.get(key);
    if (name !== undefined && key !== self) return schemaRef(name);
    const out: { [key: string]: Json } = {};
    for (const [k, v] of Object.entries(node)) if (v !== undefined) out[k] = toJsonSchema(v, named, self);
    return out;
  }
  return node as Json;
}

export function componentSchemas(): { [key: string]: Json } {
  const named = new Map<string, MqttSchemaName>();
  for (const [name, schema] of Object.entries(MQTT_SCHEMAS)) named.set(JSON.stringify(schema), name as MqttSchemaName);
  const out: { [key: string]: Json } = {};
  for (const [name, schema] of Object.entries(MQTT_SCHEMAS)) out[name] = toJsonSchema(schema, named, JSON.stringify(schema));
  return out;
}

function who(parties: readonly Party[], ownDevice: boolean): string {
  if (parties.length === 0) return 'nobody but the hub';
  const names = parties.map((p) => (p === 'device' && ownDevice ? 'the device D itself' : PARTY_NAMES[p]));
  return names.join(', ');
}

function channelObject(c: ChannelSpec): Json {
  const ignored = c.ignoredPublishers ?? [];
  const dropped = ignored.length > 0 ? ` The ACL also lets ${who(ignored, false)} publish here: the hub acknowledges it and drops it (never forwarded).` : '';
  const access = `Publish: ${who(c.publishers, c.scope === 'device')}.${dropped} Subscribe: ${who(c.subscribers, false)}. QoS ${c.qos}${c.retained ? ', retained' : ''}.`;
  return {
    address: c.address,
    title: c.title,
    description: `${c.description}\n\n${access}`,
    ...(c.parameters.length > 0 ? { parameters: Object.fromEntries(c.parameters.map((p) => [p, ref(`#/components/parameters/${p}`)])) } : {}),
    messages: { [c.id]: ref(`#/components/messages/${c.id}`) },
    'x-smokehub-direction': c.direction,
    'x-smokehub-publishers': [...c.publishers],
    'x-smokehub-subscribers': [...c.subscribers],
    ...(ignored.length > 0 ? { 'x-smokehub-ignored-publishers': [...ignored] } : {}),
  };
}

function operationObject(c: ChannelSpec): Json {
  return {
    action: c.direction === 'to-hub' ? 'receive' : 'send',
    channel: ref(`#/channels/${c.id}`),
    title: c.direction === 'to-hub' ? `The hub receives: ${c.title}` : `The hub sends: ${c.title}`,
    messages: [ref(`#/channels/${c.id}/messages/${c.id}`)],
    bindings: { mqtt: { qos: c.qos, retain: c.retained, bindingVersion: MQTT_BINDING_VERSION } },
  };
}

function messageObject(c: ChannelSpec): Json {
  return {
    name: c.id,
    title: c.title,
    contentType: c.contentType,
    payload: schemaRef(c.schema),
  };
}

function servers(): Json {
  const security = [ref('#/components/securitySchemes/userPassword')];
  const variables = { hub: { default: 'localhost', description: "The hub's address on the LAN (or its name in its certificate)." } };
  const server = (host: string, protocol: string, description: string, pathname?: string): Json => ({
    host,
    protocol,
    protocolVersion: protocol === 'mqtt' || protocol === 'secure-mqtt' ? '3.1.1' : null,
    ...(pathname ? { pathname } : {}),
    description,
    variables,
    security,
  });
  const out = {
    mqtt: server(`{hub}:${DEFAULT_PORTS.mqtt}`, 'mqtt', 'MQTT 3.1.1 over TCP (`--mqtt-port`; closed by `--plain off`).'),
    mqtts: server(`{hub}:${DEFAULT_PORTS.mqtts}`, 'secure-mqtt', 'MQTT 3.1.1 over TLS (`--mqtts-port`; the hub’s local CA in DATA/tls or `--tls-cert`).'),
    ws: server(`{hub}:${DEFAULT_PORTS.http}`, 'ws', 'MQTT 3.1.1 over WebSocket on the HTTP port (`--http-port`), path /mqtt.', '/mqtt'),
    wss: server(`{hub}:${DEFAULT_PORTS.https}`, 'wss', 'MQTT 3.1.1 over secure WebSocket on the HTTPS port (`--https-port`), path /mqtt.', '/mqtt'),
  };
  for (const s of Object.values(out) as { [key: string]: Json }[]) if (s.protocolVersion === null) delete s.protocolVersion;
  return out;
}

const DESCRIPTION = [
  "The MQTT contract between smokehub's hub (an Aedes MQTT 3.1.1 broker), its devices (smoke, heat and CO detectors, panic buttons, bridges) and people (households, team leaders, the fire station).",
  "Two household trees follow other programs' own topic layouts: `smokehub/h/H/z2m/…` is the base topic of H's Zigbee2MQTT gateway (docs/zigbee2mqtt.md), `smokehub/h/H/homeassistant/…` H's Home Assistant discovery prefix (docs/home-assistant.md).",
  'Generated from hub/protocol/ by `npm run docs:asyncapi`; docs/mqtt-api.md explains it (sessions, slow connections, alarm states, durability).',
  "Operations are the hub's: it **receives** what devices and households publish, and **sends** everything else; nobody but the hub publishes on a `send` channel.",
  `Payloads larger than ${MAX_PAYLOAD_BYTES} bytes are refused (under the household trees: ${TREE_LIMITS.payloadBytes / 1024 / 1024} MiB, a Zigbee device's state or availability ${TREE_LIMITS.zigbeeStateBytes / 1024} KiB; a Zigbee2MQTT gateway's packets may be up to ${TREE_LIMITS.gatewayPacketBytes / 1024 / 1024} MiB); a refused publish is acknowledged, logged and counted, and a device's (a gateway's too, which cannot read it) is explained on its \`error\` topic.`,
  'Devices connect with client id and user name = their device id and their secret as password; people with their user name and password (or a dashboard session token) and a client id that is not a device id.',
].join('\n\n');

/** The AsyncAPI 3.0 document of MQTT contract v1. */
export function buildAsyncApi(): AsyncApiDocument {
  const channels: { [key: string]: Json } = {};
  const operations: { [key: string]: Json } = {};
  const messages: { [key: string]: Json } = {};
  for (const c of MQTT_CHANNELS) {
    channels[c.id] = channelObject(c);
    operations[`${c.direction === 'to-hub' ? 'receive' : 'send'}${upper(c.id)}`] = operationObject(c);
    messages[c.id] = messageObject(c);
  }
  const idParam = (what: string): Json => ({ description: `${what} id: matches \`${ID_PATTERN.source}\`.` });
  const parameters: Record<ChannelParameter, Json> = {
    household: idParam('The household'),
    device: idParam('The device'),
    friendlyName: {
      description:
        'A Zigbee device’s `friendly_name` in Zigbee2MQTT: it may contain `/` (and then spans several topic levels), spaces and any Unicode, but not `+`, `#`, a leading or trailing `/`; the default is its IEEE address. Match it against the names of `bridge/devices`, never by splitting the topic on `/`.',
    },
    component: { description: 'A Home Assistant component.', enum: [...HA_COMPONENTS] },
    objectId: { description: 'A Home Assistant object id: `[A-Za-z0-9_-]+` (`smokehub_<household>_…`, `smokehub_<device>_battery`).' },
  };
  return {
    asyncapi: ASYNCAPI_VERSION,
    id: 'urn:smokehub:mqtt',
    info: {
      title: 'smokehub MQTT contract',
      version: MQTT_CONTRACT_VERSION,
      description: DESCRIPTION,
      license: { name: 'MIT' },
    },
    defaultContentType: 'application/json',
    servers: servers(),
    channels,
    operations,
    components: {
      schemas: componentSchemas(),
      messages,
      parameters,
      securitySchemes: {
        userPassword: {
          type: 'userPassword',
          description:
            'MQTT CONNECT user name and password: a device id and its secret, or a person’s user name and password (or dashboard session token). Wrong credentials get CONNACK 4, a refused client id 5, a throttled attempt 3 (docs/mqtt-api.md, "Connecting").',
        },
      },
    },
  };
}
