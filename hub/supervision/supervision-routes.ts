/**
 * HTTP routes of supervision, scoped with hub/core/acl.ts:
 *   GET /api/notices?household=&team=&severity=&notice=&since=&until=&before=&limit=
 *   GET /api/jobs                                   (station)
 *   GET /api/reports/daily?date=YYYY-MM-DD          (station: all teams; team leader: own team)
 *   GET /api/households/:id/self-test               (last self-test of each detector)
 *   GET /api/households/:id/health                  (per device: online/offline, battery, last test, end of life; equipment)
 *   GET /api/supervision/offline?team=              (devices offline now)
 *   GET /api/equipment?team=&household=             (equipment and readiness)
 *   GET /api/devices/health?team=&household=&state= (every device in scope: presence, supervision,
 *                                                    battery, last self-test, fault; bulk)
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Router, ApiRequest, ApiResponse, UserPrincipal } from '../http/router.ts';
import type { RegistryStore } from '../store/registry-types.ts';
import type { Clock } from '../core/clock.ts';
import { canSeeHousehold, canSeeTeam } from '../core/acl.ts';
import { ERROR_CODES, ForbiddenError, NotFoundError, ValidationError } from '../protocol/errors.ts';
import { NOTICE_SEVERITIES, type NoticeSeverity } from '../protocol/schema.ts';
import { isValidId } from '../protocol/topics.ts';
import type { NoticeQuery, NoticeStore } from './notice-store.ts';
import type { JobRunner } from './job-runner.ts';
import type { DailyReport } from './daily-report.ts';
import { reportForTeams } from './daily-report.ts';
import type { DeviceHealthStore } from './device-health-store.ts';
import type { EquipmentStore } from './equipment-store.ts';
import type { DeviceSupervisionView } from './supervision-tracker.ts';
import { EQUIPMENT_HORIZON_DAYS, type BatteryReading } from './reminders.ts';
import { SELF_TEST_KINDS } from './self-test-round.ts';
import { daysBetween, isIsoDate, localDate } from '../protocol/local-time.ts';
import type { DeviceFault, LastSelfTest } from './device-health-store.ts';
import type { DeviceLiveView, SupervisionState } from './supervision-tracker.ts';
import type { Device } from '../store/registry-types.ts';
import { deviceHealthList, SUPERVISION_STATES, type DeviceHealthSources } from './device-health-list.ts';
import { NoticesAnswer, NoticesQuery } from '../protocol/http/notices.ts';
import { DevicesHealthAnswer, DevicesHealthQuery, HouseholdHealthAnswer } from '../protocol/http/device-health.ts';
import { HouseholdParams } from '../protocol/http/households.ts';
import {
  DailyReportAnswer,
  DailyReportQuery,
  EquipmentAnswer,
  EquipmentQuery,
  JobsAnswer,
  OfflineAnswer,
  OfflineQuery,
  SelfTestAnswer,
} from '../protocol/http/supervision.ts';

const gzipAsync = promisify(gzip);
/** Bulk answers above this size are gzipped (off the event loop) for clients that accept it. */
const GZIP_MIN_BYTES = 16 * 1024;

export interface SupervisionRouteDeps {
  registry: RegistryStore;
  clock: Clock;
  timezone: string;
  notices: NoticeStore;
  jobs: JobRunner;
  health: DeviceHealthStore;
  equipment: EquipmentStore;
  report(date: string, now: number): DailyReport | Promise<DailyReport>;
  supervision(device: string): DeviceSupervisionView | undefined;
  offlineDevices(): DeviceSupervisionView[];
  battery(device: string): BatteryReading | undefined;
  live(device: string, now: number): DeviceLiveView | undefined;
  fault(device: string): DeviceFault | undefined;
}

const bad = (message: string) => new ValidationError(ERROR_CODES.BAD_REQUEST, message);

