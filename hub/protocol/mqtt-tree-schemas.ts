/**
 * JSON Schemas (TypeBox) of the household trees' payloads: a Zigbee2MQTT gateway's base topic
 * (`smokehub/h/H/z2m/…`) and Home Assistant's discovery prefix (`smokehub/h/H/homeassistant/…`).
 * Part of the MQTT contract's documentation (docs/asyncapi.yaml, through mqtt-schemas.ts' MQTT_SCHEMAS);
 * test/unit/core/asyncapi.unit.test.ts checks them against the recorded Z2M shapes and what the
 * hub publishes. Pure and browser-safe.
 */
import { type TSchema, Type } from 'typebox';
import { ALARM_KINDS, ESCALATION_REASONS, RESPONSES } from './schema.ts';
import { ID_PATTERN } from './topics.ts';

const Id = (description: string) => Type.String({ pattern: ID_PATTERN.source, description });
const Nullable = <T extends TSchema>(t: T, description?: string) => Type.Union([t, Type.Null()], description === undefined ? {} : { description });
// ---- Household trees: a Zigbee2MQTT gateway's base topic, Home Assistant's discovery prefix ----
//
// Shapes of Zigbee2MQTT (Z2M) 1.x (1.42.0) and 2.x (2.0.0–2.12.1), as recorded in
// test/fixtures/z2m/ (README.md there); Home Assistant's as hub/homeassistant/ publishes them.

/** `online` / `offline`: Z2M's bridge and device availability, HA's birth and will, the hub's HA availability. */
export const ONLINE_STATES = ['online', 'offline'] as const;
/** Z2M's IEEE addresses: `0x` and 16 hex digits (hub/zigbee/z2m-devices.ts IEEE_PATTERN; the test checks it). */
export const Z2M_IEEE_PATTERN = '^0x[0-9a-fA-F]{16}$';
/** Zigbee-herdsman's device types. */
export const Z2M_DEVICE_TYPES = ['Coordinator', 'Router', 'EndDevice', 'Unknown', 'GreenPower'] as const;
/** IAS WD warning modes and levels (zigbee-herdsman-converters `e.warning()`, `toZigbee.warning`). */
export const Z2M_WARNING_MODES = ['stop', 'burglar', 'fire', 'emergency', 'police_panic', 'fire_panic', 'emergency_panic'] as const;
export const Z2M_WARNING_LEVELS = ['low', 'medium', 'high', 'very_high'] as const;
/** What the hub's Home Assistant alarm-state sensor shows: `none` or an open state (hub/homeassistant/discovery.ts HA_ALARM_STATES; the test checks both). */
export const HA_ALARM_STATES = ['none', 'pre-alarm', 'active', 'escalated', 'hushed'] as const;
/** What HA's answer buttons publish (hub/homeassistant/discovery.ts BUTTON_RESPONSES; the test checks it). */
export const HA_BUTTON_RESPONSES = ['coming', 'unable', 'need-help'] as const;
/** The HA components the hub's discovery configs use. */
export const HA_COMPONENTS = ['binary_sensor', 'sensor', 'button'] as const;

const ISO_UTC = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$';
const IsoTime = (description: string) => Type.String({ pattern: ISO_UTC, description: `${description} (ISO 8601, UTC, milliseconds).` });

/** `bridge/state` and `<friendly_name>/availability` (Z2M → hub, retained). */
export const Z2mOnlineStateSchema = Type.Union(
  [
    Type.Object(
      { state: Type.Enum(ONLINE_STATES) },
      { description: 'JSON: always in Z2M ≥ 2.0.0; in Z2M 1.x with `advanced.legacy_availability_payload: false`. Other keys are ignored.' },
    ),
    Type.Enum(ONLINE_STATES, {
      description:
        'Plain text (not JSON): Z2M 1.x by default (`advanced.legacy_availability_payload: true`, removed in 2.0.0). Surrounding white space is ignored.',
    }),
  ],
  {
    description:
      'Zigbee2MQTT online state: `{"state":"online"}` / `{"state":"offline"}`, or the legacy plain `online` / `offline`. Anything else is refused (bad_field) and changes nothing. A rename clears the old availability topic with an empty retained payload.',
  },
);

