/**
 * Shapes shared by the HTTP routes' schemas (browser-safe: TypeBox builds plain JSON Schema).
 * Every route's request and answer is described in the modules next to this one; the hub's route
 * handlers declare them (hub/http/router.ts) and the dashboard imports their types.
 */
import { Type, type Static } from 'typebox';
import { ERROR_CODES } from '../errors.ts';
import { ID_PATTERN } from '../topics.ts';

/** Every refusal: one of the hub's stable codes (docs/errors.md) and a text for people. */
export const ErrorBody = Type.Object(
  {
    error: Type.Enum(Object.values(ERROR_CODES), { description: 'a stable code (docs/errors.md)' }),
    message: Type.String({ description: 'for people; not stable' }),
  },
  { description: 'an error answer' },
);
export type ErrorBody = Static<typeof ErrorBody>;

/** A team, household, device or user id (safe in a topic level and a URL path). */
export const Id = Type.String({ pattern: ID_PATTERN.source, description: 'an id: letters, digits, _ . - (at most 64)' });
/** Milliseconds since the epoch (UTC). */
export const EpochMs = Type.Number({ description: 'milliseconds since the epoch' });
export const NullableEpochMs = Type.Union([EpochMs, Type.Null()]);
export const NullableString = Type.Union([Type.String(), Type.Null()]);
export const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

/** `:id` path parameter. */
export const IdParams = Type.Object({ id: Id });
/** A body-less POST (`{}` or nothing). */
export const EmptyBody = Type.Object({}, { additionalProperties: true });
export const OkBody = Type.Object({ ok: Type.Literal(true) });
