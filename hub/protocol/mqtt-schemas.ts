/**
 * JSON Schemas (TypeBox) of every MQTT payload of contract v1, built from the constants of
 * schema.ts and errors.ts so that they cannot drift from the hand-written validators. Pure and
 * browser-safe. These schemas document the contract (docs/asyncapi.yaml); the hub's edge
 * validators stay the `parse*` functions of schema.ts (they never throw, and they are more
 * tolerant in the ways each description says: test/unit/core/mqtt-schemas.unit.test.ts pins both).
 */
import { type TSchema, Type } from 'typebox';
import { ERROR_CODES } from './errors.ts';
import {
  ALARM_KINDS,
  ALARM_STATES,
  ESCALATION_REASONS,
  COMMANDS,
  DEVICE_STATUSES,
  DISPATCH_STATES,
  EVENT_TYPES,
  MAX_EVENT_ID_LENGTH,
  MAX_PAYLOAD_BYTES,
  MAX_TS_FUTURE_MS,
  MAX_TS_PAST_MS,
  NOTICE_SEVERITIES,
  RESPONSES,
  TELEMETRY_FIELD_NAMES,
  TELEMETRY_FIELDS,
  VIAS,
} from './schema.ts';
import { ID_PATTERN } from './topics.ts';
import {
  HaAvailabilitySchema,
  HaBatteryStateSchema,
  HaBinarySensorConfigSchema,
  HaButtonConfigSchema,
  HaDeviceSchema,
  HaDiscoveryConfigSchema,
  HaRespondSchema,
  HaSensorConfigSchema,
  HaStateSchema,
  HaStatusSchema,
  Z2mDefinitionSchema,
  Z2mDeviceListSchema,
  Z2mDeviceSchema,
  Z2mDeviceStateSchema,
  Z2mExposeSchema,
  Z2mOnlineStateSchema,
  Z2mSirenCommandSchema,
  Z2mWarningSchema,
} from './mqtt-tree-schemas.ts';

export * from './mqtt-tree-schemas.ts';

/** The MQTT contract's version (docs/mqtt-api.md: "MQTT contract v1"). */
export const MQTT_CONTRACT_VERSION = '1';

export { ESCALATION_REASONS };

/** No control characters (U+0000–U+001F), as parseDeviceEvent requires of an event id. */
const NO_CONTROL_CHARS = '^[^\\u0000-\\u001f]*$';
const DAYS_PAST = MAX_TS_PAST_MS / (24 * 3600 * 1000);
const MINUTES_FUTURE = MAX_TS_FUTURE_MS / 60_000;

const Id = (description: string) => Type.String({ pattern: ID_PATTERN.source, description });
const EpochMs = (description = 'milliseconds since the epoch') => Type.Integer({ minimum: 0, description });
const Nullable = <T extends TSchema>(t: T, description?: string) => Type.Union([t, Type.Null()], description === undefined ? {} : { description });

/** `smokehub/h/H/d/D/event` (device → hub). */
export const DeviceEventSchema = Type.Object(
  {
    id: Type.String({
      minLength: 1,
      maxLength: MAX_EVENT_ID_LENGTH,
      pattern: NO_CONTROL_CHARS,
      description: `Unique per device (a counter or a random string), at most ${MAX_EVENT_ID_LENGTH} characters (the hub counts UTF-16 code units: a character outside the BMP counts twice), no control characters. The hub remembers ids for 7 days: a redelivery is acknowledged and ignored.`,
    }),
    type: Type.Enum(EVENT_TYPES, { description: `smoke, heat, co, gas and panic raise an alarm; test, fault and tamper never open, change or close one.` }),
    ts: Type.Optional(
      EpochMs(
        `When it happened, in milliseconds since the epoch. Used when within ${DAYS_PAST} days before and ${MINUTES_FUTURE} minutes after the hub's clock; otherwise (or when not an integer) it is dropped with a warning on the error topic and the hub's clock is used — the event itself is still accepted.`,
      ),
    ),
    level: Type.Optional(Type.Number({ description: 'The sensor reading that triggered the event (a finite number).' })),
  },
  {
    additionalProperties: false,
    description: `A device's alarm-relevant event. At most ${MAX_PAYLOAD_BYTES} bytes; any other field refuses the whole event (unknown_field).`,
  },
);

/** `smokehub/h/H/d/D/telemetry` (device → hub). */
export const TelemetryReadingSchema = Type.Object(
  {
    ts: Type.Optional(
      EpochMs(
        `When it was read. Outside ${DAYS_PAST} days before / ${MINUTES_FUTURE} minutes after the hub's clock (or not an integer) it is dropped with a warning and the hub stamps the reading.`,
      ),
    ),
    ...Object.fromEntries(
      TELEMETRY_FIELD_NAMES.map((f) => {
        const spec = TELEMETRY_FIELDS[f];
        return [f, Type.Optional(Type.Number({ minimum: spec.min, maximum: spec.max, description: `${f}, ${spec.min} – ${spec.max} ${spec.unit}` }))];
      }),
    ),
  },
  {
    additionalProperties: false,
    anyOf: TELEMETRY_FIELD_NAMES.map((f) => ({ required: [f] })),
    description: `One reading: at least one field. At most ${MAX_PAYLOAD_BYTES} bytes. The hub validates field by field: valid fields are stored and each invalid or unknown field is reported on the error topic; the reading is refused only when no field is valid.`,
  },
);

