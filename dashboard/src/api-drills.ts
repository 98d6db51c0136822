/**
 * Drills through the hub's HTTP API: start one (station, or that team's leader), list them, and
 * read a drill's report (each household's first response and after how many seconds). Types: the
 * hub's route schemas (hub/protocol/http/alarms.ts).
 */
import type { AlarmView } from '../../hub/protocol/schema.ts';
import type { DrillHousehold, DrillReport as DrillReportAnswer, DrillsAnswer } from '../../hub/protocol/http/alarms.ts';
import { enc, query, request } from './api-core.ts';

export type { DrillHousehold };

/** A drill as listed: its alarm view and when it ended (null while it runs). */
export type DrillSummary = AlarmView & { closedAt: number | null };
export interface DrillReport {
  drill: DrillSummary;
  households: DrillHousehold[];
}

/** Starts a drill of `team` at `household` (default: the leader's own household, or the team's first). */
export async function startDrill(team: string, household?: string): Promise<DrillSummary> {
  const view = await request<AlarmView>('POST', '/api/drills', household ? { team, household } : { team });
  return { ...view, closedAt: null };
}

/** Drills the user may see, newest first (a team leader: its team's). */
export async function drills(team?: string | null): Promise<DrillSummary[]> {
  const a = await request<DrillsAnswer>('GET', `/api/drills${query({ team })}`);
  return a.drills.map((d) => d as DrillSummary);
}

/** Ends a running drill now (the station, or the drill's team leader). */
export async function endDrill(id: string): Promise<void> {
  await request<unknown>('POST', `/api/drills/${enc(id)}/end`, {});
}

export async function drillReport(id: string): Promise<DrillReport> {
  // `households` here is the report of every household of the team, not the view's alarming households.
  const { households, ...view } = await request<DrillReportAnswer>('GET', `/api/drills/${enc(id)}`);
  return { drill: view as DrillSummary, households };
}
