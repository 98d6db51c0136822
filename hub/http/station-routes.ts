/**
 * The fire station's side of an alarm and the teams' drills:
 *   POST /api/alarms/:id/acknowledge            the station has seen it
 *   POST /api/alarms/:id/dispatch {etaMin?,note?}  a truck is on its way
 *   POST /api/drills {team, household?}          start a drill (station, or that team's leader)
 *   GET  /api/drills[?team=T]                    drills, newest first (scoped)
 *   GET  /api/drills/:id                         a drill with each household's first response and its time
 *   POST /api/drills/:id/end                     end it now (station, or that team's leader)
 */
import type { Router, UserPrincipal } from './router.ts';
import type { AlarmActions, AlarmJournalReads, DrillResponses } from './alarm-ports.ts';
import type { RegistryStore } from '../store/registry-types.ts';
import { canSeeTeam } from '../core/acl.ts';
import type { Actor } from '../protocol/schema.ts';
import { ERROR_CODES, ForbiddenError, NotFoundError, ValidationError } from '../protocol/errors.ts';
import { isValidId } from '../protocol/topics.ts';
import { AlarmParams, AlarmView, DispatchBody, DrillBody, DrillReport, DrillsAnswer, DrillsQuery } from '../protocol/http/alarms.ts';

export interface StationRouteDeps {
  alarms: AlarmActions;
  journal: AlarmJournalReads;
  registry: RegistryStore;
  /** Each household's first response of a drill (open or closed), from the engine or the journal. */
  drillResponses: DrillResponses;
}

const MAX_NOTE = 200;

function actorOf(user: UserPrincipal): Actor {
  return { kind: 'user', id: user.username, role: user.role };
}

function dispatchBody(body: unknown): { etaMin?: number; note?: string } {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new ValidationError(ERROR_CODES.BAD_PAYLOAD, 'the body must be a JSON object');
  const o = body as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'etaMin' && k !== 'note') throw new ValidationError(ERROR_CODES.UNKNOWN_FIELD, `unknown field "${k.slice(0, 32)}"`);
  const out: { etaMin?: number; note?: string } = {};
  if (o.etaMin !== undefined) {
    if (typeof o.etaMin !== 'number' || !Number.isFinite(o.etaMin) || o.etaMin < 0 || o.etaMin > 240)
      throw new ValidationError(ERROR_CODES.BAD_FIELD, 'etaMin must be a number of minutes from 0 to 240');
    out.etaMin = Math.round(o.etaMin);
  }
  if (o.note !== undefined) {
    if (typeof o.note !== 'string' || o.note.length > MAX_NOTE || /[\u0000-\u001f]/.test(o.note))
      throw new ValidationError(ERROR_CODES.BAD_FIELD, `note must be a single-line text of at most ${MAX_NOTE} characters`);
    if (o.note.trim()) out.note = o.note.trim();
  }
  return out;
}

