/**
 * The station's supervision routes: jobs, the daily report, self-tests, devices offline and
 * equipment. The dashboard reads the equipment (team readiness); the others are for the CLI, scripts
 * and the daily report's mail: their items are described at the top level, the inner objects as open records.
 */
import { Type, type Static } from 'typebox';
import { EpochMs, Id } from './common.ts';
import { EquipmentHorizonDays, EquipmentItem } from './device-health.ts';

const Open = (description: string) => Type.Record(Type.String(), Type.Unknown(), { description });
const Record_ = (description: string) => Type.Record(Type.String(), Type.Number(), { description });

export const JobsAnswer = Type.Object({
  timezone: Type.String({ description: "the hub's time zone (cron expressions are in it)" }),
  now: EpochMs,
  jobs: Type.Array(Open('a scheduled job: name, cron, last and next run, recent runs')),
});
export type JobsAnswer = Static<typeof JobsAnswer>;

export const DailyReportQuery = Type.Object({
  date: Type.Optional(Type.String({ description: 'YYYY-MM-DD in the hub time zone (default: today)' })),
  team: Type.Optional(Type.String()),
});
export const DailyReportAnswer = Type.Object(
  {
    date: Type.String(),
    timezone: Type.String(),
    from: EpochMs,
    to: EpochMs,
    generatedAt: EpochMs,
    totals: Record_('the counts over every team in the report'),
    teams: Type.Array(Open('one team: its alarms, drills, devices gone offline, failed self-tests, equipment expiring')),
  },
  { additionalProperties: false },
);

export const SelfTestAnswer = Type.Object({
  household: Id,
  devices: Type.Array(
    Type.Object({
      device: Id,
      kind: Type.String(),
      lastTest: Type.Union([Open('the last self-test: round, asked, answered, outcome passed/failed, reason'), Type.Null()]),
    }),
  ),
});

export const OfflineQuery = Type.Object({ team: Type.Optional(Type.String()) });
export const OfflineAnswer = Type.Object({ devices: Type.Array(Open('a device offline now: device, household, team, kind, since, reason, lastHeardAt')) });

export const EquipmentQuery = Type.Object({ team: Type.Optional(Type.String()), household: Type.Optional(Type.String()) });
export const EquipmentAnswer = Type.Object({
  today: Type.String({ description: 'YYYY-MM-DD in the hub time zone' }),
  horizonDays: EquipmentHorizonDays,
  items: Type.Array(Type.Object({ ...EquipmentItem.properties, household: Id, team: Id }, { additionalProperties: true })),
});