/** A time filter: integer milliseconds since the epoch, or an ISO 8601 date/time. */
function parseInstant(name: string, v: string | null): number | undefined {
  if (v === null || v === '') return undefined;
  if (/^\d{1,15}$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw bad(`${name} must be milliseconds since the epoch or an ISO 8601 date`);
  return t;
}

function parseId(name: string, v: string | null): string | undefined {
  if (v === null || v === '') return undefined;
  if (!isValidId(v)) throw bad(`${name} is not a valid id`);
  return v;
}

function user(req: ApiRequest): UserPrincipal {
  if (!req.user) throw new ForbiddenError();
  return req.user;
}

export function registerSupervisionRoutes(http: Router, d: SupervisionRouteDeps): void {
  const teamOf = (h: string) => d.registry.teamOf(h);

  /** What the one device-health item is made of (device-health-list.ts): all in memory. */
  const healthSources = (now: number, lastTests: ReadonlyMap<string, LastSelfTest>): DeviceHealthSources => ({
    live: (id) => d.live(id, now),
    battery: d.battery,
    fault: d.fault,
    lastTests,
    supervision: (id) => {
      const s = d.supervision(id);
      return s ? { since: s.since, reason: s.reason } : undefined;
    },
  });

  const requireHousehold = (req: ApiRequest, id: string) => {
    if (!isValidId(id) || !d.registry.getHousehold(id)) throw new NotFoundError(`no household ${id.slice(0, 64)}`);
    if (!canSeeHousehold(user(req), id, teamOf)) throw new ForbiddenError(`you may not see household ${id}`);
  };

  http.get(
    '/api/notices',
    (req) => {
      const u = user(req);
      const q: NoticeQuery = {};
      q.household = parseId('household', req.query.get('household'));
      q.team = parseId('team', req.query.get('team'));
      const severity = req.query.get('severity');
      if (severity) {
        if (!(NOTICE_SEVERITIES as readonly string[]).includes(severity)) throw bad(`severity must be one of ${NOTICE_SEVERITIES.join(', ')}`);
        q.severity = severity as NoticeSeverity;
      }
      const notice = req.query.get('notice');
      if (notice) {
        if (!/^[a-z][a-z-]{0,40}$/.test(notice)) throw bad('notice must be a notice kind such as offline or battery-low');
        q.notice = notice;
      }
      q.since = parseInstant('since', req.query.get('since'));
      q.until = parseInstant('until', req.query.get('until'));
      const before = req.query.get('before');
      if (before) {
        if (!/^\d{1,15}$/.test(before)) throw bad('before must be a notice id');
        q.before = Number(before);
      }
      const limit = req.query.get('limit');
      if (limit) {
        if (!/^\d{1,4}$/.test(limit) || Number(limit) < 1 || Number(limit) > 1000) throw bad('limit must be between 1 and 1000');
        q.limit = Number(limit);
      }
      if (q.household !== undefined && !canSeeHousehold(u, q.household, teamOf)) throw new ForbiddenError(`you may not see household ${q.household}`);
      if (q.team !== undefined && !canSeeTeam(u, q.team, teamOf)) throw new ForbiddenError(`you may not see team ${q.team}`);
      if (u.role === 'team-leader' && q.household === undefined) {
        if (!u.team) throw new ForbiddenError('no team');
        q.team = u.team;
      } else if (u.role === 'household' && q.household === undefined) {
        if (!u.household) throw new ForbiddenError('no household');
        q.household = u.household;
      }
      return { body: { notices: d.notices.list(q) } };
    },
    {
      schema: {
        summary: 'Notices (supervision, self-tests, reminders, hub trouble), newest first',
        querystring: NoticesQuery,
        response: { 200: NoticesAnswer },
      },
    },
  );

  http.get('/api/jobs', () => ({ body: { timezone: d.timezone, now: d.clock.now(), jobs: d.jobs.list() } }), {
    roles: ['station'],
    schema: { summary: 'Scheduled jobs and their recent runs', response: { 200: JobsAnswer } },
  });

  http.get(
    '/api/reports/daily',
    async (req) => {
      const u = user(req);
      const now = d.clock.now();
      const date = req.query.get('date') || localDate(now, d.timezone);
      if (!isIsoDate(date)) throw bad('date must be a calendar date YYYY-MM-DD');
      const team = parseId('team', req.query.get('team'));
      if (team !== undefined && !canSeeTeam(u, team, teamOf)) throw new ForbiddenError(`you may not see team ${team}`);
      let report = await d.report(date, now);
      if (u.role !== 'station') report = reportForTeams(report, (t) => t === u.team);
      if (team !== undefined) report = reportForTeams(report, (t) => t === team);
      return { body: report };
    },
    {
      roles: ['station', 'team-leader'],
      schema: { summary: 'The daily report of one local day', querystring: DailyReportQuery, response: { 200: DailyReportAnswer } },
    },
  );

  http.get(
    '/api/households/:id/self-test',
    (req) => {
      const id = req.params.id!;
      requireHousehold(req, id);
      const last = new Map(d.health.lastSelfTestsOfHousehold(id).map((t) => [t.device, t]));
      const devices = d.registry
        .listDevices({ household: id })
        .filter((dev) => SELF_TEST_KINDS.includes(dev.kind))
        .map((dev) => ({ device: dev.id, kind: dev.kind, lastTest: last.get(dev.id) ?? null }));
      return { body: { household: id, devices } };
    },
    { schema: { summary: 'The last self-test of each detector of a household', params: HouseholdParams, response: { 200: SelfTestAnswer } } },
  );

  http.get(
    '/api/households/:id/health',
    (req) => {
      const id = req.params.id!;
      requireHousehold(req, id);
      const now = d.clock.now();
      const today = localDate(now, d.timezone);
      const lastTests = new Map(d.health.lastSelfTestsOfHousehold(id).map((t) => [t.device, t]));
      const devices = deviceHealthList(d.registry.listDevices({ household: id }), healthSources(now, lastTests));
      const equipment = d.equipment.list({ household: id }).map((e) => ({
        item: e.item,
        serial: e.serial,
        expires: e.expires,
        daysLeft: e.expires === null ? null : daysBetween(today, e.expires),
      }));
      return { body: { household: id, devices, equipment, horizonDays: EQUIPMENT_HORIZON_DAYS } };
    },
    { schema: { summary: "A household's devices (the device-health item) and equipment", params: HouseholdParams, response: { 200: HouseholdHealthAnswer } } },
  );

  http.get(
    '/api/supervision/offline',
    (req) => {
      const u = user(req);
      const team = parseId('team', req.query.get('team'));
      if (team !== undefined && !canSeeTeam(u, team, teamOf)) throw new ForbiddenError(`you may not see team ${team}`);
      const devices = d
        .offlineDevices()
        .filter((v) => (u.role === 'station' || v.team === u.team) && (team === undefined || v.team === team))
        .sort((a, b) => a.team.localeCompare(b.team) || a.device.localeCompare(b.device));
      return { body: { devices } };
    },
    { roles: ['station', 'team-leader'], schema: { summary: 'Devices offline now', querystring: OfflineQuery, response: { 200: OfflineAnswer } } },
  );

  /** Devices a user may list, narrowed by `team` and `household` (already checked against scope). */
  const devicesInScope = (u: UserPrincipal, team: string | undefined, household: string | undefined): Device[] => {
    let devices: Device[];
    if (u.role === 'household') {
      devices = u.household ? d.registry.listDevices({ household: u.household }) : [];
    } else if (u.role === 'team-leader') {
      devices = u.team ? d.registry.listDevices(household !== undefined ? { household } : { team: u.team }) : [];
      devices = devices.filter((x) => x.team === u.team);
    } else if (household !== undefined) {
      devices = d.registry.listDevices({ household });
    } else {
      devices = d.registry.listDevices(team !== undefined ? { team } : {});
    }
    if (household !== undefined) devices = devices.filter((x) => x.household === household);
    if (team !== undefined) devices = devices.filter((x) => x.team === team);
    return devices;
  };

  http.get(
    '/api/devices/health',
    async (req): Promise<ApiResponse> => {
      const u = user(req);
      const team = parseId('team', req.query.get('team'));
      const household = parseId('household', req.query.get('household'));
      let states: Set<SupervisionState> | undefined;
      const state = req.query.get('state');
      if (state !== null && state !== '') {
        const list = state.split(',');
        for (const s of list) {
          if (!(SUPERVISION_STATES as readonly string[]).includes(s))
            throw bad(`state must be one or more (comma-separated) of ${SUPERVISION_STATES.join(', ')}`);
        }
        states = new Set(list as SupervisionState[]);
      }
      if (household !== undefined && !canSeeHousehold(u, household, teamOf)) throw new ForbiddenError(`you may not see household ${household}`);
      if (team !== undefined && !canSeeTeam(u, team, teamOf)) throw new ForbiddenError(`you may not see team ${team}`);
      const now = d.clock.now();
      const devices = devicesInScope(u, team, household);
      // No query per device: the registry, supervision, batteries, faults and latest self-tests are in memory.
      const lastTests = d.health.latestSelfTests();
      const list = deviceHealthList(devices, healthSources(now, lastTests), states);
      const json = JSON.stringify({ devices: list });
      const accepts = /\bgzip\b/i.test(String(req.headers['accept-encoding'] ?? ''));
      if (!accepts || json.length < GZIP_MIN_BYTES) return { body: json, contentType: 'application/json; charset=utf-8', headers: { Vary: 'Accept-Encoding' } };
      const body = await gzipAsync(json, { level: 4 });
      return { body, contentType: 'application/json; charset=utf-8', headers: { 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' } };
    },
    {
      schema: {
        summary: 'Every device in scope: presence, supervision, battery, last self-test, fault (bulk; gzip when large)',
        querystring: DevicesHealthQuery,
        response: { 200: DevicesHealthAnswer },
      },
    },
  );

  http.get(
    '/api/equipment',
    (req) => {
      const u = user(req);
      const team = parseId('team', req.query.get('team'));
      const household = parseId('household', req.query.get('household'));
      if (household !== undefined && !canSeeHousehold(u, household, teamOf)) throw new ForbiddenError(`you may not see household ${household}`);
      if (team !== undefined && !canSeeTeam(u, team, teamOf)) throw new ForbiddenError(`you may not see team ${team}`);
      const filter: { team?: string; household?: string } = {};
      if (household !== undefined) filter.household = household;
      if (team !== undefined) filter.team = team;
      if (household === undefined && u.role === 'team-leader') filter.team = u.team ?? '\u0000';
      if (household === undefined && u.role === 'household') filter.household = u.household ?? '\u0000';
      const today = localDate(d.clock.now(), d.timezone);
      const items = d.equipment.list(filter).map((e) => ({ ...e, daysLeft: e.expires === null ? null : daysBetween(today, e.expires) }));
      return { body: { today, horizonDays: EQUIPMENT_HORIZON_DAYS, items } };
    },
    { schema: { summary: 'Equipment (extinguishers, rescue tools) and when it expires', querystring: EquipmentQuery, response: { 200: EquipmentAnswer } } },
  );
}