const ExposeValue = Type.Union([Type.Boolean(), Type.String(), Type.Number()]);
/** The fields of an expose the hub reads; `features` one level deeper each time (composites, specific groups). */
function exposeSchema(depth: number, options: { description?: string } = {}): TSchema {
  return Type.Object(
    {
      type: Type.String({ description: 'binary, numeric, enum, text, composite, list, or a specific group (switch, lock, light, cover, fan, climate).' }),
      name: Type.Optional(Type.String()),
      property: Type.Optional(Type.String({ description: 'The state key (absent on specific groups).' })),
      access: Type.Optional(Type.Integer({ minimum: 0, maximum: 7, description: 'Bits: 1 published in the state, 2 settable (`/set`), 4 readable (`/get`).' })),
      value_on: Type.Optional(ExposeValue),
      value_off: Type.Optional(ExposeValue),
      values: Type.Optional(Type.Array(Type.Union([Type.String(), Type.Number()]), { description: 'An enum’s values.' })),
      features: Type.Optional(Type.Array(depth > 0 ? exposeSchema(depth - 1) : Type.Object({}), { description: 'A composite’s or a group’s exposes.' })),
    },
    options,
  );
}

/** One exposed property of a Zigbee device (zigbee-herdsman-converters' Expose classes, serialised). */
export const Z2mExposeSchema = exposeSchema(2, {
  description:
    'One expose. The hub reads `type`, `property`, `access`, `value_on`/`value_off` (binary) and, in a `warning` composite, the `values` of `mode` and `level`; other keys (label, description, category, unit, value_min, value_max, endpoint…) are ignored.',
});

/** A `bridge/devices` entry's `definition`. */
export const Z2mDefinitionSchema = Type.Object(
  {
    model: Type.String(),
    vendor: Type.String({ description: 'Spelt differently across versions (Z2M 1.x `HEIMAN`, `Neo`; 2.x `Heiman`, `NEO`).' }),
    description: Type.String({ description: 'Tells the kind of a detector whose alarm is the generic IAS `alarm` (e.g. HEIMAN HM-5HA-E, "Heat detector").' }),
    exposes: Type.Array(Z2mExposeSchema, { description: 'Ends with `linkquality` (appended by the converters in 1.x, by Z2M in 2.x).' }),
    supports_ota: Type.Optional(Type.Boolean()),
    options: Type.Optional(Type.Array(Type.Object({}))),
    icon: Type.Optional(Type.String()),
    source: Type.Optional(Type.Enum(['native', 'generated', 'external'], { description: 'Z2M 2.x.' })),
    version: Type.Optional(Type.String({ description: 'Z2M 2.x.' })),
  },
  { description: "The device's definition (zigbee-herdsman-converters): what it exposes." },
);

/** One entry of `bridge/devices`. */
export const Z2mDeviceSchema = Type.Object(
  {
    ieee_address: Type.String({
      pattern: Z2M_IEEE_PATTERN,
      description: "The device's IEEE address; its hub device id is `<gateway>.<ieee_address>` (lower case).",
    }),
    friendly_name: Type.String({
      minLength: 1,
      description:
        'Its name, and its state topic `<base_topic>/<friendly_name>`. May contain `/` (several topic levels), spaces and any Unicode; the default is the IEEE address. The hub skips a name longer than 128 characters, with `#` or `+`, a leading or trailing `/` or an empty level.',
    }),
    type: Type.Enum(Z2M_DEVICE_TYPES, { description: 'The Coordinator is skipped.' }),
    network_address: Type.Optional(Type.Integer({ minimum: 0 })),
    disabled: Type.Optional(Type.Boolean({ description: 'A disabled device is skipped.' })),
    supported: Type.Optional(Type.Boolean()),
    interviewing: Type.Optional(Type.Boolean()),
    interview_completed: Type.Optional(Type.Boolean({ description: 'Deprecated in Z2M 2.x (interview_state).' })),
    interview_state: Type.Optional(Type.String({ description: 'Z2M 2.x: PENDING, IN_PROGRESS, SUCCESSFUL or FAILED.' })),
    manufacturer: Type.Optional(Type.String()),
    model_id: Type.Optional(Type.String()),
    power_source: Type.Optional(Type.String()),
    definition: Type.Optional(
      Nullable(Z2mDefinitionSchema, 'Absent on the Coordinator, null for an unsupported device or one not interviewed yet: the hub skips it.'),
    ),
  },
  { description: 'A device of the Zigbee network; the hub enrols detectors and sirens (docs/zigbee2mqtt.md, "Devices enrolled"). Other keys are ignored.' },
);

