/**
 * Alarms over HTTP: `GET /api/alarms`, `GET /api/alarms/:id`, the station's and households'
 * actions on one (`resolve`, `respond`, `acknowledge`, `dispatch`), and drills.
 * The alarm view is the MQTT contract's (mqtt-schemas.ts): one shape on both.
 */
import { Type, type Static } from 'typebox';
import { ALARM_KINDS, RESPONSES, VIAS } from '../schema.ts';
import { ActorSchema, AlarmViewSchema } from '../mqtt-schemas.ts';
import { EpochMs, Id, NullableEpochMs } from './common.ts';
import { HouseholdCard } from './households.ts';

export const AlarmView = AlarmViewSchema;

const rowFields = {
  closedAt: Type.Union([EpochMs, Type.Null()], { description: 'when it was cancelled or resolved; null while open' }),
  falseAlarm: Type.Boolean({ description: 'closed as a false alarm' }),
};

/** An alarm as listed: its view and how it ended. */
export const AlarmListItem = Type.Object({ ...AlarmViewSchema.properties, ...rowFields }, { additionalProperties: false });
export type AlarmListItem = Static<typeof AlarmListItem>;

export const AlarmsQuery = Type.Object({
  state: Type.Optional(Type.String({ description: 'open, closed, or a comma-separated list of states' })),
  kind: Type.Optional(Type.Enum(ALARM_KINDS)),
  team: Type.Optional(Type.String()),
  household: Type.Optional(Type.String()),
  from: Type.Optional(Type.String({ description: 'raised at or after: ms since the epoch or an ISO date' })),
  to: Type.Optional(Type.String({ description: 'raised before: ms since the epoch or an ISO date' })),
  limit: Type.Optional(Type.String({ description: '1 to 5000 (default 500)' })),
});
export const AlarmsAnswer = Type.Object({ alarms: Type.Array(AlarmListItem) }, { description: 'newest first, scoped to what the user may see' });
export type AlarmsAnswer = Static<typeof AlarmsAnswer>;

export const TimelineEntry = Type.Object({
  seq: Type.Integer(),
  at: EpochMs,
  transition: Type.String({ description: 'raised, confirmed, escalated, hushed, response, sms-sent, …' }),
  state: Type.String({ description: 'the alarm state after it' }),
  detail: Type.Record(Type.String(), Type.Unknown()),
  by: ActorSchema,
  via: Type.Enum(VIAS),
});
export type TimelineEntry = Static<typeof TimelineEntry>;

/** One SMS or call the hub queued for an alarm. */
export const Contact = Type.Object({
  kind: Type.Union([Type.Literal('sms'), Type.Literal('call')]),
  to: Type.String({ description: 'E.164' }),
  household: Type.Union([Id, Type.Null()]),
  state: Type.Enum(['queued', 'sending', 'sent', 'failed', 'cancelled'] as const),
  queuedAt: EpochMs,
  sentAt: NullableEpochMs,
  attempts: Type.Integer(),
  error: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.Optional(Type.String({ description: "a call's outcome: answered, no-answer, busy, failed" })),
  parts: Type.Optional(Type.Integer({ description: 'how many SMS parts the text took' })),
});
export type Contact = Static<typeof Contact>;

/** One alarm with its timeline; `card` for the station, team leaders and the origin household; `contacts` when the hub sends SMS. */
export const AlarmDetail = Type.Object(
  {
    ...AlarmViewSchema.properties,
    ...rowFields,
    card: Type.Optional(HouseholdCard),
    contacts: Type.Optional(Type.Array(Contact)),
    timeline: Type.Array(TimelineEntry),
  },
  { additionalProperties: false },
);
export type AlarmDetail = Static<typeof AlarmDetail>;

export const RespondBody = Type.Object({
  household: Type.Optional(Type.String({ description: "default: the user's own household" })),
  response: Type.Enum(RESPONSES),
});
export type RespondBody = Static<typeof RespondBody>;

export const MAX_DISPATCH_NOTE = 200;
export const DispatchBody = Type.Object({
  etaMin: Type.Optional(Type.Number({ minimum: 0, maximum: 240, description: 'minutes until the truck arrives' })),
  note: Type.Optional(Type.String({ maxLength: MAX_DISPATCH_NOTE, description: 'one line' })),
});
export type DispatchBody = Static<typeof DispatchBody>;

// ---------- drills ----------

export const DrillBody = Type.Object({
  team: Type.String({ description: 'the team drilled' }),
  household: Type.Optional(Type.String({ description: "where it starts (default: the leader's household, or the team's first)" })),
});
export type DrillBody = Static<typeof DrillBody>;

export const DrillSummary = Type.Object({ ...AlarmViewSchema.properties, closedAt: rowFields.closedAt }, { additionalProperties: false });
export type DrillSummary = Static<typeof DrillSummary>;
export const DrillsAnswer = Type.Object({ drills: Type.Array(DrillSummary) }, { description: 'newest first (at most 200)' });
export type DrillsAnswer = Static<typeof DrillsAnswer>;

export const DrillHousehold = Type.Object({
  household: Id,
  name: Type.String(),
  response: Type.Union([Type.Enum(RESPONSES), Type.Null()], { description: 'its first response; null: none' }),
  at: NullableEpochMs,
  afterS: Type.Union([Type.Integer(), Type.Null()], { description: 'seconds from the start to the first response' }),
});
export type DrillHousehold = Static<typeof DrillHousehold>;

const { households: _alarming, ...viewWithoutHouseholds } = AlarmViewSchema.properties;
/** A drill's report: its view (`households` here is the report of every household of the team) and when it ended. */
export const DrillReport = Type.Object(
  { ...viewWithoutHouseholds, closedAt: rowFields.closedAt, households: Type.Array(DrillHousehold) },
  { additionalProperties: false },
);
export type DrillReport = Static<typeof DrillReport>;

export const AlarmParams = Type.Object({ id: Type.String({ description: 'an alarm id' }) });
export const DrillsQuery = Type.Object({ team: Type.Optional(Type.String()) });