export function registerStationRoutes(router: Router, d: StationRouteDeps): void {
  const teamOf = (h: string) => d.registry.teamOf(h);
  for (const state of ['acknowledged', 'dispatched'] as const) {
    router.post(
      `/api/alarms/:id/${state === 'acknowledged' ? 'acknowledge' : 'dispatch'}`,
      async (req) => {
        const info = state === 'dispatched' ? dispatchBody(req.body) : {};
        if (!(await d.journal.get(req.params.id!))) throw new NotFoundError(`no alarm ${req.params.id}`);
        const view = await d.alarms.dispatch(req.params.id!, state, info, { by: actorOf(req.user!), via: 'http' });
        await d.alarms.durable();
        return { body: view };
      },
      state === 'acknowledged'
        ? { roles: ['station'], schema: { summary: 'The station has seen the alarm', params: AlarmParams, response: { 200: AlarmView } } }
        : { roles: ['station'], schema: { summary: 'A truck is on its way', params: AlarmParams, body: DispatchBody, response: { 200: AlarmView } } },
    );
  }

  router.post(
    '/api/drills',
    async (req) => {
      const body = req.body as { team?: unknown; household?: unknown } | undefined;
      const user = req.user!;
      if (typeof body?.team !== 'string' || !isValidId(body.team)) throw new ValidationError(ERROR_CODES.BAD_FIELD, 'team must be a team id');
      if (user.role === 'team-leader' && user.team !== body.team) throw new ForbiddenError(`a team leader may start drills of team ${user.team} only`);
      const members = d.registry.householdsOfTeam(body.team);
      if (members.length === 0) throw new NotFoundError(`no team ${body.team}`);
      let household: string;
      if (body.household !== undefined) {
        if (typeof body.household !== 'string' || !members.some((h) => h.id === body.household))
          throw new ValidationError(ERROR_CODES.BAD_FIELD, `household must be a household of team ${body.team}`);
        household = body.household;
      } else {
        // The leader's own household when it is of the team, otherwise the team's first household.
        household = user.household && members.some((h) => h.id === user.household) ? user.household : members[0]!.id;
      }
      const view = await d.alarms.startDrill(household, { by: actorOf(user), via: 'http' });
      await d.alarms.durable();
      return { status: 201, body: view };
    },
    { roles: ['station', 'team-leader'], schema: { summary: 'Start a drill of a team', body: DrillBody, response: { 201: AlarmView } } },
  );

  const drillReport = async (id: string, user: UserPrincipal) => {
    const row = await d.journal.get(id);
    if (!row || row.view.kind !== 'drill') throw new NotFoundError(`no drill ${id}`);
    if (!canSeeTeam(user, row.view.team, teamOf)) throw new ForbiddenError(`not allowed to see drill ${id}`);
    const view = (await d.alarms.viewOf(id)) ?? row.view;
    const first = (await d.drillResponses(id)) ?? [];
    const households = d.registry.householdsOfTeam(view.team).map((h) => {
      const r = first.find((x) => x.household === h.id);
      return { household: h.id, name: h.name, response: r?.response ?? null, at: r?.at ?? null, afterS: r ? Math.round((r.at - view.raisedAt) / 1000) : null };
    });
    return { ...view, closedAt: row.closedAt, households };
  };

  router.get('/api/drills/:id', async (req) => ({ body: await drillReport(req.params.id!, req.user!) }), {
    schema: { summary: "A drill's report: each household's first response", params: AlarmParams, response: { 200: DrillReport } },
  });

  // The station, or the drill's team leader, ends a drill before its duration is over.
  router.post(
    '/api/drills/:id/end',
    async (req) => {
      const user = req.user!;
      const row = await d.journal.get(req.params.id!);
      if (!row || row.view.kind !== 'drill') throw new NotFoundError(`no drill ${req.params.id}`);
      if (user.role === 'team-leader' && user.team !== row.view.team) throw new ForbiddenError(`a team leader may end drills of team ${user.team} only`);
      await d.alarms.resolve(req.params.id!, { by: actorOf(user), via: 'http' });
      await d.alarms.durable();
      return { body: await drillReport(req.params.id!, user) };
    },
    { roles: ['station', 'team-leader'], schema: { summary: 'End a running drill now', params: AlarmParams, response: { 200: DrillReport } } },
  );

  router.get(
    '/api/drills',
    async (req) => {
      const user = req.user!;
      const team = req.query.get('team') ?? undefined;
      if (team !== undefined && !isValidId(team)) throw new ValidationError(ERROR_CODES.BAD_REQUEST, 'team must be a team id');
      if (team !== undefined && !canSeeTeam(user, team, teamOf)) throw new ForbiddenError(`not allowed to see team ${team}`);
      const own = user.role === 'station' ? undefined : user.role === 'team-leader' ? user.team : user.household ? teamOf(user.household) : undefined;
      if (user.role !== 'station' && !own) return { body: { drills: [] } };
      const rows = await d.journal.list({ kind: 'drill', team: team ?? own ?? undefined, limit: 200 });
      return { body: { drills: rows.map((r) => ({ ...r.view, closedAt: r.closedAt })) } };
    },
    { schema: { summary: 'Drills the user may see, newest first', querystring: DrillsQuery, response: { 200: DrillsAnswer } } },
  );
}
