/** `GET /api/households`, `GET /api/households/:id`: the registry as the dashboard shows it. */
import { Type, type Static } from 'typebox';
import { DEVICE_KINDS } from '../schema.ts';
import { EpochMs, Id, NullableEpochMs, NullableNumber } from './common.ts';

/** The dispatch card's fields (each '' when unknown). */
export const CARD_FIELDS = ['access', 'hazards', 'vulnerable', 'water'] as const;
export type CardField = (typeof CARD_FIELDS)[number];

export const HouseholdCard = Type.Object(
  {
    access: Type.String({ description: 'alley width, gate, where a truck can stop' }),
    hazards: Type.String({ description: 'gas cylinders, stored goods' }),
    vulnerable: Type.String({ description: 'people who need help to get out' }),
    water: Type.String({ description: 'nearest hydrant, well or pond' }),
  },
  { description: "the dispatch card: what the fire station needs to know on the way (each '' when unknown)" },
);
export type HouseholdCard = Static<typeof HouseholdCard>;

export const DeviceKind = Type.Enum(DEVICE_KINDS);

export const HouseholdDevice = Type.Object({
  id: Id,
  kind: DeviceKind,
  enrolledAt: EpochMs,
  online: Type.Boolean({ description: 'connected to the hub now' }),
  lastSeen: NullableEpochMs,
});
export type HouseholdDevice = Static<typeof HouseholdDevice>;

const householdFields = {
  id: Id,
  team: Id,
  name: Type.String(),
  address: Type.String(),
  phone: Type.String({ description: 'the phone cell as written in the CSV' }),
  lat: NullableNumber,
  lon: NullableNumber,
  devices: Type.Array(HouseholdDevice),
};

/** A household in a list. */
export const HouseholdSummary = Type.Object(householdFields);
export type HouseholdSummary = Static<typeof HouseholdSummary>;

/** One household: the list's fields, its numbers in E.164 and its dispatch card. */
export const HouseholdDetail = Type.Object({
  ...householdFields,
  phones: Type.Array(Type.String(), { description: 'E.164 (+84901000002), in the order written' }),
  card: HouseholdCard,
});
export type HouseholdDetail = Static<typeof HouseholdDetail>;

export const HouseholdsQuery = Type.Object({ team: Type.Optional(Type.String({ description: 'only this team (a team id)' })) });
export const HouseholdsAnswer = Type.Object({ households: Type.Array(HouseholdSummary) }, { description: 'the households the user may see' });
export type HouseholdsAnswer = Static<typeof HouseholdsAnswer>;

export const HouseholdParams = Type.Object({ id: Type.String({ description: 'a household id' }) });
