/** `GET /api/notices` (supervision, self-test, reminder and hub notices, newest first). */
import { Type, type Static } from 'typebox';
import { NoticeSchema } from '../mqtt-schemas.ts';
import { Id } from './common.ts';

export const StoredNotice = Type.Object(
  { ...NoticeSchema.properties, id: Type.Integer(), team: Type.Union([Id, Type.Null()]) },
  { additionalProperties: false },
);
export type StoredNotice = Static<typeof StoredNotice>;

export const NoticesQuery = Type.Object({
  household: Type.Optional(Type.String()),
  team: Type.Optional(Type.String()),
  severity: Type.Optional(Type.String({ description: 'info, warning or trouble' })),
  notice: Type.Optional(Type.String()),
  since: Type.Optional(Type.String()),
  until: Type.Optional(Type.String()),
  before: Type.Optional(Type.String({ description: 'notices older than this id (paging)' })),
  limit: Type.Optional(Type.String()),
});
export const NoticesAnswer = Type.Object({ notices: Type.Array(StoredNotice) });
export type NoticesAnswer = Static<typeof NoticesAnswer>;
