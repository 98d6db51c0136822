/**
 * One device-health item for both `GET /api/devices/health` (every device in scope, in bulk) and
 * `GET /api/households/:id/health` (one household, with its equipment).
 */
import { Type, type Static } from 'typebox';
import { DeviceKind } from './households.ts';
import { EpochMs, Id, NullableEpochMs, NullableNumber } from './common.ts';

export const SUPERVISION_STATE_NAMES = ['ok', 'offline', 'flapping'] as const;
export const SupervisionState = Type.Enum(SUPERVISION_STATE_NAMES, {
  description: 'what supervision reports: ok, offline (missed its check-ins) or flapping (drops out again and again)',
});
export type SupervisionState = Static<typeof SupervisionState>;

export const LastSelfTest = Type.Object({
  at: EpochMs,
  outcome: Type.Union([Type.Literal('pass'), Type.Literal('fail')]),
  reason: Type.Union([Type.String({ description: 'why it failed: no-answer, offline, …' }), Type.Null()]),
});
export type LastSelfTest = Static<typeof LastSelfTest>;

export const DeviceHealth = Type.Object({
  device: Id,
  label: Type.Union([Type.String(), Type.Null()], {
    description: 'the name people know the device by (a Zigbee device: its Zigbee2MQTT friendly name), or null',
  }),
  household: Id,
  team: Id,
  kind: DeviceKind,
  online: Type.Boolean({ description: 'connected to the hub now (live presence)' }),
  lastSeen: NullableEpochMs,
  supervision: SupervisionState,
  /** Since when the device has been in its supervision state (null: not tracked yet). */
  since: NullableEpochMs,
  /** Why supervision reports it offline: silent (missed its check-ins), disconnected, reported-offline; else null. */
  offlineReason: Type.Union([Type.Enum(['silent', 'disconnected', 'reported-offline'] as const), Type.Null()]),
  battery: Type.Union([Type.Number({ minimum: 0, maximum: 100 }), Type.Null()], { description: 'percent, last reading' }),
  batteryAt: NullableEpochMs,
  lastTest: Type.Union([LastSelfTest, Type.Null()], { description: 'the latest self-test (detectors only)' }),
  fault: Type.Boolean({ description: 'the device reports a fault now' }),
  enrolledAt: EpochMs,
  /** A detector's end of life (10 years after enrolment), else null. */
  replaceBy: NullableEpochMs,
});
export type DeviceHealth = Static<typeof DeviceHealth>;

export const DevicesHealthQuery = Type.Object({
  team: Type.Optional(Type.String()),
  household: Type.Optional(Type.String()),
  state: Type.Optional(Type.String({ description: 'one or more (comma-separated) of ok, offline, flapping' })),
});
export const DevicesHealthAnswer = Type.Object({ devices: Type.Array(DeviceHealth) }, { description: 'sorted by device id' });
export type DevicesHealthAnswer = Static<typeof DevicesHealthAnswer>;

export const EquipmentItem = Type.Object({
  item: Type.String({ description: 'extinguisher, rescue tools, …' }),
  serial: Type.String({ description: "'' when the item has none" }),
  expires: Type.Union([Type.String({ description: 'YYYY-MM-DD' }), Type.Null()]),
  daysLeft: NullableNumber,
});
/** How many days ahead an item counts as expiring (the monthly equipment reminder's horizon). */
export const EquipmentHorizonDays = Type.Integer({
  minimum: 0,
  description: 'an item with daysLeft from 0 to horizonDays is expiring (the monthly reminder tells the household), below 0 expired',
});
export const HouseholdHealthAnswer = Type.Object({
  household: Id,
  devices: Type.Array(DeviceHealth),
  equipment: Type.Array(EquipmentItem),
  horizonDays: EquipmentHorizonDays,
});
export type HouseholdHealthAnswer = Static<typeof HouseholdHealthAnswer>;
