/**
 * Drills through the hub's HTTP API: start one (station, or that team's leader), list them, and
 * read a drill's report (each household's first response and after how many seconds).
 */
import type { ResponseKind } from '../../hub/protocol/schema.ts';
import { enc, listOf, num, query, request, str, time } from './api-core.ts';
import { toAlarmView, type AlarmDetail } from './api.ts';

/** A drill as listed: its alarm view and when it ended (null while it runs). */
export type DrillSummary = Omit<AlarmDetail, 'timeline' | 'card' | 'contacts' | 'falseAlarm'>;

/** One household of the drilled team and its first response (null: it did not answer). */
export interface DrillHousehold {
  household: string;
  name: string;
  response: ResponseKind | null;
  at: number | null;
  /** Seconds from the drill's start to the first response. */
  afterS: number | null;
}
export interface DrillReport {
  drill: DrillSummary;
  households: DrillHousehold[];
}

function toSummary(raw: Record<string, unknown>): DrillSummary {
  return { ...toAlarmView(raw), closedAt: time(raw.closedAt ?? null) };
}

/** Starts a drill of `team` at `household` (default: the leader's own household, or the team's first). */
export async function startDrill(team: string, household?: string): Promise<DrillSummary> {
  const raw = await request<Record<string, unknown>>('POST', '/api/drills', household ? { team, household } : { team });
  return toSummary(raw);
}

/** Drills the user may see, newest first (a team leader: its team's). */
export async function drills(team?: string | null): Promise<DrillSummary[]> {
  const raw = await request<unknown>('GET', `/api/drills${query({ team })}`);
  return listOf<Record<string, unknown>>(raw, 'drills').map(toSummary);
}

/** Ends a running drill now (the station, or the drill's team leader). */
export async function endDrill(id: string): Promise<void> {
  await request<unknown>('POST', `/api/drills/${enc(id)}/end`, {});
}

export async function drillReport(id: string): Promise<DrillReport> {
  const raw = await request<Record<string, unknown>>('GET', `/api/drills/${enc(id)}`);
  // `households` here is the report, not the view's alarming households.
  const { households, ...view } = raw ?? {};
  return {
    drill: toSummary(view),
    households: listOf<Record<string, unknown>>(households ?? [], 'households').map((h) => ({
      household: String(h.household ?? ''),
      name: String(h.name ?? ''),
      response: (str(h.response) as ResponseKind | null) ?? null,
      at: time(h.at ?? null),
      afterS: num(h.afterS),
    })),
  };
}
