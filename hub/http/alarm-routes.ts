/**
 * Alarm routes: list and read alarms (with their timelines), resolve (station), respond (phone view).
 */
import type { Router, ApiRequest, UserPrincipal } from './router.ts';
import type { AlarmQuery } from '../store/alarm-journal.ts';
import type { AlarmActions, AlarmJournalReads } from './alarm-ports.ts';
import type { RegistryStore } from '../store/registry-types.ts';
import { canSeeHousehold, canSeeTeam } from '../core/acl.ts';
import { ALARM_KINDS, ALARM_STATES, CLOSED_ALARM_STATES, OPEN_ALARM_STATES, RESPONSES, type Actor, type ResponseKind } from '../protocol/schema.ts';
import { ERROR_CODES, ForbiddenError, NotFoundError, ValidationError } from '../protocol/errors.ts';
import { isValidId } from '../protocol/topics.ts';
import { AlarmDetail, AlarmParams, AlarmsAnswer, AlarmsQuery, AlarmView, RespondBody } from '../protocol/http/alarms.ts';

export interface AlarmRouteDeps {
  alarms: AlarmActions;
  journal: AlarmJournalReads;
  registry: RegistryStore;
  /** Extra fields of `GET /api/alarms/:id` from extensions (e.g. `contacts`). */
  details?: Map<string, (alarmId: string) => unknown>;
}

function badQuery(message: string): ValidationError {
  return new ValidationError(ERROR_CODES.BAD_REQUEST, message);
}

function parseTime(value: string | null, name: string): number | undefined {
  if (value === null || value === '') return undefined;
  const n = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(n)) throw badQuery(`${name} must be milliseconds since the epoch or an ISO date`);
  return n;
}

/** Builds the journal query from the URL, confined to what the user may see. */
export function alarmQueryFor(user: UserPrincipal, q: URLSearchParams, registry: RegistryStore): AlarmQuery {
  const out: AlarmQuery = {};
  const state = q.get('state');
  if (state) {
    const states = state === 'open' ? [...OPEN_ALARM_STATES] : state === 'closed' ? [...CLOSED_ALARM_STATES] : state.split(',');
    for (const s of states)
      if (!(ALARM_STATES as readonly string[]).includes(s))
        throw badQuery(`unknown state "${s.slice(0, 32)}"; expected open, closed or ${ALARM_STATES.join(', ')}`);
    out.states = states;
  }
  const kind = q.get('kind');
  if (kind) {
    if (!(ALARM_KINDS as readonly string[]).includes(kind)) throw badQuery(`unknown kind "${kind.slice(0, 32)}"`);
    out.kind = kind;
  }
  const team = q.get('team');
  if (team) {
    if (!isValidId(team)) throw badQuery('team must be a team id');
    out.team = team;
  }
  const household = q.get('household');
  if (household) {
    if (!isValidId(household)) throw badQuery('household must be a household id');
    out.household = household;
  }
  out.from = parseTime(q.get('from'), 'from');
  out.to = parseTime(q.get('to'), 'to');
  const limit = q.get('limit');
  if (limit) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 5000) throw badQuery('limit must be an integer from 1 to 5000');
    out.limit = n;
  }
  // Scope: a team leader sees its team; a household its own team's alarms.
  const teamOf = (h: string) => registry.teamOf(h);
  if (user.role !== 'station') {
    const own = user.role === 'team-leader' ? user.team : user.household ? (registry.teamOf(user.household) ?? null) : null;
    if (out.team !== undefined && !canSeeTeam(user, out.team, teamOf)) throw new ForbiddenError(`not allowed to see team ${out.team}`);
    out.teams = own ? [own] : [];
  }
  return out;
}

function actorOf(user: UserPrincipal): Actor {
  return { kind: 'user', id: user.username, role: user.role };
}

export function registerAlarmRoutes(router: Router, d: AlarmRouteDeps): void {
  const teamOf = (h: string) => d.registry.teamOf(h);

  const readable = async (req: ApiRequest, id: string) => {
    const row = await d.journal.get(id);
    if (!row) throw new NotFoundError(`no alarm ${id}`);
    // A household of another team within the nearby radius was alerted: it may read and answer the alarm too.
    const user = req.user!;
    const nearby = user.role === 'household' && user.household !== null && ((await d.alarms.viewOf(id)) ?? row.view).nearbyHouseholds?.includes(user.household);
    if (!canSeeTeam(user, row.view.team, teamOf) && !nearby) throw new ForbiddenError(`not allowed to see alarm ${id}`);
    return row;
  };

  router.get(
    '/api/alarms',
    async (req) => {
      const rows = await d.journal.list(alarmQueryFor(req.user!, req.query, d.registry));
      return { body: { alarms: rows.map((r) => ({ ...r.view, closedAt: r.closedAt, falseAlarm: r.falseAlarm })) } };
    },
    { schema: { summary: 'Alarms, newest first, within what the user may see', querystring: AlarmsQuery, response: { 200: AlarmsAnswer } } },
  );

  router.get(
    '/api/alarms/:id',
    async (req) => {
      const id = req.params.id!;
      const row = await readable(req, id);
      const extra: Record<string, unknown> = {};
      for (const [field, provide] of d.details ?? []) extra[field] = provide(id);
      // The dispatch card (who needs help to get out, gas cylinders…): the station, the team leader and the household itself.
      const user = req.user!;
      const origin = row.view.origin.household;
      const mayReadCard = user.role !== 'household' || user.household === origin;
      const card = mayReadCard ? d.registry.getHousehold(origin)?.card : undefined;
      return {
        body: { ...row.view, closedAt: row.closedAt, falseAlarm: row.falseAlarm, ...(card ? { card } : {}), ...extra, timeline: await d.journal.timeline(id) },
      };
    },
    { schema: { summary: 'One alarm with its timeline (and its dispatch card, SMS and calls)', params: AlarmParams, response: { 200: AlarmDetail } } },
  );

  router.post(
    '/api/alarms/:id/resolve',
    async (req) => {
      await readable(req, req.params.id!);
      const view = await d.alarms.resolve(req.params.id!, { by: actorOf(req.user!), via: 'http' });
      await d.alarms.durable(); // 200 only once the resolution would survive a power cut
      return { body: view };
    },
    { roles: ['station'], schema: { summary: 'The station closes the alarm (the fire is out)', params: AlarmParams, response: { 200: AlarmView } } },
  );

  router.post(
    '/api/alarms/:id/respond',
    async (req) => {
      const body = req.body as { household?: unknown; response?: unknown } | undefined;
      const user = req.user!;
      const household = body?.household ?? (user.role === 'household' ? user.household : undefined);
      if (typeof household !== 'string' || !isValidId(household)) throw new ValidationError(ERROR_CODES.BAD_FIELD, 'household must be a household id');
      if (typeof body?.response !== 'string' || !(RESPONSES as readonly string[]).includes(body.response)) {
        throw new ValidationError(ERROR_CODES.BAD_FIELD, `response must be one of ${RESPONSES.join(', ')}`);
      }
      if (!canSeeHousehold(user, household, teamOf)) throw new ForbiddenError(`not allowed to answer for household ${household}`);
      await readable(req, req.params.id!);
      const view = await d.alarms.respond(household, req.params.id!, body.response as ResponseKind, { by: actorOf(user), via: 'http' });
      await d.alarms.durable();
      return { body: view };
    },
    {
      schema: {
        summary: "A household's answer: coming, unable, need-help or false-alarm",
        params: AlarmParams,
        body: RespondBody,
        response: { 200: AlarmView },
      },
    },
  );
}