/** `bridge/devices` (Z2M → hub, retained). */
export const Z2mDeviceListSchema = Type.Array(Z2mDeviceSchema, {
  description:
    'Every device of the Zigbee network, the Coordinator first (Z2M 1.x and 2.x). Republished on every change; the hub applies it at most once a second (the latest wins) and enrols at most 250 devices. Not a JSON array: refused (bad_json).',
});

const AlarmValue = (what: string) =>
  Type.Optional(
    Nullable(
      Type.Union([Type.Boolean(), Type.String()]),
      `${what}: its expose's \`value_on\` / \`value_off\` (true / false for every known detector). Any other value makes the state malformed: the detector is marked fault, never cleared. Absent or null: no change.`,
    ),
  );
const Flag = (what: string) => Type.Optional(Nullable(Type.Boolean({ description: `${what} Not a boolean: refused (bad_field), the rest is read.` })));
const Reading = (what: string, min: number, max: number) =>
  Type.Optional(
    Nullable(Type.Number({ minimum: min, maximum: max, description: `${what} (telemetry). Out of ${min}..${max}: refused (bad_field), the rest is read.` })),
  );

/** `<friendly_name>` (Z2M → hub). */
export const Z2mDeviceStateSchema = Type.Object(
  {
    smoke: AlarmValue('Smoke (kind smoke; Develco/Frient heat alarms say smoke too)'),
    heat: AlarmValue('Heat (kind heat)'),
    carbon_monoxide: AlarmValue('Carbon monoxide (kind co)'),
    gas: AlarmValue('Combustible gas (kind gas)'),
    alarm: AlarmValue(
      'The generic IAS alarm of a detector that exposes it read-only (HM-5HA-E: heat); on a siren with an `alarm` switch (NAS-AB02B2) its ringing state, not an alarm',
    ),
    tamper: Flag('Tamper: false → true is a tamper event.'),
    test: Flag("The device's test button: false → true is a test event."),
    battery_low: Flag('Low battery: false → true is a fault on a device that reports no battery percentage.'),
    fault_state: Type.Optional(Type.String({ description: 'Heiman: `normal`, or the faults joined by ` | `; leaving normal is a fault.' })),
    battery: Reading('Battery %', 0, 100),
    battpercentage: Reading('Battery % (Tuya)', 0, 100),
    temperature: Reading('°C', -50, 200),
    humidity: Reading('Relative humidity %', 0, 100),
    smoke_density: Reading("The detector's own smoke reading (telemetry smoke)", 0, 100000),
    linkquality: Type.Optional(Type.Integer({ minimum: 0, maximum: 255, description: 'LQI, kept with the device (not telemetry).' })),
    last_seen: Type.Optional(
      Type.Union([Type.String(), Type.Number()], {
        description: 'Only with `advanced.last_seen` (default `disable`): ISO_8601, ISO_8601_local (a string) or epoch (a number). Ignored.',
      }),
    ),
  },
  {
    description:
      'A Zigbee device\'s WHOLE cached state, republished on every change (Z2M 1.x and 2.x, `advanced.cache_state: true`, the default; keys sorted). Only transitions become events (docs/zigbee2mqtt.md, "States → the contract"); every other key (volume, melody, muted, max_duration, supervision_reports…) is ignored, and converters publish keys their definition does not expose. Not a JSON object: malformed, the detector is marked fault. Removing a device clears its topic with an empty retained payload.',
  },
);

/** The IAS WD warning the hub sends a siren. */
export const Z2mWarningSchema = Type.Object(
  {
    mode: Type.Enum(Z2M_WARNING_MODES, {
      description:
        'Fires and panic `fire`, CO and gas `emergency`, a drill `burglar`, the stop `stop`; a mode the siren does not list falls back to its loudest (Z2M ≥ 2.1.2 HS2WD-E lists only stop and emergency).',
    }),
    level: Type.Optional(Type.Enum(Z2M_WARNING_LEVELS, { description: 'Only when the siren lists levels: `very_high`, a drill `medium`.' })),
    strobe: Type.Optional(Type.Boolean({ description: 'When the siren has a strobe: on for alarms, off for a drill and the stop.' })),
    strobe_level: Type.Optional(Type.Enum(Z2M_WARNING_LEVELS)),
    strobe_duty_cycle: Type.Optional(Type.Integer({ minimum: 0, maximum: 10 })),
    duration: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 65535,
        description: 'Seconds (1800 to start, 0 to stop): always sent when the siren lists it (Z2M’s default is 10 s).',
      }),
    ),
  },
  { additionalProperties: false },
);

