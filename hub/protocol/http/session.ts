/** `POST /api/login`, `POST /api/logout`, `GET /api/me`. */
import { Type, type Static } from 'typebox';
import { Id, OkBody } from './common.ts';

export const ROLE_NAMES = ['station', 'team-leader', 'household'] as const;
export const Role = Type.Enum(ROLE_NAMES, { description: 'station: the fire station (everything); team-leader: its team; household: its own home' });
export type Role = Static<typeof Role>;

export const SessionUser = Type.Object({
  username: Type.String(),
  role: Role,
  team: Type.Union([Id, Type.Null()], { description: "a team leader's team" }),
  household: Type.Union([Id, Type.Null()], { description: "a household user's home (a team leader may have one too)" }),
});
export type SessionUser = Static<typeof SessionUser>;

export const Timezone = Type.String({
  description: "the hub's configured time zone (IANA, e.g. Asia/Ho_Chi_Minh): the dashboard shows every date and time in it",
});

export const MAX_USERNAME = 64;
export const MAX_PASSWORD = 1024;
export const LoginBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: MAX_USERNAME }),
  password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD }),
});
export type LoginBody = Static<typeof LoginBody>;

export const LoginAnswer = Type.Object(
  {
    token: Type.String({ description: 'also set as the HttpOnly session cookie; send it as Authorization: Bearer from scripts' }),
    user: SessionUser,
    expiresAt: Type.Number({ description: 'ms since the epoch; the session slides while used' }),
    timezone: Type.Optional(Timezone),
  },
  { description: 'logged in' },
);
export type LoginAnswer = Static<typeof LoginAnswer>;

export const MeAnswer = Type.Object({ user: SessionUser, timezone: Type.Optional(Timezone) }, { description: 'the logged-in user' });
export type MeAnswer = Static<typeof MeAnswer>;

export const LogoutAnswer = OkBody;