/** `smokehub/h/H/d/D/status` (device → hub, retained; plain text, not JSON). */
export const DeviceStatusSchema = Type.Enum(DEVICE_STATUSES, {
  description: 'Plain text (not JSON), retained: `online` on connect; the last will is `offline`. Surrounding white space is ignored.',
});

export const IssueSchema = Type.Object(
  {
    code: Type.Enum(Object.values(ERROR_CODES), { description: 'A stable error code (docs/errors.md).' }),
    field: Type.Optional(Type.String({ maxLength: 32, description: 'The field concerned, when there is one.' })),
    message: Type.String({ description: 'For people.' }),
  },
  { additionalProperties: false, description: 'One reason a payload or one of its fields was refused.' },
);

/** `smokehub/h/H/d/D/error` (hub → device). */
export const ErrorReportSchema = Type.Object(
  {
    topic: Type.String({ maxLength: 128, description: 'The topic of the refused message (cut at 128 characters).' }),
    error: Type.Enum(Object.values(ERROR_CODES), { description: 'The first issue’s code.' }),
    issues: Type.Array(IssueSchema, { minItems: 1 }),
    at: EpochMs('When the hub refused it.'),
  },
  { additionalProperties: false, description: "Why the device's last message was refused, or a warning about a field the hub dropped." },
);

/** `smokehub/h/H/d/D/cmd` (hub → device). */
export const DeviceCommandSchema = Type.Object(
  {
    cmd: Type.Enum(COMMANDS),
    alarm: Type.Optional(Type.String({ description: 'The alarm concerned (`silence`).' })),
    kind: Type.Optional(Type.Enum(ALARM_KINDS, { description: 'The kind of alarm to sound (`sound`).' })),
    origin: Type.Optional(Type.String({ description: 'The household where it started (`sound`).' })),
    round: Type.Optional(Type.String({ description: 'The self-test round (`test`).' })),
  },
  { description: 'A command to the devices of a household. Receivers ignore fields they do not know.' },
);

/** `smokehub/h/H/response` (household → hub). */
export const HouseholdResponseSchema = Type.Object(
  {
    alarm: Type.String({ minLength: 1, maxLength: 64, description: 'The alarm id (AlarmView.alarm).' }),
    response: Type.Enum(RESPONSES),
  },
  { description: "A household's answer to an alarm (its device, its user, or the station on its behalf). Other fields are ignored." },
);

export const AlarmOriginSchema = Type.Object(
  {
    household: Id('The household where the alarm started.'),
    name: Type.String(),
    address: Type.String(),
    lat: Nullable(Type.Number()),
    lon: Nullable(Type.Number()),
    device: Type.String({ description: 'The device that raised it (empty for a drill).' }),
  },
  { additionalProperties: false },
);

export const ActorSchema = Type.Union(
  [
    Type.Object({ kind: Type.Literal('device'), id: Type.String() }, { additionalProperties: false }),
    Type.Object({ kind: Type.Literal('user'), id: Type.String(), role: Type.String() }, { additionalProperties: false }),
    Type.Object({ kind: Type.Literal('hub'), reason: Type.String() }, { additionalProperties: false }),
    Type.Object({ kind: Type.Literal('sms'), phone: Type.String() }, { additionalProperties: false }),
  ],
  { description: 'Who did something to an alarm.' },
);

export const ResponderSchema = Type.Object(
  {
    household: Id('The household that answered.'),
    response: Type.Enum(RESPONSES),
    at: EpochMs(),
    by: Type.Optional(ActorSchema),
    via: Type.Optional(Type.Enum(VIAS)),
  },
  { additionalProperties: false },
);

export const DispatchSchema = Type.Object(
  {
    state: Type.Enum(DISPATCH_STATES),
    at: EpochMs(),
    by: Type.String({ description: 'The station user.' }),
    etaMin: Type.Optional(Type.Integer({ minimum: 0, description: 'Minutes until the truck arrives.' })),
    note: Type.Optional(Type.String()),
  },
  { additionalProperties: false, description: "The fire station's side: it has seen the alarm, or a truck is on its way." },
);