/** `<friendly_name>/set` (hub → Z2M). */
export const Z2mSirenCommandSchema = Type.Union(
  [
    Type.Object(
      { warning: Z2mWarningSchema },
      { additionalProperties: false, description: 'An IAS WD siren (a settable `warning` composite, e.g. HEIMAN HS2WD-E).' },
    ),
    Type.Object(
      {
        alarm: Type.Union([Type.Boolean(), Type.String()], {
          description: "The expose's `value_on` to start, `value_off` to stop (NEO/Tuya true/false; others ON/OFF or START/OFF).",
        }),
      },
      { additionalProperties: false, description: 'A siren with a settable binary `alarm` switch (e.g. NEO NAS-AB02B2).' },
    ),
  ],
  { description: 'A siren command: what the siren exposes decides its shape (docs/zigbee2mqtt.md, "Zigbee sirens ring for the household").' },
);

/** The HA device an entity belongs to. */
export const HaDeviceSchema = Type.Object(
  {
    identifiers: Type.Array(Type.String(), { minItems: 1, description: '`smokehub_<household>` or `smokehub_<device>`.' }),
    name: Type.String(),
    manufacturer: Type.Literal('smokehub'),
    model: Type.String(),
    sw_version: Type.Optional(Type.String({ description: "The hub's version (the household's device)." })),
    via_device: Type.Optional(Type.String({ description: "A device's battery sensor: the household's HA device." })),
  },
  { additionalProperties: false },
);

const HA_OBJECT_ID = '^[A-Za-z0-9_-]+$';
const haCommon = (domain: (typeof HA_COMPONENTS)[number]) => ({
  name: Type.String({ description: 'In the hub’s language (`--homeassistant-lang`: en or vi).' }),
  unique_id: Type.String({ pattern: HA_OBJECT_ID, description: 'The object id of the config topic.' }),
  default_entity_id: Type.String({
    pattern: `^${domain}\\.[a-z0-9_]+$`,
    description: 'HA ≥ 2025.10 (replaced `object_id`); older HA ignores it.',
  }),
  origin: Type.Object({ name: Type.Literal('smokehub'), sw_version: Type.String() }, { additionalProperties: false }),
  availability: Type.Array(
    Type.Object(
      {
        topic: Type.String({ description: '`smokehub/h/H/homeassistant/availability`.' }),
        payload_available: Type.Literal('online'),
        payload_not_available: Type.Literal('offline'),
      },
      { additionalProperties: false },
    ),
    { minItems: 1, maxItems: 1 },
  ),
  qos: Type.Literal(1),
  device: HaDeviceSchema,
});
const StateTopic = (what: string) => Type.String({ description: `${what} (under smokehub/h/H/homeassistant/).` });

export const HaBinarySensorConfigSchema = Type.Object(
  {
    ...haCommon('binary_sensor'),
    device_class: Type.Literal('smoke'),
    state_topic: StateTopic('`…/state`'),
    value_template: Type.Literal('{{ value_json.alarm }}'),
    payload_on: Type.Literal('ON'),
    payload_off: Type.Literal('OFF'),
    json_attributes_topic: StateTopic('`…/state`'),
  },
  { additionalProperties: false, description: 'The household’s fire alarm (`binary_sensor/smokehub_H_fire_alarm`).' },
);

export const HaSensorConfigSchema = Type.Object(
  {
    ...haCommon('sensor'),
    device_class: Type.Enum(['enum', 'battery']),
    options: Type.Optional(Type.Array(Type.Enum(HA_ALARM_STATES), { description: 'The alarm state sensor.' })),
    icon: Type.Optional(Type.String({ pattern: '^mdi:' })),
    state_class: Type.Optional(Type.Literal('measurement', { description: 'A battery sensor.' })),
    unit_of_measurement: Type.Optional(Type.Literal('%')),
    entity_category: Type.Optional(Type.Literal('diagnostic')),
    state_topic: StateTopic('`…/state` or `…/battery/D`'),
    value_template: Type.Enum(['{{ value_json.state }}', '{{ value_json.battery }}']),
    json_attributes_topic: StateTopic('The same topic'),
  },
  {
    additionalProperties: false,
    description: 'The household’s alarm state (`sensor/smokehub_H_alarm_state`) or a device’s battery (`sensor/smokehub_D_battery`).',
  },
);