/** `smokehub/h/H/alert`, `smokehub/station/alarm` (hub → people and devices). */
export const AlarmViewSchema = Type.Object(
  {
    alarm: Type.String({ description: 'The alarm id.' }),
    state: Type.Enum(ALARM_STATES, { description: 'cancelled and resolved are the stand-down; for a neighbour, hushed is one too.' }),
    kind: Type.Enum(ALARM_KINDS),
    team: Id('The team of the origin household.'),
    origin: AlarmOriginSchema,
    raisedAt: EpochMs(),
    updatedAt: EpochMs(),
    responders: Type.Array(ResponderSchema),
    escalation: Type.Optional(Nullable(Type.Enum(ESCALATION_REASONS), 'Why the alarm is escalated (null when it is not).')),
    households: Type.Optional(Type.Array(Id('A household'), { description: 'Households of the team with devices alarming now.' })),
    silencedAt: Type.Optional(Nullable(EpochMs(), 'When the origin silenced its sounders during a confirmed alarm.')),
    hushedAt: Type.Optional(Nullable(EpochMs(), 'While hushed: when the hush was given.')),
    hushUntil: Type.Optional(Nullable(EpochMs(), "While hushed: when the hub's watch ends.")),
    originSaysFalseAlarm: Type.Optional(Type.Boolean({ description: 'The origin said false alarm after the alarm escalated.' })),
    dispatch: Type.Optional(Nullable(DispatchSchema)),
    nearby: Type.Optional(Type.Boolean({ description: 'In the copy sent to a household of another team nearby: told, not counted on.' })),
    nearbyHouseholds: Type.Optional(Type.Array(Id('A household'), { description: 'Households of other teams nearby that were alerted.' })),
  },
  { additionalProperties: false, description: 'The alarm view (docs/mqtt-api.md, "The alarm view").' },
);

/** `smokehub/h/H/alarms`, `smokehub/station/alarms` (hub → people and devices, retained). */
export const OpenAlarmsStateSchema = Type.Object(
  {
    open: Type.Array(AlarmViewSchema, { description: 'Every open alarm concerned (empty when none).' }),
    at: EpochMs('When the hub published this state.'),
  },
  { additionalProperties: false, description: 'The retained open-alarm state: an alarm not in `open` is closed.' },
);

/** `smokehub/h/H/notice`, `smokehub/station/notice` (hub → people). */
export const NoticeSchema = Type.Object(
  {
    notice: Type.String({ description: 'What it is about (e.g. device-offline, self-test-failed, hub-journal-failing).' }),
    severity: Type.Enum(NOTICE_SEVERITIES, { description: 'Never alarm severity.' }),
    household: Nullable(Id('A household id'), 'The household concerned (null: the hub itself, e.g. its journal or GSM modem).'),
    device: Nullable(Id('A device id'), 'The device concerned, if any.'),
    text: Type.String({ description: 'For people, in English: the fallback for clients that do not know this notice id.' }),
    params: Type.Optional(
      Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]), {
        description:
          'What a client needs to say the notice in its own language from `notice`: device kind, reason code, percent, minutes, days, ISO dates, counts (ids and codes, never English words).',
      }),
    ),
    at: EpochMs(),
  },
  { additionalProperties: false, description: 'A hub → people notice (supervision, self-tests, reminders, hub trouble).' },
);

/** Every named payload schema, as it appears in the AsyncAPI document's components.schemas. */
export const MQTT_SCHEMAS = {
  DeviceEvent: DeviceEventSchema,
  TelemetryReading: TelemetryReadingSchema,
  DeviceStatus: DeviceStatusSchema,
  ErrorReport: ErrorReportSchema,
  Issue: IssueSchema,
  DeviceCommand: DeviceCommandSchema,
  HouseholdResponse: HouseholdResponseSchema,
  AlarmView: AlarmViewSchema,
  AlarmOrigin: AlarmOriginSchema,
  Responder: ResponderSchema,
  Actor: ActorSchema,
  Dispatch: DispatchSchema,
  OpenAlarmsState: OpenAlarmsStateSchema,
  Notice: NoticeSchema,
  Z2mOnlineState: Z2mOnlineStateSchema,
  Z2mDeviceList: Z2mDeviceListSchema,
  Z2mDevice: Z2mDeviceSchema,
  Z2mDefinition: Z2mDefinitionSchema,
  Z2mExpose: Z2mExposeSchema,
  Z2mDeviceState: Z2mDeviceStateSchema,
  Z2mSirenCommand: Z2mSirenCommandSchema,
  Z2mWarning: Z2mWarningSchema,
  HaDiscoveryConfig: HaDiscoveryConfigSchema,
  HaBinarySensorConfig: HaBinarySensorConfigSchema,
  HaSensorConfig: HaSensorConfigSchema,
  HaButtonConfig: HaButtonConfigSchema,
  HaDevice: HaDeviceSchema,
  HaAvailability: HaAvailabilitySchema,
  HaState: HaStateSchema,
  HaBatteryState: HaBatteryStateSchema,
  HaStatus: HaStatusSchema,
  HaRespond: HaRespondSchema,
} as const satisfies Record<string, TSchema>;
export type MqttSchemaName = keyof typeof MQTT_SCHEMAS;