export const HaButtonConfigSchema = Type.Object(
  {
    ...haCommon('button'),
    icon: Type.String({ pattern: '^mdi:' }),
    command_topic: Type.String({ description: '`smokehub/h/H/homeassistant/respond`.' }),
    payload_press: Type.Enum(HA_BUTTON_RESPONSES),
    retain: Type.Literal(false),
  },
  { additionalProperties: false, description: 'An answer button (`button/smokehub_H_{coming,unable,need_help}`).' },
);

/** `<component>/<object_id>/config` (hub → HA, retained). */
export const HaDiscoveryConfigSchema = Type.Union([HaBinarySensorConfigSchema, HaSensorConfigSchema, HaButtonConfigSchema], {
  description:
    "A Home Assistant MQTT discovery config (keys as HA 2024.x–2026.x reads them); the topic's component says which. An empty retained payload removes the entity (the household lost its last household user).",
});

/** `availability` (hub → HA, retained; plain text). */
export const HaAvailabilitySchema = Type.Enum(ONLINE_STATES, {
  description: "Plain text, retained: `online` when the hub publishes the household's entities, `offline` on a graceful stop (a crash leaves `online`).",
});

/** `state` (hub → HA, retained). */
export const HaStateSchema = Type.Object(
  {
    alarm: Type.Enum(['ON', 'OFF'], { description: "ON while an alarm sounds for H by its own sounders' rules (a hushed alarm is OFF; a drill counts)." }),
    state: Type.Enum(HA_ALARM_STATES, { description: 'The most urgent open alarm’s state, or `none`.' }),
    alarm_id: Nullable(Type.String()),
    kind: Nullable(Type.Enum(ALARM_KINDS)),
    drill: Type.Boolean(),
    own: Type.Boolean({ description: "The alarm is H's own." }),
    nearby: Type.Boolean({ description: 'Sent to H as a household of another team close to the fire.' }),
    origin_household: Nullable(Id('The origin household')),
    origin_name: Nullable(Type.String()),
    origin_address: Nullable(Type.String()),
    raised_at: Nullable(IsoTime('When it was raised')),
    responders: Type.Integer({ minimum: 0, description: 'Households that answered.' }),
    coming: Type.Integer({ minimum: 0, description: 'Households coming.' }),
    escalation: Nullable(Type.Enum(ESCALATION_REASONS)),
    my_response: Nullable(Type.Enum(RESPONSES), "H's last answer to `respond_to`."),
    respond_to: Nullable(Type.String(), 'The alarm the buttons answer: the latest open alarm of another household, one that sounds for H first.'),
    open_alarms: Type.Integer({ minimum: 0 }),
    at: IsoTime('When the hub published it'),
  },
  { additionalProperties: false, description: "The household's alarm state for HA (every entity's attributes too), on every change that concerns H." },
);

/** `battery/<device>` (hub → HA, retained). */
export const HaBatteryStateSchema = Type.Object(
  {
    battery: Type.Integer({ minimum: 0, maximum: 100, description: 'Percent, rounded; published when the rounded level changes.' }),
    at: IsoTime('When it was read'),
  },
  { additionalProperties: false },
);

/** `status` (HA → hub; plain text). */
export const HaStatusSchema = Type.Enum(ONLINE_STATES, {
  description:
    "Plain text, at most 32 bytes, white space ignored: HA's birth `online` (the hub publishes H's entities again, at most once per 2 s, and serves H from then on) or its will `offline` (ignored). Anything else is refused (bad_payload).",
});

/** `respond` (HA → hub; plain text). */
export const HaRespondSchema = Type.Enum(HA_BUTTON_RESPONSES, {
  description:
    "Plain text, at most 32 bytes, white space ignored: H's answer to the alarm of the state's `respond_to`. Anything else is refused (bad_payload); no alarm to answer: not_found.",
});
